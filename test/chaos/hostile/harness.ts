/**
 * The hostile suite's honest side: real daemon processes on 127.0.0.1, an honest job proved and verified while an
 * attack runs (its time next to a clean job's), and what each daemon shows of the attack (resident memory, the
 * time /v1/status takes, its peer table and connections). Attacks live beside this file: sockets.ts (raw TCP),
 * peer.ts (hand-written libp2p clients).
 */
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readdir, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { StatusJson } from '../../../src/daemon/status-json.js'
import type { JobEvent, JobRecord } from '../../../src/jobs-model/types.js'
import { JOB_PHASES } from '../../../src/jobs-model/states.js'
import { type LocalNetworkInit, type LocalNode, LocalNetwork } from '../../../src/testnet/local-network.js'
import { loadAverage, phaseMs, PROVER_PATH, rssMiB, runJob } from '../../bench/job-helpers.js'
import { api, poll } from '../../helpers/api.js'

const exec = promisify(execFile)

/** `HOSTILE=full` (npm run test:chaos): the attacks at the sizes of the issue; otherwise short runs */
export const FULL = process.env.HOSTILE === 'full'

/** Compute units each worker offers in the suite's networks */
export const UNITS = 2

export interface HostileNetwork {
  network: LocalNetwork
  root: string
  stop(): Promise<void>
}

/** Daemon processes on 127.0.0.1 (node 0 first, the rest bootstrapped from it), their tables converged */
export async function startNetwork(
  name: string,
  init: Omit<LocalNetworkInit, 'root'> & { converge?: boolean }
): Promise<HostileNetwork> {
  const root = await mkdtemp(join(tmpdir(), `proofmesh-hostile-${name}-`))
  const network = new LocalNetwork({
    advertInterval: '1s',
    nodeArgs: () => ['--compute-units', String(UNITS)],
    ...init,
    root
  })
  try {
    await network.start()
    if (init.converge !== false) await network.converge()
  } catch (err) {
    await network.stop()
    throw err
  }
  return {
    network,
    root,
    stop: async () => {
      await network.stop()
      await network.remove()
    }
  }
}

/** The host and port of a node's libp2p listener on 127.0.0.1 */
export function tcpAddress(node: LocalNode): { host: string; port: number; multiaddr: string } {
  const multiaddr = node.status.addrs.find((addr) => addr.startsWith('/ip4/127.0.0.1/tcp/'))
  const port = Number(/\/tcp\/(\d+)/.exec(multiaddr ?? '')?.[1])
  if (multiaddr === undefined || !Number.isInteger(port)) {
    throw new Error(`node ${node.index} has no 127.0.0.1 TCP address: ${node.status.addrs.join(' ')}`)
  }
  return { host: '127.0.0.1', port, multiaddr }
}

export interface ProvedJob {
  record: JobRecord
  /** From submission to the client seeing it succeed */
  ms: number
  reserveMs: number
  /** Each phase's milliseconds, e.g. "reserve 12, plan 40, contribute 900, …" */
  phases: string
}

/** Submits a data-mode job of `bytes` random bytes, waits for it and checks the digest against the prover's */
export async function provedJob(node: LocalNode, bytes: number, units: number): Promise<ProvedJob> {
  const input = join(node.dataDir, `hostile-${Date.now()}-${Math.random().toString(36).slice(2)}.bin`)
  await writeFile(input, randomBytes(bytes))
  const { record, e2eMs } = await runJob(node, {
    inputMode: 'data',
    input,
    computeCapacity: units,
    minimalComputeCapacity: 1,
    timeoutMs: '5m'
  })
  const { stdout } = await exec(PROVER_PATH, ['hash', input])
  const digest = (JSON.parse(stdout) as { digest: string }).digest
  if (record.digest !== digest)
    throw new Error(`job ${record.id} proved ${record.digest}, the input hashes to ${digest}`)
  const phases = JOB_PHASES.map((phase) => `${phase} ${phaseMs(record, phase)}`).join(' / ')
  return { record, ms: e2eMs, reserveMs: phaseMs(record, 'reserve'), phases }
}

export interface DaemonFigures {
  rssMiB: number
  /** One /v1/status answer, from request to parsed body */
  statusMs: number
  knownPeers: number
  connectedPeers: number
}

export async function figures(node: LocalNode): Promise<DaemonFigures> {
  const started = performance.now()
  const status = await api<StatusJson>(node, '/v1/status')
  const statusMs = performance.now() - started
  return {
    rssMiB: await rssMiB(node.process.pid ?? -1),
    statusMs,
    knownPeers: status.knownPeers,
    connectedPeers: status.connectedPeers
  }
}

