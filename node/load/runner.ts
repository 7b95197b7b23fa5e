/** `proofmesh bench load`: submits the jobs through the local daemon, keeping a number in flight, and follows each to its end */
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type { CapacityJson } from '../../src/capacity/advert-json.js'
import type { PeerRow } from '../../src/daemon/daemon.js'
import type { StatusJson } from '../../src/daemon/status-json.js'
import type { JobRequestBody } from '../../src/job/request.js'
import { isTerminalEvent } from '../../src/jobs-model/follow.js'
import { isTerminal } from '../../src/jobs-model/states.js'
import type { JobRecord } from '../../src/jobs-model/types.js'
import { deadline as deadlineSignal } from '../../src/net/deadline.js'
import type { ApiClient } from '../api-client.js'
import { writeRandomFile } from '../random-file.js'
import { benchLoadDefaults, type LoadPlan } from './plan.js'
import { type JobOutcome, outcomeOf } from './summary.js'

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
  const stop = AbortSignal.any([
    signal,
    deadlineSignal(`job ${id}'s end within the run`, Math.max(1, deadline - Date.now()))
  ])
  try {
    for await (const event of client.events(id, { signal: stop })) {
      if (isTerminalEvent(event)) break
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
