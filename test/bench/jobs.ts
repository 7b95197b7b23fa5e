/**
 * Orchestration overhead of one job: P real daemons (--compute-units 1 each) on 127.0.0.1, one job of P
 * segments of 2^15 blocks (2^18 trace rows) submitted from node 0 with computeCapacity P, so each peer
 * proves exactly one segment (node 0 proves its own). Input: P × 32768 × 56 random bytes.
 *
 * The baseline is the job's own critical path, read from the job record: plan phase + the slowest segment's
 * proveMillis (the peer's prover time) + aggregate phase + verify phase. Everything else (HTTP, reserve,
 * shipping inputs and hints, contributions, messages between phases, polling) is overhead:
 * overhead = end-to-end (submit → the client sees succeeded) − critical path. Target: ≤ 10% + 0.5 s.
 * For reference, `proofmesh-prover prove-all --segments 1` on one 2^15-block slice alone gives what one
 * segment costs natively with the machine to itself.
 *
 *   npm run bench:jobs              (P = 1, 2, 3)
 *   node dist/test/bench/jobs.js 1 2
 *
 * The provers are multi-threaded: on a machine with fewer cores than P × a prover's threads, the peers'
 * provers share the CPU, so P > 1 measures contention, not distribution; the table says so.
 */
import '../../src/polyfill.js'
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { LocalNetwork, type LocalNode } from '../../src/testnet/local-network.js'
import {
  BLOCK_BYTES,
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

const PEERS = process.argv
  .slice(2)
  .map(Number)
  .filter((p) => p >= 1)
const SEGMENT_BYTES = SEGMENT_BLOCKS * BLOCK_BYTES

interface NativeRun {
  wallMs: number
  millis: { plan: number; prove: number; aggregate: number; verify: number }
}

/** `prove-all --segments 1` on one segment's worth of input, timed from spawn to exit */
async function nativeBaseline(input: string, out: string): Promise<NativeRun> {
  const started = Date.now()
  const child = spawn(PROVER_PATH, ['prove-all', '--input', input, '--segments', '1', '--out', out], {
    stdio: ['ignore', 'pipe', 'inherit']
  })
  let stdout = ''
  child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text))
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  const wallMs = Date.now() - started
  if (code !== 0) throw new Error(`prove-all exited with ${code}: ${stdout}`)
  const report = JSON.parse(stdout) as { millis: NativeRun['millis']; valid: boolean }
  if (!report.valid) throw new Error('prove-all: the proof did not verify')
  return { wallMs, millis: report.millis }
}

