import { randomBytes } from 'node:crypto'
import { mkdtemp, open, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type { CommandModule } from 'yargs'
import type { CapacityJson } from '../../src/capacity/advert-json.js'
import { parseDuration } from '../../src/config/index.js'
import type { PeerRow } from '../../src/daemon/daemon.js'
import type { StatusJson } from '../../src/daemon/status-json.js'
import { type JobRequestBody, jobRequestLimits, parseJobRequest } from '../../src/job/request.js'
import { isTerminal, type JobRecord, type JobState } from '../../src/job/types.js'
import { type ApiClient, connectDaemon } from '../api-client.js'
import { CliError } from '../errors.js'
import { formatBytes, formatDurationShort } from '../format.js'
import { baseOptions } from '../options.js'

export interface BenchLoadArgs {
  config?: string
  'data-dir'?: string
  jobs?: number
  concurrency?: number
  size?: string
  'compute-capacity'?: number
  'minimal-compute-capacity'?: number
  program?: string
  timeout?: string
  json?: boolean
  'keep-inputs'?: boolean
}

export const benchLoadDefaults = {
  jobs: 10,
  concurrency: 2,
  size: '256k',
  timeout: '10m',
  maxJobs: 1_000_000,
  maxConcurrency: 1000,
  maxSize: 1024 ** 3,
  /** After a job's own timeout the daemon fails it; the client waits this much longer for that record */
  graceMs: 30_000,
  /** How long a record that trails its event stream, or a cancelled job, is polled for its end */
  settleMs: 15_000,
  pollMs: 500
}

const USAGE = 2
const MIB = 1024 * 1024

function usage(message: string): CliError {
  return new CliError(message, USAGE)
}

function integerFlag(flag: string, value: number | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined
  if (!Number.isInteger(value) || value < min || value > max) {
    throw usage(
      `${flag} takes an integer from ${min} to ${max}, got ${Number.isNaN(value) ? 'something else' : value}`
    )
  }
  return value
}

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, m: MIB, g: 1024 * MIB }

/** "65536", "64k", "1m", "2MiB", "1.5MB": k, m and g are powers of 1024 whatever the suffix's spelling */
export function parseSize(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(?:([kmg])(?:i?b)?|b)?\s*$/i.exec(text)
  if (match === null) throw new Error(`expected bytes like 65536, 64k, 1m or 2MiB, got '${text}'`)
  return Math.floor(Number(match[1]) * (SIZE_UNITS[(match[2] ?? '').toLowerCase()] ?? 1))
}

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

interface LoadPlan {
  jobs: number
  concurrency: number
  sizeBytes: number
  program: string
  timeoutMs: number
  computeCapacity?: number
  minimalComputeCapacity?: number
}

/** The flags, checked before anything is asked of the daemon; throws CliError (exit 2) */
export function planLoad(args: BenchLoadArgs): LoadPlan {
  const jobs = integerFlag('--jobs', args.jobs ?? benchLoadDefaults.jobs, 1, benchLoadDefaults.maxJobs) ?? 1
  const concurrency =
    integerFlag(
      '--concurrency',
      args.concurrency ?? benchLoadDefaults.concurrency,
      1,
      benchLoadDefaults.maxConcurrency
    ) ?? 1
  const sizeText = args.size ?? benchLoadDefaults.size
  let sizeBytes: number
  try {
    sizeBytes = parseSize(sizeText)
  } catch (err) {
    throw usage(`--size: ${(err as Error).message}`)
  }
  if (sizeBytes < 1 || sizeBytes > benchLoadDefaults.maxSize) {
    throw usage(`--size ${sizeText}: a job's input is 1 byte to 1 GiB`)
  }
  const program = args.program ?? jobRequestLimits.defaultProgram
  if (!jobRequestLimits.programPattern.test(program)) {
    throw usage(`--program ${program}: expected a program id like rescue-sponge (a-z, 0-9, ".", "_", "-")`)
  }
  const timeoutText = args.timeout ?? benchLoadDefaults.timeout
  let timeoutMs: number
  try {
    timeoutMs = parseDuration(timeoutText)
  } catch {
    throw usage(`--timeout ${timeoutText}: expected a duration like 90s, 10m or 1h30m`)
  }
  if (timeoutMs < jobRequestLimits.minTimeoutMs || timeoutMs > jobRequestLimits.maxTimeoutMs) {
    throw usage(`--timeout ${timeoutText}: a job needs at least 1s`)
  }
  const computeCapacity = integerFlag(
    '--compute-capacity',
    args['compute-capacity'],
    1,
    jobRequestLimits.maxComputeCapacity
  )
  const minimal = integerFlag(
    '--minimal-compute-capacity',
    args['minimal-compute-capacity'],
    1,
    jobRequestLimits.maxComputeCapacity
  )
  if (minimal !== undefined && computeCapacity !== undefined && minimal > computeCapacity) {
    throw usage(`--minimal-compute-capacity ${minimal} is more than --compute-capacity ${computeCapacity}`)
  }
  return {
    jobs,
    concurrency: Math.min(concurrency, jobs),
    sizeBytes,
    program,
    timeoutMs,
    ...(computeCapacity === undefined ? {} : { computeCapacity }),
    ...(minimal === undefined ? {} : { minimalComputeCapacity: minimal })
  }
}

