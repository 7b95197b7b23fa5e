/**
 * Speed-up of one CPU-bound job from 1 to 2 peers: an input of 2 × 32768 × 56 random bytes (two segments
 * of 2^15 blocks), proved by 1 peer (both segments) and then by 2 peers (one each). Each node's prover is
 * pinned to its own core with `taskset -c K` (--prover-command), so the 1-peer run has one core and the
 * 2-peer run two, whatever else the machine runs. Target: speed-up ≥ 1.7×.
 *
 *   npm run bench:speedup
 */
import '../../src/polyfill.js'
import { spawnSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import type { JobRecord } from '../../src/jobs-model/types.js'
import { LocalNetwork, type LocalNode } from '../../src/testnet/local-network.js'
import {
  BLOCK_BYTES,
  childPids,
  cpusAllowed,
  loadAverage,
  phaseMs,
  printTable,
  PROVER_PATH,
  proverCpuSeconds,
  runJob,
  SEGMENT_BLOCKS,
  seconds,
  waitFreePeers
} from './job-helpers.js'
import { writeRandomFile } from '../../node/random-file.js'

const SEGMENTS = 2
const TARGET = 1.7

interface Run {
  peers: number
  e2eMs: number
  record: JobRecord
  pinning: string
  /** CPU seconds each node's prover (and its prove children) used during the job */
  cpu: number[]
  load: string
}

/** Every argv element as --prover-command=<arg>: yargs would read a bare `-c` as a flag of its own */
function pinnedProver(core: number): string[] {
  return ['taskset', '-c', String(core), PROVER_PATH, 'serve'].map((arg) => `--prover-command=${arg}`)
}

async function measure(root: string, input: string, peers: number): Promise<Run> {
  const network = new LocalNetwork({
    nodes: peers,
    root: join(root, `net-${peers}`),
    extraArgs: ['--compute-units', '1', '--log-level', 'warn'],
    nodeArgs: (index) => pinnedProver(index)
  })
  try {
    await network.start()
    if (peers > 1) await network.converge()
    await waitFreePeers(network, peers - 1)
    const submitter = network.nodes[0] as LocalNode
    const request = { inputMode: 'data', input, computeCapacity: peers, minimalComputeCapacity: peers }
    // Warm-up: connections and provers started
    const tiny = join(root, 'tiny')
    await writeRandomFile(tiny, 8 * BLOCK_BYTES)
    await runJob(submitter, { ...request, input: tiny, minimalComputeCapacity: 1 })
    await waitFreePeers(network, peers - 1)
    const load = await loadAverage()
    const cpuBefore = await proverCpuSeconds(network)
    const { record, e2eMs } = await runJob(submitter, request)
    const cpuAfter = await proverCpuSeconds(network)
    const cpu = cpuAfter.map((after, i) => after - (cpuBefore[i] ?? 0))
    // Where each node's prover may run, as the kernel has it
    const pinning: string[] = []
    for (const node of network.nodes) {
      const pids = await childPids(node.process.pid ?? -1, 'proofmesh-prover')
      const allowed = await Promise.all(pids.map(async (pid) => cpusAllowed(pid)))
      pinning.push(`n${node.index}:${allowed.join('/') || '?'}`)
    }
    return { peers, e2eMs, record, pinning: pinning.join(' '), cpu, load: load.split(' ')[0] ?? '' }
  } finally {
    await network.stop()
  }
}

const cores = availableParallelism()
if (spawnSync('taskset', ['-c', '0', 'true']).status !== 0) {
  console.log('bench:speedup skipped: `taskset` is not available (util-linux)')
} else if (cores < 2) {
  console.log(`bench:speedup skipped: ${cores} core; pinning 2 peers to their own cores needs 2`)
} else {
  const root = await mkdtemp(join(tmpdir(), 'proofmesh-bench-speedup-'))
  try {
    const input = join(root, 'input')
    await writeRandomFile(input, SEGMENTS * SEGMENT_BLOCKS * BLOCK_BYTES)
    console.log(`load average before: ${await loadAverage()} (${cores} cores)`)
    const runs: Run[] = []
    for (const peers of [1, 2]) runs.push(await measure(root, input, peers))
    const base = runs[0] as Run
    printTable(
      [
        'peers',
        'segs',
        'e2e_s',
        'prove_phase_s',
        'proveMillis_each',
        'speedup_e2e',
        'speedup_prove',
        'prover_cpus',
        'prover_cpu_s',
        'cores_used',
        'load1'
      ],
      runs.map((run) => [
        run.peers,
        run.record.segments.length,
        seconds(run.e2eMs),
        seconds(phaseMs(run.record, 'prove')),
        run.record.segments.map((segment) => segment.proveMillis ?? 0).join('/'),
        `${(base.e2eMs / run.e2eMs).toFixed(2)}x`,
        `${(phaseMs(base.record, 'prove') / phaseMs(run.record, 'prove')).toFixed(2)}x`,
        run.pinning,
        run.cpu.map((cpu) => cpu.toFixed(1)).join('/'),
        (run.cpu.reduce((a, b) => a + b, 0) / (phaseMs(run.record, 'prove') / 1000)).toFixed(2),
        run.load
      ])
    )
    const speedup = base.e2eMs / (runs[1] as Run).e2eMs
    console.log(
      `speedup 1 → 2 peers: ${speedup.toFixed(2)}x (end to end), target ≥ ${TARGET}x ${speedup >= TARGET ? 'MET' : 'MISSED'}`
    )
    console.log(
      'prover_cpu_s = CPU seconds of each node’s prover and its prove children during the job; cores_used = their sum / ' +
        'prove phase: about 1 per pinned peer when the cores are ours, less when other work shares them'
    )
  } finally {
    await rm(root, { recursive: true, force: true })
  }
}