const root = await mkdtemp(join(tmpdir(), 'proofmesh-bench-jobs-'))
const cores = availableParallelism()
const rows: Array<Array<string | number>> = []
const notes: string[] = []
try {
  const slice = join(root, 'slice')
  await writeRandomFile(slice, SEGMENT_BYTES)
  console.log(`load average before: ${await loadAverage()} (${cores} cores)`)
  const native = await nativeBaseline(slice, join(root, 'native.proof'))
  console.log(
    `native prove-all, one 2^15-block segment alone: wall ${seconds(native.wallMs)} s ` +
      `(plan ${native.millis.plan} ms, prove ${native.millis.prove} ms, aggregate ${native.millis.aggregate} ms, verify ${native.millis.verify} ms)`
  )

  for (const peers of PEERS.length > 0 ? PEERS : [1, 2, 3]) {
    const input = join(root, `input-${peers}`)
    await writeRandomFile(input, peers * SEGMENT_BYTES)
    const network = new LocalNetwork({
      nodes: peers,
      root: join(root, `net-${peers}`),
      extraArgs: ['--compute-units', '1', '--log-level', 'warn']
    })
    try {
      await network.start()
      if (peers > 1) await network.converge()
      await waitFreePeers(network, peers - 1)
      const submitter = network.nodes[0] as LocalNode
      const request = { inputMode: 'data', input, computeCapacity: peers, minimalComputeCapacity: peers }

      // A tiny job first: connections, streams and the provers warmed up; its e2e is almost pure overhead
      const tinyInput = join(root, `tiny-${peers}`)
      await writeRandomFile(tinyInput, 8 * BLOCK_BYTES)
      const tiny = await runJob(submitter, { ...request, input: tinyInput, minimalComputeCapacity: 1 })
      await waitFreePeers(network, peers - 1)

      const load = await loadAverage()
      const cpuBefore = await proverCpuSeconds(network)
      const { record, e2eMs } = await runJob(submitter, request)
      const cpuAfter = await proverCpuSeconds(network)
      const proverCpu = cpuAfter.reduce((sum, after, i) => sum + after - (cpuBefore[i] ?? 0), 0)
      const owners = new Set(record.segments.map((segment) => segment.peerId))
      if (record.segments.length !== peers || owners.size !== peers) {
        notes.push(
          `P=${peers}: ${record.segments.length} segments over ${owners.size} peers, not one per peer`
        )
      }
      const maxProve = Math.max(...record.segments.map((segment) => segment.proveMillis ?? 0))
      const critical =
        phaseMs(record, 'plan') + maxProve + phaseMs(record, 'aggregate') + phaseMs(record, 'verify')
      const overhead = e2eMs - critical
      const budget = 0.1 * critical + 500
      rows.push([
        peers,
        record.segments.length,
        seconds(e2eMs),
        seconds((record.finishedAt ?? 0) - record.createdAt),
        seconds(phaseMs(record, 'queue') + phaseMs(record, 'reserve')),
        seconds(phaseMs(record, 'plan')),
        seconds(phaseMs(record, 'contribute')),
        seconds(phaseMs(record, 'prove')),
        seconds(maxProve),
        seconds(phaseMs(record, 'aggregate')),
        seconds(phaseMs(record, 'verify')),
        seconds(critical),
        seconds(overhead),
        `${((100 * overhead) / critical).toFixed(1)}%`,
        seconds(budget),
        overhead <= budget ? 'MET' : 'MISSED',
        (e2eMs / native.wallMs).toFixed(2),
        seconds(tiny.e2eMs),
        (proverCpu / (phaseMs(record, 'prove') / 1000)).toFixed(2),
        load.split(' ')[0] ?? ''
      ])
      if (peers > 1 && peers * 2 > cores) {
        notes.push(
          `P=${peers}: ${peers} multi-threaded provers at once on ${cores} cores is CPU-bound: each segment's ` +
            `proveMillis (${record.segments.map((s) => s.proveMillis ?? 0).join(', ')} ms) vs ${native.millis.prove} ms alone`
        )
      }
    } finally {
      await network.stop()
    }
    await rm(input, { force: true })
  }
} finally {
  await rm(root, { recursive: true, force: true })
}

console.log()
printTable(
  [
    'P',
    'segs',
    'e2e_s',
    'rec_e2e_s',
    'reserve_s',
    'plan_s',
    'contrib_s',
    'prove_s',
    'maxProve_s',
    'aggr_s',
    'verify_s',
    'crit_s',
    'overhead_s',
    'ovh_%',
    'target_s',
    'verdict',
    'e2e/native',
    'tiny_e2e_s',
    'cores_used',
    'load1'
  ],
  rows
)
console.log(
  [
    '',
    'e2e = POST /v1/jobs → the client sees succeeded (50 ms polls); rec_e2e = the record’s finishedAt − createdAt',
    'crit = plan + max segment proveMillis + aggregate + verify (job record); overhead = e2e − crit; target ≤ 10% of crit + 0.5 s',
    'reserve/contrib/prove = phase times from the record (queue+reserve, inputs+hints+contributions, challenge → all proved)',
    'e2e/native = e2e / the native prove-all of one segment alone; tiny_e2e = a warm-up job of 8 blocks on the same network',
    `cores_used = CPU seconds of all provers (prove children included) during the job / prove phase; this machine has ${cores}`,
    ...notes
  ].join('\n')
)