function unitsFor(capacity: CapacityJson | null | undefined, program: string): number {
  return capacity?.programs.includes(program) === true ? capacity.unitsTotal : 0
}

/** The units the local daemon sees for `program`: its own plus every peer in its table */
export async function networkUnits(client: ApiClient, program: string): Promise<number> {
  const [status, peers] = await Promise.all([
    client.get<StatusJson>('/v1/status'),
    client.get<PeerRow[]>('/v1/peers')
  ])
  return peers.reduce(
    (sum, peer) => sum + unitsFor(peer.capacity, program),
    unitsFor(status.capacity, program)
  )
}

/** Random bytes, written a MiB at a time */
async function writeRandomFile(path: string, size: number): Promise<void> {
  const handle = await open(path, 'wx', 0o600)
  try {
    for (let written = 0; written < size; written += MIB) {
      await handle.write(randomBytes(Math.min(MIB, size - written)))
    }
  } finally {
    await handle.close()
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

function jobPath(id: string): string {
  return `/v1/jobs/${encodeURIComponent(id)}`
}

/**
 * Polls a job's record until it is over, `deadline` passes or `signal` fires; returns the last record read.
 * Errors reaching the daemon are retried until the deadline, then thrown.
 */
async function pollRecord(
  client: ApiClient,
  id: string,
  deadline: number,
  signal?: AbortSignal
): Promise<JobRecord> {
  for (;;) {
    try {
      const record = await client.get<JobRecord>(jobPath(id))
      if (isTerminal(record.state) || Date.now() >= deadline || signal?.aborted === true) return record
    } catch (err) {
      if (Date.now() >= deadline || signal?.aborted === true) throw err
    }
    try {
      await sleep(Math.min(benchLoadDefaults.pollMs, Math.max(1, deadline - Date.now())), undefined, {
        signal
      })
    } catch {
      // the signal fired: one more read, then out
      return client.get<JobRecord>(jobPath(id))
    }
  }
}

/**
 * Waits for a job to end: its event stream until a terminal state (or the stream's end), then its record.
 * Returns a record that is not terminal when `deadline` passes or `signal` fires first.
 */
async function waitForEnd(
  client: ApiClient,
  id: string,
  deadline: number,
  signal: AbortSignal
): Promise<JobRecord> {
  const stop = AbortSignal.any([signal, AbortSignal.timeout(Math.max(1, deadline - Date.now()))])
  try {
    for await (const event of client.events(id, { signal: stop })) {
      if (event.type === 'state' && event.state !== undefined && isTerminal(event.state)) break
    }
  } catch {
    // aborted, or the stream was lost: the record says where the job is
  }
  const settle = stop.aborted ? Date.now() : Math.min(deadline, Date.now() + benchLoadDefaults.settleMs)
  return pollRecord(client, id, Math.max(settle, Date.now()), signal)
}

/** Cancels a job that is still running and waits (bounded) for its final record */
async function cancelJob(client: ApiClient, id: string): Promise<JobRecord | undefined> {
  try {
    await client.post<JobRecord>(`${jobPath(id)}/cancel`)
  } catch {
    // already over, or the daemon is gone: the record says which
  }
  try {
    return await pollRecord(client, id, Date.now() + benchLoadDefaults.settleMs)
  } catch {
    return undefined
  }
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

export interface LoadRunOptions {
  stderr: { write(text: string): unknown }
  /** Fires to stop submitting and cancel the jobs in flight */
  signal: AbortSignal
}

/** Submits `plan.jobs` jobs keeping `plan.concurrency` in flight; resolves once each has ended */
export async function runLoad(
  client: ApiClient,
  plan: LoadPlan & { computeCapacity: number },
  dir: string,
  keepInputs: boolean,
  options: LoadRunOptions
): Promise<{ outcomes: JobOutcome[]; wallMs: number }> {
  const outcomes: JobOutcome[] = []
  const width = String(plan.jobs).length
  let next = 0
  let ended = 0
  const report = (outcome: JobOutcome): void => {
    ended++
    outcomes.push(outcome)
    const error = outcome.error === undefined ? '' : ` ${outcome.error.code}: ${outcome.error.message}`
    options.stderr.write(
      `[${String(ended).padStart(width)}/${plan.jobs}] ${outcome.id ?? '(not submitted)'} ${outcome.state} ${outcome.latencyMs} ms${error}\n`
    )
  }
  const one = async (n: number): Promise<void> => {
    const input = join(dir, `bench-${String(n).padStart(width, '0')}.bin`)
    const body: JobRequestBody = {
      inputMode: 'data',
      input,
      computeCapacity: plan.computeCapacity,
      program: plan.program,
      dataId: `bench-${n}`,
      timeoutMs: plan.timeoutMs,
      ...(plan.minimalComputeCapacity === undefined
        ? {}
        : { minimalComputeCapacity: plan.minimalComputeCapacity })
    }
    let submittedAt = Date.now()
    let id: string | undefined
    try {
      await writeRandomFile(input, plan.sizeBytes)
      // stopped while the input was written: this job is not run
      if (options.signal.aborted) return
      submittedAt = Date.now()
      const record = await client.post<JobRecord>('/v1/jobs', body)
      id = record.id
      const deadline = submittedAt + plan.timeoutMs + benchLoadDefaults.graceMs
      let last = await waitForEnd(client, id, deadline, options.signal)
      if (!isTerminal(last.state)) {
        const interrupted = options.signal.aborted
        last = (await cancelJob(client, id)) ?? last
        const outcome = outcomeOf(n, last, submittedAt)
        if (!isTerminal(last.state) || last.error === undefined) {
          outcome.error = interrupted
            ? { code: 'INTERRUPTED', message: `cancelled by the load tester while ${last.state}` }
            : {
                code: 'TIMEOUT',
                message: `not over ${Math.round((plan.timeoutMs + benchLoadDefaults.graceMs) / 1000)} s after submission (${last.state}); cancelled`
              }
        }
        report(outcome)
        return
      }
      report(outcomeOf(n, last, submittedAt))
    } catch (err) {
      report({
        n,
        ...(id === undefined ? {} : { id }),
        state: id === undefined ? 'unsubmitted' : 'failed',
        ok: false,
        latencyMs: Date.now() - submittedAt,
        bytesOut: 0,
        error: { code: id === undefined ? 'SUBMIT' : 'CLIENT', message: describe(err) }
      })
    } finally {
      if (!keepInputs) await rm(input, { force: true })
    }
  }
  const started = Date.now()
  const worker = async (): Promise<void> => {
    while (!options.signal.aborted && next < plan.jobs) {
      next++
      await one(next)
    }
  }
  await Promise.all(Array.from({ length: plan.concurrency }, worker))
  return { outcomes, wallMs: Date.now() - started }
}

/** The whole command; resolves with its exit code */
export async function runBenchLoad(args: BenchLoadArgs): Promise<number> {
  const plan = planLoad(args)
  const client = await connectDaemon(args)
  const computeCapacity = plan.computeCapacity ?? (await networkUnits(client, plan.program))
  if (computeCapacity < 1) {
    throw new CliError(
      `the daemon knows no peer offering units for ${plan.program} (yet); pass --compute-capacity N`
    )
  }
  if (plan.minimalComputeCapacity !== undefined && plan.minimalComputeCapacity > computeCapacity) {
    throw usage(
      `--minimal-compute-capacity ${plan.minimalComputeCapacity} is more than the ${computeCapacity} units asked for`
    )
  }
  // The daemon's own checks, on a request shaped like the ones to come
  try {
    parseJobRequest(
      {
        inputMode: 'data',
        input: join(tmpdir(), 'bench.bin'),
        computeCapacity,
        program: plan.program,
        timeoutMs: plan.timeoutMs,
        ...(plan.minimalComputeCapacity === undefined
          ? {}
          : { minimalComputeCapacity: plan.minimalComputeCapacity })
      },
      { timeoutMs: plan.timeoutMs }
    )
  } catch (err) {
    if ((err as Error).name !== 'JobRequestError') throw err
    throw usage((err as Error).message)
  }
  const json = args.json === true
  const keepInputs = args['keep-inputs'] === true
  const dir = await mkdtemp(join(tmpdir(), 'proofmesh-bench-'))
  const controller = new AbortController()
  let signalCode: number | undefined
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalCode !== undefined) process.exit(signalCode)
    signalCode = signal === 'SIGINT' ? 130 : 143
    process.stderr.write(
      `\n${signal}: no more jobs are submitted; cancelling the ones in flight (again to quit at once)\n`
    )
    controller.abort()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  process.stderr.write(
    `${plan.jobs} jobs of ${formatBytes(plan.sizeBytes)} (${plan.sizeBytes} bytes), ${plan.concurrency} in flight, ${computeCapacity} units each, through ${client.url}; inputs in ${dir}\n`
  )
  try {
    const { outcomes, wallMs } = await runLoad(client, { ...plan, computeCapacity }, dir, keepInputs, {
      stderr: process.stderr,
      signal: controller.signal
    })
    const summary = summarizeLoad(outcomes, {
      jobs: plan.jobs,
      concurrency: plan.concurrency,
      sizeBytes: plan.sizeBytes,
      computeCapacity,
      program: plan.program,
      interrupted: signalCode !== undefined,
      wallMs
    })
    process.stdout.write(`${json ? JSON.stringify(summary, null, 2) : formatLoadSummary(summary)}\n`)
    if (signalCode !== undefined) return signalCode
    return summary.completed === plan.jobs ? 0 : 1
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    if (keepInputs) process.stderr.write(`inputs kept in ${dir}\n`)
    else await rm(dir, { recursive: true, force: true })
  }
}

const loadCommand: CommandModule<object, BenchLoadArgs> = {
  command: 'load',
  describe:
    'Submit generated jobs through the local daemon, --concurrency at a time; report throughput, latency, failures',
  builder: (yargs) =>
    yargs
      .options({
        ...baseOptions,
        jobs: { type: 'number', alias: 'n', describe: `How many jobs [default: ${benchLoadDefaults.jobs}]` },
        concurrency: {
          type: 'number',
          describe: `Jobs in flight at once [default: ${benchLoadDefaults.concurrency}]`
        },
        size: {
          type: 'string',
          describe: 'Input bytes per job, random; 64k, 1m, 2MiB (powers of 1024) [default: 256k]'
        },
        'compute-capacity': {
          type: 'number',
          alias: 'c',
          describe: 'Units each job asks for [default: every unit the daemon sees for --program]'
        },
        'minimal-compute-capacity': {
          type: 'number',
          alias: 'm',
          describe: 'Start a job with this many units when no more are free [default: --compute-capacity]'
        },
        program: {
          type: 'string',
          describe: `Program to prove [default: ${jobRequestLimits.defaultProgram}]`
        },
        timeout: {
          type: 'string',
          describe: `Time one job may take, queueing included [default: ${benchLoadDefaults.timeout}]`
        },
        json: {
          type: 'boolean',
          describe: 'Print the summary as JSON (completed, failed, jobsPerMinute, p50Ms, p95Ms, ...)'
        },
        'keep-inputs': { type: 'boolean', describe: 'Keep the generated inputs (their folder is printed)' }
      })
      .example([
        ['$0 bench load', '10 jobs of 256 KiB, 2 at a time, over the whole network'],
        [
          '$0 bench load -n 100 --concurrency 8 --size 1m --json',
          '100 jobs of 1 MiB, 8 at a time; JSON summary'
        ],
        ['$0 bench load -n 20 -c 2 --timeout 2m', 'small jobs of 2 units each']
      ]),
  handler: async (args) => {
    process.exitCode = await runBenchLoad(args)
  }
}

export const benchCommand: CommandModule = {
  command: 'bench <command>',
  describe: 'Measure the network: `bench load` runs many jobs and reports throughput and latency',
  builder: (yargs) => yargs.command(loadCommand).demandCommand(1),
  handler: () => undefined
}