/** The largest of each figure over `ms`, sampled every `everyMs` */
export async function peakFigures(node: LocalNode, ms: number, everyMs = 250): Promise<DaemonFigures> {
  const peak: DaemonFigures = { rssMiB: 0, statusMs: 0, knownPeers: 0, connectedPeers: 0 }
  const until = Date.now() + ms
  while (Date.now() < until) {
    const now = await figures(node)
    for (const key of Object.keys(peak) as Array<keyof DaemonFigures>)
      peak[key] = Math.max(peak[key], now[key])
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
  return peak
}

export interface Joined {
  node: LocalNode
  /** From spawning the daemon until its API answered */
  startedMs: number
  /** From spawning until it had a connection to the bootstrap peer */
  connectedMs: number
  /** From spawning until the bootstrap peer listed it in its peer table */
  listedMs: number
}

/**
 * Starts one more daemon bootstrapped from `bootstrap`, and times its joining: its first connection, and the
 * bootstrap peer listing it. Throws, saying what it saw, when that takes longer than `timeoutMs`.
 */
export async function joinNetwork(
  bootstrap: LocalNode,
  root: string,
  name: string,
  timeoutMs: number,
  /** Its own daemon flags (default: the suite's units) */
  args: string[] = ['--compute-units', String(UNITS)]
): Promise<{ joined: Joined; network: LocalNetwork }> {
  const network = new LocalNetwork({
    nodes: 1,
    root: join(root, name),
    advertInterval: '1s',
    extraArgs: ['--bootstrap', tcpAddress(bootstrap).multiaddr],
    nodeArgs: () => args
  })
  const spawned = Date.now()
  try {
    await network.start()
    const node = network.nodes[0] as LocalNode
    const startedMs = Date.now() - spawned
    let lastSeen = ''
    const connectedMs = await poll(`node ${name} to connect to its bootstrap peer`, timeoutMs, async () => {
      const status = await api<StatusJson>(node, '/v1/status')
      lastSeen = `${status.connectedPeers} connections`
      return status.connectedPeers > 0 ? Date.now() - spawned : undefined
    }).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}; it had ${lastSeen}`)
    })
    const listedMs = await poll(`the bootstrap peer to list ${name}`, timeoutMs, async () => {
      const rows = await network.peers(bootstrap)
      return rows.some((row) => row.peerId === node.status.peerId) ? Date.now() - spawned : undefined
    })
    return { joined: { node, startedMs, connectedMs, listedMs }, network }
  } catch (err) {
    await network.stop()
    await network.remove()
    throw err
  }
}

/** The values of one metric of a daemon's /metrics, by label set as written (`kind="pending"`) */
export async function metric(node: LocalNode, name: string): Promise<Map<string, number>> {
  const response = await fetch(new URL('/metrics', node.api.url), {
    headers: { authorization: `Bearer ${node.token}` },
    signal: AbortSignal.timeout(10_000)
  })
  const values = new Map<string, number>()
  for (const line of (await response.text()).split('\n')) {
    const match = /^(\w+)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (match?.[1] === name) values.set(match[2] ?? '', Number(match[3]))
  }
  return values
}

/** A job's events as its submitter journaled them: the stream of a finished job ends with its last event */
export async function jobEvents(node: LocalNode, id: string): Promise<JobEvent[]> {
  const response = await fetch(new URL(`/v1/jobs/${id}/events`, node.api.url), {
    headers: { authorization: `Bearer ${node.token}` },
    signal: AbortSignal.timeout(10_000)
  })
  return (await response.text())
    .split('\n')
    .filter((line) => line.startsWith('data: '))
    .map((line) => JSON.parse(line.slice('data: '.length)) as JobEvent)
}

/** What a daemon holds for jobs: units under lease, leases, and session folders in its work folder */
export interface Held {
  units: number
  leases: number
  folders: number
}

export async function held(node: LocalNode): Promise<Held> {
  const folders = await readdir(join(node.dataDir, 'work')).catch(() => [])
  return {
    units: (await metric(node, 'proofmesh_units_leased')).get('') ?? Number.NaN,
    leases: (await metric(node, 'proofmesh_leases_held')).get('') ?? Number.NaN,
    folders: folders.length
  }
}

/** Waits until a daemon holds nothing (no unit leased, no lease, no session folder); the ms that took */
export async function nothingHeld(node: LocalNode, timeoutMs: number): Promise<number> {
  const started = Date.now()
  let last: Held | undefined
  await poll(
    () => `node ${node.index} to hold nothing; it held ${JSON.stringify(last)}`,
    timeoutMs,
    async () => {
      last = await held(node)
      return last.units === 0 && last.leases === 0 && last.folders === 0 ? true : undefined
    }
  )
  return Date.now() - started
}

/** One line of figures on stderr, with the machine's load, for the suite's output and the report */
export async function report(what: string, figures: Record<string, string | number>): Promise<void> {
  const parts = Object.entries(figures).map(
    ([key, value]) => `${key} ${typeof value === 'number' ? Math.round(value * 10) / 10 : value}`
  )
  process.stderr.write(`hostile: ${what}: ${parts.join(', ')} (load ${await loadAverage()})\n`)
}

/**
 * A job's events, one line each on stderr, timed from its first event, peers named by `names` (others by their
 * short id): what stretched a run shows here (which peer checked whom, who failed when, who took over)
 */
export async function printTimeline(
  node: LocalNode,
  id: string,
  names: ReadonlyMap<string, string>
): Promise<void> {
  const events = await jobEvents(node, id)
  const start = events[0]?.at ?? 0
  const name = (peerId: string): string => names.get(peerId) ?? peerId.slice(-8)
  for (const event of events) {
    if (event.kind === 'progress') continue
    const peer = 'peer' in event && event.peer !== undefined ? ` ${name(event.peer)}` : ''
    process.stderr.write(`hostile:   +${event.at - start} ms ${event.kind}${peer}: ${event.message ?? ''}\n`)
  }
}
