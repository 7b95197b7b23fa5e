/**
 * Busy is not dead, in figures: a submit-only daemon and 3 peers (2 units each) on this machine prove one
 * data-mode job, with the provers at each prover.nice of --nice (default 0, the daemons' own priority, and
 * 10, the default), in turn, in the same run. Optionally N busy loops per round take the cores as well
 * (--burn N): they stand for other work on the host at normal priority, which a lowered prover yields to. For each: how long the job took, the peers it dropped, the longest gap between two frames of a
 * peer as the submitter received them (keep-alives go every second: the gap over 1 s is their lateness), and
 * how long the daemons' main threads waited for a core (/proc/PID/schedstat: all of it, and the worst second).
 * Then, at the default, one peer is frozen (SIGSTOP) while proving: the time until the submitter drops it.
 *
 *   npm run build && npm run bench:busy -- [--rounds 2] [--burn 0] [--size 8388608] [--nice 0,10]
 */
import '../../src/polyfill.js'
import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { configDefaults } from '../../src/config/index.js'
import type { JobRecord } from '../../src/jobs-model/types.js'
import { LocalNetwork, type LocalNode } from '../../src/testnet/local-network.js'
import { randomBytes } from 'node:crypto'
import { peerDropped } from '../helpers/journal.js'
import { getJob, loadAverage, printTable, seconds, sleep, submitJob, waitJob } from './job-helpers.js'

const PEERS = 3
const UNITS = 2

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '2' },
    burn: { type: 'string', default: '0' },
    size: { type: 'string', default: String(8 * 1024 * 1024) },
    nice: { type: 'string', default: '0,10' }
  }
})
const rounds = Number(values.rounds)
const burn = Number(values.burn)
const size = Number(values.size)
/** The prover.nice values compared, in turn in each round */
const nices = values.nice.split(',').map(Number)

/** Run-queue wait of a thread in ns (schedstat's second field), or NaN once it is gone */
function waitNs(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[1])
  } catch {
    return Number.NaN
  }
}

/** Samples the daemons' main threads every second until stopped: total wait, and the worst second */
function sampleWaits(pids: number[]): () => { totalS: number; worstMs: number } {
  const first = pids.map(waitNs)
  let previous = first
  let worstMs = 0
  const timer = setInterval(() => {
    const now = pids.map(waitNs)
    for (let i = 0; i < pids.length; i++) {
      const delta = ((now[i] ?? 0) - (previous[i] ?? 0)) / 1e6
      if (Number.isFinite(delta)) worstMs = Math.max(worstMs, delta)
    }
    previous = now
  }, 1_000)
  return () => {
    clearInterval(timer)
    const totalNs = pids.map(waitNs).reduce((sum, value, i) => sum + value - (first[i] ?? 0), 0)
    return { totalS: totalNs / 1e9 / pids.length, worstMs }
  }
}

function burnCores(count: number): ChildProcess[] {
  return Array.from({ length: count }, () =>
    spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' })
  )
}

interface Outcome {
  nice: number
  ms: number
  state: string
  dropped: number
  segmentsPerPeer: string
  longestGapMs: number
  waitS: number
  worstWaitMs: number
  load: string
}

async function withNetwork<T>(
  root: string,
  nice: number,
  body: (network: LocalNetwork) => Promise<T>
): Promise<T> {
  process.env.PROOFMESH_PROVER_NICE = String(nice)
  const network = new LocalNetwork({
    nodes: PEERS + 1,
    root: await mkdtemp(join(root, `nice-${nice}-`)),
    advertInterval: '1s',
    extraArgs: ['--log-level', 'warn'],
    nodeArgs: (index) => (index === 0 ? ['--no-offer'] : ['--compute-units', String(UNITS)])
  })
  try {
    await network.start()
    await network.converge(60_000)
    return await body(network)
  } finally {
    await network.stop()
    await network.remove()
  }
}

