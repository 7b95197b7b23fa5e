/** `proofmesh bench load`: how each job ended, and the run's figures (throughput, latency percentiles, failures) */
import { isTerminal, type JobState } from '../../src/jobs-model/states.js'
import type { JobRecord } from '../../src/jobs-model/types.js'
import { formatBytes, formatDurationShort } from '../format/text.js'

/** Nearest-rank percentile of ascending values; undefined for none */
export function percentile(sorted: readonly number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]
}

/** How one job of the run ended */
export interface JobOutcome {
  /** 1-based, in submission order */
  n: number
  /** undefined when the submission itself failed */
  id?: string
  state: JobState | 'unsubmitted'
  /** A succeeded job whose record has a proof and the digest its plan expected */
  ok: boolean
  /** The record's finishedAt − createdAt, else what the client measured from submit to end */
  latencyMs: number
  queueMs?: number
  bytesOut: number
  error?: { code: string; message: string }
}

export interface LoadSummary {
  jobs: number
  submitted: number
  concurrency: number
  sizeBytes: number
  computeCapacity: number
  program: string
  completed: number
  failed: number
  /** Stopped by a signal before every job ran */
  interrupted: boolean
  wallMs: number
  /** Completed jobs per minute of wall time (first submission to last end) */
  jobsPerMinute: number
  /** Latency of the completed jobs: the daemon's record, finishedAt − createdAt (queueing included) */
  latencySource: 'record'
  p50Ms: number | null
  p95Ms: number | null
  maxMs: number | null
  /** Mean of phases.queue over the jobs that left the queue */
  meanQueueMs: number | null
  /** Bytes the submitter sent to other peers (input slices and hints), over every job */
  bytesUploaded: number
  failures: Array<{ n: number; id: string | null; code: string; message: string }>
}

export function summarizeLoad(
  outcomes: readonly JobOutcome[],
  run: Pick<
    LoadSummary,
    'jobs' | 'concurrency' | 'sizeBytes' | 'computeCapacity' | 'program' | 'interrupted'
  > & {
    wallMs: number
  }
): LoadSummary {
  const done = outcomes.filter((outcome) => outcome.ok)
  const latencies = done.map((outcome) => outcome.latencyMs).sort((a, b) => a - b)
  const queues = outcomes.flatMap((outcome) => (outcome.queueMs === undefined ? [] : [outcome.queueMs]))
  const minutes = run.wallMs / 60_000
  return {
    jobs: run.jobs,
    submitted: outcomes.filter((outcome) => outcome.id !== undefined).length,
    concurrency: run.concurrency,
    sizeBytes: run.sizeBytes,
    computeCapacity: run.computeCapacity,
    program: run.program,
    completed: done.length,
    failed: outcomes.length - done.length,
    interrupted: run.interrupted,
    wallMs: run.wallMs,
    jobsPerMinute: minutes > 0 ? Math.round((done.length / minutes) * 100) / 100 : 0,
    latencySource: 'record',
    p50Ms: percentile(latencies, 50) ?? null,
    p95Ms: percentile(latencies, 95) ?? null,
    maxMs: latencies.at(-1) ?? null,
    meanQueueMs:
      queues.length === 0 ? null : Math.round(queues.reduce((sum, ms) => sum + ms, 0) / queues.length),
    bytesUploaded: outcomes.reduce((sum, outcome) => sum + outcome.bytesOut, 0),
    failures: outcomes
      .filter((outcome) => !outcome.ok)
      .sort((a, b) => a.n - b.n)
      .map((outcome) => ({
        n: outcome.n,
        id: outcome.id ?? null,
        code: outcome.error?.code ?? outcome.state.toUpperCase(),
        message: outcome.error?.message ?? `the job ended ${outcome.state}`
      }))
  }
}

function ms(value: number | null): string {
  return value === null ? '-' : formatDurationShort(value)
}

/** The summary for a person */
export function formatLoadSummary(summary: LoadSummary): string {
  const notRun = summary.jobs - summary.completed - summary.failed
  const lines = [
    `load       ${summary.jobs} jobs of ${formatBytes(summary.sizeBytes)}, ${summary.concurrency} in flight, ${summary.computeCapacity} units each, program ${summary.program}${summary.interrupted ? ' (interrupted)' : ''}`,
    `completed  ${summary.completed}`,
    `failed     ${summary.failed}${notRun > 0 ? ` (${notRun} not run)` : ''}`,
    `wall       ${formatDurationShort(summary.wallMs)}`,
    `throughput ${summary.jobsPerMinute} jobs/min`,
    `latency    p50 ${ms(summary.p50Ms)}, p95 ${ms(summary.p95Ms)}, max ${ms(summary.maxMs)} (job records: created \u2192 finished, queueing included)`,
    `queue wait mean ${ms(summary.meanQueueMs)}`,
    `uploaded   ${formatBytes(summary.bytesUploaded)} by the submitter to other peers (${summary.bytesUploaded} bytes)`
  ]
  for (const failure of summary.failures) {
    lines.push(`  job ${failure.n} ${failure.id ?? '(not submitted)'}: ${failure.code}: ${failure.message}`)
  }
  return lines.join('\n')
}

/** A record's outcome: ok only when it succeeded with a proof and the digest the plan expected */
export function outcomeOf(n: number, record: JobRecord, submittedAt: number, now = Date.now()): JobOutcome {
  const queue = record.phases.queue
  const outcome: JobOutcome = {
    n,
    id: record.id,
    state: record.state,
    ok: false,
    latencyMs: record.finishedAt === undefined ? now - submittedAt : record.finishedAt - record.createdAt,
    ...(queue?.endedAt === undefined ? {} : { queueMs: queue.endedAt - queue.startedAt }),
    bytesOut: record.bytesOut
  }
  if (record.state !== 'succeeded') {
    outcome.error = record.error ?? {
      code: isTerminal(record.state) ? record.state.toUpperCase() : 'UNFINISHED',
      message: `the job ended ${record.state}`
    }
  } else if (record.proof === undefined || record.digest === undefined) {
    outcome.error = { code: 'NO_PROOF', message: 'the job succeeded but its record has no proof or digest' }
  } else if (record.expectedDigest !== undefined && record.expectedDigest !== record.digest) {
    outcome.error = {
      code: 'DIGEST_MISMATCH',
      message: `the proof shows ${record.digest}, the plan expected ${record.expectedDigest}`
    }
  } else {
    outcome.ok = true
  }
  return outcome
}
