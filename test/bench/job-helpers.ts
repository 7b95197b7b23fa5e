/**
 * Shared pieces of the job benchmarks (jobs, speedup, upload-ratio, rss-stream): submitting a job to a
 * daemon's API and waiting for it, phase timings, RSS, and a plain table printer.
 */
import { readdir, readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import type { JobPhase } from '../../src/jobs-model/states.js'
import type { JobRecord } from '../../src/jobs-model/types.js'
import type { LocalNetwork, LocalNode } from '../../src/testnet/local-network.js'
import { type ApiNode, api } from '../helpers/api.js'

/** The release build of the reference prover (npm run build:native) */
export const PROVER_PATH = fileURLToPath(
  new URL('../../../native/target/release/proofmesh-prover', import.meta.url)
)

/** Bytes per rescue-sponge block, and the blocks of one 2^18-row segment */
export const BLOCK_BYTES = 56
export const SEGMENT_BLOCKS = 32_768

export async function submitJob(node: ApiNode, request: Record<string, unknown>): Promise<JobRecord> {
  return api<JobRecord>(node, '/v1/jobs', request)
}

export async function getJob(node: ApiNode, id: string): Promise<JobRecord> {
  return api<JobRecord>(node, `/v1/jobs/${id}`)
}

export async function cancelJob(node: ApiNode, id: string): Promise<JobRecord> {
  return api<JobRecord>(node, `/v1/jobs/${id}/cancel`, {})
}

/**
 * Polls a job every `pollMs` until `done(record)` holds (default: a terminal state); returns the record and
 * the wall-clock time at which the poll first saw it. Throws if the job fails when success was awaited.
 */
export async function waitJob(
  node: ApiNode,
  id: string,
  options: { pollMs?: number; timeoutMs?: number; done?: (record: JobRecord) => boolean } = {}
): Promise<{ record: JobRecord; seenAt: number }> {
  const pollMs = options.pollMs ?? 50
  const deadline = Date.now() + (options.timeoutMs ?? 600_000)
  const terminal = (record: JobRecord): boolean => ['succeeded', 'failed', 'cancelled'].includes(record.state)
  const done = options.done ?? terminal
  for (;;) {
    const record = await getJob(node, id)
    const seenAt = Date.now()
    if (done(record)) return { record, seenAt }
    if (terminal(record)) {
      throw new Error(`job ${id} ended ${record.state}: ${record.error?.code} ${record.error?.message}`)
    }
    if (seenAt > deadline) throw new Error(`job ${id} still ${record.state} after ${options.timeoutMs} ms`)
    await sleep(pollMs)
  }
}

/** Submits, waits for `succeeded` and returns the record with the end-to-end time seen by the client */
export async function runJob(
  node: ApiNode,
  request: Record<string, unknown>,
  pollMs = 50
): Promise<{ record: JobRecord; e2eMs: number }> {
  const started = Date.now()
  const submitted = await submitJob(node, request)
  const { record, seenAt } = await waitJob(node, submitted.id, { pollMs })
  if (record.state !== 'succeeded') {
    throw new Error(`job ${record.id} ended ${record.state}: ${record.error?.code} ${record.error?.message}`)
  }
  return { record, e2eMs: seenAt - started }
}

/** Milliseconds a phase took, 0 when it did not run */
export function phaseMs(record: JobRecord, phase: JobPhase): number {
  const timing = record.phases[phase]
  if (timing?.endedAt === undefined) return 0
  return timing.endedAt - timing.startedAt
}

/** Waits until node 0's peer table shows `count` other peers offering at least one free unit */
export async function waitFreePeers(network: LocalNetwork, count: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  const from = network.nodes[0] as LocalNode
  for (;;) {
    const rows = await network.peers(from)
    const free = rows.filter((row) => row.capacity.unitsFree > 0).length
    if (free >= count) return
    if (Date.now() > deadline)
      throw new Error(`only ${free} of ${count} peers offer free units after ${timeoutMs} ms`)
    await sleep(100)
  }
}

/** VmRSS of a process in MiB (NaN once it is gone) */
export async function rssMiB(pid: number): Promise<number> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8')
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN) / 1024
  } catch {
    return Number.NaN
  }
}

/** The pids of a process's children whose command line contains `match` */
export async function childPids(parent: number, match: string): Promise<number[]> {
  const pids: number[] = []
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8')
      // pid (comm) state ppid ...: comm may hold spaces, so split after its closing parenthesis
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      if (ppid !== parent) continue
      const cmdline = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).replaceAll('\0', ' ')
      if (cmdline.includes(match)) pids.push(Number(entry))
    } catch {
      // the process ended meanwhile
    }
  }
  return pids
}

/**
 * User + system CPU seconds of a process and of its children it has waited for (the prover proves each
 * segment in a `prove-child` process), from /proc/<pid>/stat in clock ticks of 1/100 s
 */
export async function cpuSeconds(pid: number): Promise<number> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
    // After "(comm) " comes field 3 (state); utime, stime, cutime, cstime are fields 14 to 17
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0) / 100
  } catch {
    return Number.NaN
  }
}

/** CPU seconds used so far by the prover processes of each node of a network, by node index */
export async function proverCpuSeconds(network: LocalNetwork): Promise<number[]> {
  return Promise.all(
    network.nodes.map(async (node) => {
      const pids = await childPids(node.process.pid ?? -1, 'proofmesh-prover')
      const each = await Promise.all(pids.map(async (pid) => cpuSeconds(pid)))
      return each.reduce((sum, value) => sum + value, 0)
    })
  )
}

/** The CPUs a process may run on, as /proc/<pid>/status lists them (e.g. "0" or "0-1") */
export async function cpusAllowed(pid: number): Promise<string> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  return /Cpus_allowed_list:\s+(\S+)/.exec(status)?.[1] ?? '?'
}

/** The 1-minute load average, to print next to CPU-bound figures */
export async function loadAverage(): Promise<string> {
  return (await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ')
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

export function seconds(ms: number): string {
  return (ms / 1000).toFixed(2)
}

/** Prints rows as a table with right-aligned columns under a header row */
export function printTable(header: string[], rows: Array<Array<string | number>>): void {
  const cells = [header, ...rows.map((row) => row.map(String))]
  const widths = header.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? '').length)))
  for (const row of cells) console.log(row.map((cell, i) => cell.padStart(widths[i] ?? 0)).join('  '))
}