async function oneJob(root: string, input: string, nice: number): Promise<Outcome> {
  return withNetwork(root, nice, async (network) => {
    const submitter = network.nodes[0] as LocalNode
    const burners = burnCores(burn)
    const waits = sampleWaits(network.nodes.map((node) => node.process.pid ?? -1))
    const started = Date.now()
    try {
      const job = await submitOnEveryPeer(submitter, input)
      const { record } = await waitJob(submitter, job.id, { pollMs: 500, done: (r) => isOver(r) })
      const { totalS, worstMs } = waits()
      const per = new Map<string, number>()
      for (const segment of record.segments) per.set(segment.peerId, (per.get(segment.peerId) ?? 0) + 1)
      return {
        nice,
        ms: Date.now() - started,
        state: record.state,
        dropped: record.peers.filter((peer) => peer.state === 'failed').length,
        segmentsPerPeer: [...per.values()].join('/'),
        longestGapMs: Math.max(0, ...record.peers.map((peer) => peer.longestGapMs ?? 0)),
        waitS: totalS,
        worstWaitMs: worstMs,
        load: await loadAverage()
      }
    } finally {
      for (const burner of burners) burner.kill('SIGKILL')
    }
  })
}

async function submitOnEveryPeer(submitter: LocalNode, input: string): Promise<JobRecord> {
  return submitJob(submitter, {
    inputMode: 'data',
    input,
    computeCapacity: PEERS * UNITS,
    minimalComputeCapacity: 1,
    timeoutMs: '30m'
  })
}

function isOver(record: JobRecord): boolean {
  return ['succeeded', 'failed', 'cancelled'].includes(record.state)
}

/** Freezes a proving peer; the time from SIGSTOP to the submitter's 'failed' event for it */
async function freezeDetection(root: string, input: string, nice: number): Promise<number> {
  return withNetwork(root, nice, async (network) => {
    const submitter = network.nodes[0] as LocalNode
    const burners = burnCores(burn)
    try {
      const job = await submitOnEveryPeer(submitter, input)
      let record = await getJob(submitter, job.id)
      while (record.state !== 'proving') {
        if (isOver(record)) throw new Error(`job ${job.id} ended ${record.state} before proving`)
        await sleep(100)
        record = await getJob(submitter, job.id)
      }
      const victim = network.nodes.find((node) =>
        record.segments.some((segment) => segment.peerId === node.status.peerId && segment.state !== 'proved')
      )
      if (victim === undefined) throw new Error('no peer left with a segment to prove')
      victim.process.kill('SIGSTOP')
      const frozenAt = Date.now()
      try {
        await waitJob(submitter, job.id, { pollMs: 500, done: (r) => isOver(r) })
      } finally {
        victim.process.kill('SIGCONT')
      }
      const dropped = peerDropped(submitter, job.id, victim.status.peerId)
      if (dropped === undefined) throw new Error('the frozen peer was never dropped')
      return dropped.at - frozenAt
    } finally {
      for (const burner of burners) burner.kill('SIGKILL')
    }
  })
}

async function main(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'proofmesh-bench-busy-'))
  try {
    const input = join(root, 'input.bin')
    await writeFile(input, randomBytes(size))
    console.log(
      `busy peers: ${PEERS} peers × ${UNITS} units + a submit-only daemon, ${size} bytes, ${burn} busy loops, load ${await loadAverage()}`
    )
    const outcomes: Outcome[] = []
    for (let round = 0; round < rounds; round++) {
      for (const nice of nices) outcomes.push(await oneJob(root, input, nice))
    }
    printTable(
      [
        'prover.nice',
        'job s',
        'state',
        'dropped',
        'segments',
        'longest gap ms',
        'daemon wait s',
        'worst 1 s ms',
        'load'
      ],
      outcomes.map((o) => [
        o.nice,
        seconds(o.ms),
        o.state,
        o.dropped,
        o.segmentsPerPeer,
        o.longestGapMs,
        o.waitS.toFixed(1),
        o.worstWaitMs.toFixed(0),
        o.load
      ])
    )
    const detection = await freezeDetection(root, input, configDefaults.prover.nice)
    console.log(
      `a peer frozen (SIGSTOP) while proving was dropped ${detection} ms later (jobs.peer_timeout 3 s)`
    )
  } finally {
    await rm(root, { recursive: true, force: true })
  }
}

await main()
