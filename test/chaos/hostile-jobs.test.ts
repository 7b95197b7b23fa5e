/**
 * The hostile suite, job half: submitters that abuse a worker, and workers that lie to a submitter. Each attack
 * runs against real daemon processes on 127.0.0.1, from a hand-written client speaking the job protocol
 * (hostile/submitter.ts, hostile/worker.ts) or from a real daemon whose prover lies (hostile/lying-prover.ts).
 * Each test checks that an honest job still proves and verifies, prints its time next to a clean job's, and
 * checks that nothing stays held once the attack is over (units, leases, session folders). Deadlines are short
 * by config so that the suite runs in a few minutes; `HOSTILE=full` (npm run test:chaos) floods more.
 */
import '../../src/polyfill.js'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, before, describe, it } from 'node:test'
import { multiaddr } from '@multiformats/multiaddr'
import { FailCode } from '../../protocols/job/pb/job.js'
import type { JobRecord } from '../../src/jobs-model/types.js'
import type { ProofmeshHost } from '../../src/net/host.js'
import type { LocalNetwork, LocalNode } from '../../src/testnet/local-network.js'
import { PROVER_PATH, rssMiB, submitJob, waitJob } from '../bench/job-helpers.js'
import {
  figures,
  FULL,
  held,
  type HostileNetwork,
  jobEvents,
  joinNetwork,
  printTimeline,
  nothingHeld,
  type ProvedJob,
  provedJob,
  report,
  startNetwork,
  tcpAddress
} from './hostile/harness.js'
import { attackerHost } from './hostile/peer.js'
import { assignFrame, HostileLease, segmentSpecs } from './hostile/submitter.js'
import { HostileWorker, type WorkerAttack } from './hostile/worker.js'

const JOB_BYTES = 400_000
/** Bound on a wait for what must happen; the figures printed are the result */
const BOUND_MS = 120_000

const LYING_PROVER = fileURLToPath(new URL('./hostile/lying-prover.js', import.meta.url))

/** A TCP listener that counts the connections it gets: where a worker must never be made to dial */
async function countingListener(): Promise<{
  port: number
  connections: () => number
  close: () => Promise<void>
}> {
  let connections = 0
  const server: Server = createServer((socket) => {
    connections++
    socket.destroy()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('the listener has no TCP port')
  return {
    port: address.port,
    connections: () => connections,
    close: async () => new Promise((resolve) => server.close(() => resolve()))
  }
}

function segmentsOf(record: JobRecord, peerId: string): number {
  return record.segments.filter((segment) => segment.peerId === peerId).length
}

describe('hostile: submitters against a worker', () => {
  /** The victim's units: the per-submitter cap (half) leaves two for others */
  const VICTIM_UNITS = 4
  /** The victim's first-Assign deadline, short for the test (5 min by default) */
  const FIRST_ASSIGN_MS = 2_000
  let net: HostileNetwork
  let configs: string
  let submitter: LocalNode
  let victim: LocalNode
  let target: string
  let clean: ProvedJob
  let attacker: ProofmeshHost
  let rssBefore: number

  before(async () => {
    configs = await mkdtemp(join(tmpdir(), 'proofmesh-hostile-configs-'))
    const victimConfig = join(configs, 'victim.toml')
    // the default cap (half this peer's units) against a stranger, whatever the local network sets
    await writeFile(
      victimConfig,
      `[security]\nmax_units_per_submitter = 0\nfirst_assign_timeout = "${FIRST_ASSIGN_MS}ms"\n`
    )
    net = await startNetwork('submitters', {
      nodes: 2,
      nodeArgs: (index) =>
        index === 1
          ? ['--compute-units', String(VICTIM_UNITS), '--config', victimConfig]
          : ['--compute-units', '1']
    })
    submitter = net.network.nodes[0] as LocalNode
    victim = net.network.nodes[1] as LocalNode
    target = tcpAddress(victim).multiaddr
    clean = await provedJob(submitter, JOB_BYTES, 3)
    assert.ok(segmentsOf(clean.record, victim.status.peerId) > 0, 'the victim works on the clean job')
    attacker = await attackerHost()
    rssBefore = (await figures(victim)).rssMiB
    await report('a clean job, submitter 1 unit + the victim 2 of its 4', {
      'job ms': clean.ms,
      phases: clean.phases,
      'victim RSS MiB': rssBefore
    })
  })

  after(async () => {
    await attacker?.stop()
    await net?.stop()
    await rm(configs, { recursive: true, force: true })
  })

  it('gives back the units of a lease that never sees an Assign, keep-alives or not', async () => {
    const lease = await HostileLease.open(attacker, target, { units: 2 ** 32 - 1 })
    try {
      assert.equal(lease.units, VICTIM_UNITS / 2, 'a Reserve for 2^32-1 units gets the per-submitter cap')
      lease.keepAlive()
      const second = await HostileLease.open(attacker, target, { units: 1 })
      assert.equal(second.reply.refused?.message.includes('max_units_per_submitter'), true, 'no more units')
      assert.equal((await held(victim)).units, VICTIM_UNITS / 2)
      const endedMs = await lease.waitClosed(BOUND_MS)
      const freedMs = await nothingHeld(victim, BOUND_MS)
      await report('a lease reserved for 2^32-1 units, kept alive, never assigned', {
        'units granted': lease.units,
        'ended after ms': endedMs,
        'first_assign_timeout ms': FIRST_ASSIGN_MS,
        'all freed after ms': endedMs + freedMs,
        'keep-alives sent to it': lease.keepAlivesReceived
      })
      assert.ok(
        endedMs >= FIRST_ASSIGN_MS * 0.9,
        `the lease ended at its deadline, not before (${endedMs} ms)`
      )
    } finally {
      lease.stop()
    }
  })

  it('leaves an honest submitter its units while one submitter hoards its cap', async () => {
    const hoard = await HostileLease.open(attacker, target, { units: 2 ** 32 - 1, inputSize: 1_000_000 })
    try {
      // one Assign, slices never sent: past the first-Assign deadline, held by keep-alives alone
      await hoard.send(assignFrame(1_000_000, segmentSpecs(0, 1)))
      hoard.keepAlive()
      await new Promise((resolve) => setTimeout(resolve, FIRST_ASSIGN_MS * 1.5))
      assert.equal(hoard.closed, undefined, 'the hoarding lease holds')
      const job = await provedJob(submitter, JOB_BYTES, 3)
      const victimSegments = segmentsOf(job.record, victim.status.peerId)
      await report('an honest job while one submitter hoards its cap of the victim', {
        'hoarded units': hoard.units,
        'job ms': job.ms,
        'clean job ms': clean.ms,
        'victim segments': victimSegments
      })
      assert.ok(victimSegments > 0, 'the victim still worked on the honest job')
    } finally {
      hoard.stop()
    }
    await nothingHeld(victim, BOUND_MS)
  })

  it('ends a session flooded with Assigns at its totals and gives its memory back', async () => {
    const leases = FULL ? 20 : 2
    // above 2^31: such sizes reached the worker as 0 bytes before src/net/uint64-wire.ts
    const inputSize = 4_000_000_000
    let peak = 0
    const sampler = setInterval(() => {
      void rssMiB(victim.process.pid ?? -1).then((rss) => {
        peak = Math.max(peak, rss)
      })
    }, 100)
    const before = (await figures(victim)).rssMiB
    let endedAfter = 0
    try {
      for (let round = 0; round < leases; round++) {
        const lease = await HostileLease.open(attacker, target, { units: 1, inputSize })
        try {
          lease.keepAlive()
          // 12,000 segments a frame (just under the 1 MiB frame cap), each Assign after a Forget of the last: the
          // third passes the 32,768 segments a session may be assigned over its life
          const indexes = Array.from({ length: 12_000 }, (_, index) => index)
          for (let i = 0; i < 3 && lease.closed === undefined; i++) {
            if (i > 0) await lease.send({ forget: { segments: indexes } }).catch(() => undefined)
            await lease.send(assignFrame(inputSize, segmentSpecs(0, indexes.length))).catch(() => undefined)
          }
          await lease.waitClosed(BOUND_MS)
          const failure = lease.failures.find((failed) => failed.code === FailCode.PROTOCOL)
          assert.ok(failure !== undefined, `the flood was named: ${JSON.stringify(lease.failures)}`)
          assert.match(failure.message, /segments assigned in one session/)
          endedAfter = lease.received.filter((frame) => frame.failed === undefined).length
        } finally {
          lease.stop()
        }
      }
      await nothingHeld(victim, BOUND_MS)
    } finally {
      clearInterval(sampler)
    }
    const job = await provedJob(submitter, JOB_BYTES, 3)
    const afterJob = (await figures(victim)).rssMiB
    // the +64 MiB target is a figure here, not an assertion (a worker's RSS under load is no test of anything)
    await report(`Assign floods of 3 x 12,000 segments (each after a Forget) on ${leases} leases`, {
      'victim RSS at the start MiB': rssBefore,
      'RSS before the flood MiB': before,
      'peak MiB': peak,
      'peak growth MiB (target +64)': peak - before,
      'after the job MiB': afterJob,
      'frames other than Failed': endedAfter,
      'job ms': job.ms,
      'clean job ms': clean.ms
    })
  })

  it('fails at once a job that needs more units than the peers let one submitter hold', async () => {
    // the network has 1 + 4 units; the victim lets a stranger hold 2 of its 4, so 3 at most can ever be leased
    const input = join(submitter.dataDir, 'hostile-over-the-caps.bin')
    await writeFile(input, randomBytes(JOB_BYTES))
    const started = Date.now()
    const submitted = await submitJob(submitter, {
      inputMode: 'data',
      input,
      computeCapacity: 4,
      minimalComputeCapacity: 4,
      timeoutMs: '5m'
    })
    const { record, seenAt } = await waitJob(submitter, submitted.id, {
      timeoutMs: BOUND_MS,
      done: (job) => job.state === 'failed'
    })
    const requeued = (await jobEvents(submitter, record.id)).filter(
      (event) => event.kind === 'state' && event.message?.startsWith('back in the queue') === true
    )
    await report('a job over what the peers let one submitter hold', {
      'failed after ms': seenAt - started,
      'times back in the queue': requeued.length,
      error: `${record.error?.code} ${record.error?.message}`
    })
    assert.equal(record.error?.code, 'CAPACITY')
    assert.match(record.error?.message ?? '', /network has 5 .*let this submitter hold 3 of them at once/)
    // the clean job's grants stated the caps: this one fails before any lease
    assert.equal(requeued.length, 0, `back in the queue ${requeued.length} times`)
    await nothingHeld(victim, BOUND_MS)
  })

  it('refuses Challenge, AggregateRole and FetchProof before their phase, and dials nobody', async () => {
    const listener = await countingListener()
    const lease = await HostileLease.open(attacker, target, { units: 1, inputSize: 1_000_000 })
    try {
      lease.keepAlive()
      const fetch = {
        segment: 0,
        peerId: attacker.peerId.toString(),
        addrs: [
          new TextEncoder().encode('not a multiaddr'),
          // an address naming the holder: allowed, so only the phase rule keeps the worker from dialling it
          multiaddr(`/ip4/127.0.0.1/tcp/${listener.port}/p2p/${attacker.peerId.toString()}`).bytes
        ],
        size: 1_000n,
        sha256: new Uint8Array(32)
      }
      const contributions = [new Uint8Array(32)]
      const steps: Array<{ what: string; send: () => Promise<void> }> = [
        {
          what: 'Challenge before Assign',
          send: async () => lease.send({ challenge: { challenge: new Uint8Array(32) } })
        },
        {
          what: 'AggregateRole before Assign',
          send: async () => lease.send({ aggregate: { contributions } })
        },
        { what: 'FetchProof before Assign', send: async () => lease.send({ fetch }) }
      ]
      for (const [i, step] of steps.entries()) {
        await step.send()
        await lease.waitFor(`Failed for ${step.what}`, BOUND_MS, () => lease.failures.length > i)
      }
      // with work assigned (never delivered) and the challenge in: still no aggregation before a segment is proved
      await lease.send(assignFrame(1_000_000, segmentSpecs(0, 1)))
      await lease.send({ challenge: { challenge: new Uint8Array(32) } })
      await lease.send({ aggregate: { contributions } })
      await lease.waitFor(
        'Failed for AggregateRole before a proof',
        BOUND_MS,
        () => lease.failures.length > 3
      )
      await lease.send({ fetch })
      await lease.waitFor(
        'Failed for FetchProof before AggregateRole',
        BOUND_MS,
        () => lease.failures.length > 4
      )
      const failures = lease.failures
      await report('phase frames out of order', {
        'Failed frames': failures.length,
        codes: failures.map((failed) => FailCode[failed.code]).join(' '),
        'dials to the listed address': listener.connections()
      })
      assert.deepEqual(
        failures.map((failed) => failed.code),
        Array.from({ length: 5 }, () => FailCode.PROTOCOL),
        failures.map((failed) => failed.message).join('; ')
      )
      assert.equal(listener.connections(), 0, 'the worker dialled nobody')
      for (const failed of failures)
        assert.ok(!failed.message.includes(victim.dataDir), `a refusal names no path: ${failed.message}`)
    } finally {
      lease.stop()
      await listener.close()
    }
    await nothingHeld(victim, BOUND_MS)
    const status = await figures(victim)
    await report('the victim after every submitter attack', {
      'RSS MiB': status.rssMiB,
      'RSS at the start MiB': rssBefore,
      'peer table': status.knownPeers,
      connections: status.connectedPeers
    })
    assert.equal(status.knownPeers, 1, 'the victim lists its one honest peer; no attacker is listed')
  })
})

describe('hostile: workers against a submitter', () => {
  /** The submitter's detection deadlines, short for the test (defaults: 5 min progress, 30 s transfer idle) */
  const PROGRESS_MS = 8_000
  const TRANSFER_IDLE_MS = 1_000
  /** The window of the transfer rate floor (default 30 s at 64 KiB/s) */
  const TRANSFER_RATE_WINDOW_MS = 2_000
  /** The trickler's byte every this many ms: inside the idle timeout, so that only the rate floor stops it */
  const TRICKLE_MS = TRANSFER_IDLE_MS / 2
  // jobs.max_retries stays at its default (2): attackers advertise the most units and are leased first, also as
  // replacements, but a failure pinned on a peer spends no segment's retries (refusesSegment)
  /** Units an attacker advertises: more than an honest peer's 2, so that it is asked first */
  const ATTACKER_UNITS = 4
  /** The job asks for 4 units of the 6 the honest daemons have */
  const JOB_UNITS = 4
  let net: HostileNetwork
  let configs: string
  let submitter: LocalNode
  let clean: ProvedJob
  const liars: LocalNetwork[] = []

  before(async () => {
    configs = await mkdtemp(join(tmpdir(), 'proofmesh-hostile-configs-'))
    const submitterConfig = join(configs, 'submitter.toml')
    await writeFile(
      submitterConfig,
      `[jobs]\nprogress_timeout = "${PROGRESS_MS}ms"\ntransfer_idle_timeout = "${TRANSFER_IDLE_MS}ms"\ntransfer_rate_window = "${TRANSFER_RATE_WINDOW_MS}ms"\n`
    )
    net = await startNetwork('workers', {
      nodes: 3,
      nodeArgs: (index) => ['--compute-units', '2', ...(index === 0 ? ['--config', submitterConfig] : [])]
    })
    submitter = net.network.nodes[0] as LocalNode
    clean = await provedJob(submitter, JOB_BYTES, JOB_UNITS)
    await report('a clean job on 3 honest daemons', { 'job ms': clean.ms, phases: clean.phases })
  })

  after(async () => {
    for (const liar of liars) {
      await liar.stop()
      await liar.remove()
    }
    await net?.stop()
    await rm(configs, { recursive: true, force: true })
  })

  async function listed(peerIds: string[]): Promise<void> {
    const until = Date.now() + BOUND_MS
    for (;;) {
      const rows = await net.network.peers(submitter)
      const missing = peerIds.filter(
        (id) => !rows.some((row) => row.peerId === id && row.capacity.unitsFree > 0)
      )
      if (missing.length === 0) return
      if (Date.now() > until)
        throw new Error(`the submitter never listed ${missing.join(', ')} with free units`)
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
  }

  async function hostileWorker(attack: WorkerAttack): Promise<HostileWorker> {
    return HostileWorker.start({
      target: tcpAddress(submitter).multiaddr,
      attack,
      units: ATTACKER_UNITS,
      intervalMs: 1_000,
      trickleMs: TRICKLE_MS
    })
  }

  /** A real daemon whose prover lies in every contribution, with more units than the honest ones */
  async function liarDaemon(name: string): Promise<LocalNode> {
    const { joined, network } = await joinNetwork(submitter, net.root, name, BOUND_MS, [
      '--compute-units',
      String(ATTACKER_UNITS),
      ...['--prover-command', process.execPath, '--prover-command', LYING_PROVER],
      ...['--prover-command', PROVER_PATH, '--prover-command', 'serve']
    ])
    liars.push(network)
    return joined.node
  }

  /** Nothing held on any honest daemon once the job is over */
  async function honestHoldNothing(): Promise<void> {
    for (const node of net.network.nodes) await nothingHeld(node, BOUND_MS)
  }

  async function failuresOf(job: ProvedJob, peerIds: string[], withMessage = false): Promise<string[]> {
    const events = await jobEvents(submitter, job.record.id)
    return events.flatMap((event) =>
      event.kind === 'peer-failed' && peerIds.includes(event.peer)
        ? [withMessage ? `${event.failure.code} ${event.failure.message}` : event.failure.code]
        : []
    )
  }

  /**
   * Runs an honest job while one hostile worker is listed, then `check` with what it saw and the attacker's
   * failures in the job's events; afterwards no honest daemon holds anything
   */
  async function underWorkerAttack(
    attack: WorkerAttack,
    check: (worker: HostileWorker, job: ProvedJob, failures: string[]) => Promise<void>
  ): Promise<void> {
    const worker = await hostileWorker(attack)
    try {
      await listed([worker.peerId])
      const job = await provedJob(submitter, JOB_BYTES, JOB_UNITS)
      await check(worker, job, await failuresOf(job, [worker.peerId]))
    } finally {
      await worker.stop()
    }
    await honestHoldNothing()
  }

  it('proves while a worker advertises units and refuses every Reserve, asking it only a few times', async () => {
    await underWorkerAttack('refuse', async (worker, job) => {
      await report('a worker that refuses every Reserve', {
        'job ms': job.ms,
        'clean job ms': clean.ms,
        'Reserves it got': worker.counts.reserves,
        'submitter RSS MiB': (await figures(submitter)).rssMiB
      })
      assert.ok(worker.counts.reserves >= 1, 'it was asked')
      assert.ok(worker.counts.reserves <= 10, `asked ${worker.counts.reserves} times: refusals back off`)
    })
  })

  it('moves the segments of a worker that takes them and goes silent, at the progress deadline', async () => {
    await underWorkerAttack('silent', async (worker, job, failures) => {
      await report('a worker that takes segments and goes silent (keep-alives only)', {
        'job ms': job.ms,
        'clean job ms': clean.ms,
        'progress_timeout ms': PROGRESS_MS,
        'segments it took': worker.counts.segments,
        'its failure': failures.join(' ')
      })
      assert.ok(worker.counts.segments > 0, 'it was given segments')
      assert.deepEqual(failures, ['TIMEOUT'], 'it failed at the progress deadline')
    })
  })

  it('drops an aggregator that trickles its final proof inside the idle timeout, and proves on', async () => {
    await underWorkerAttack('trickle', async (worker, job, failures) => {
      await report(`an aggregator that serves its final proof 1 byte every ${TRICKLE_MS} ms`, {
        'job ms': job.ms,
        'clean job ms': clean.ms,
        'transfer_idle_timeout ms': TRANSFER_IDLE_MS,
        'transfer_rate_window ms': TRANSFER_RATE_WINDOW_MS,
        'final proof requests': worker.counts.finalRequests,
        'bytes trickled': worker.counts.bytesTrickled,
        'its failures': failures.join(' ')
      })
      assert.ok(worker.counts.finalRequests >= 1, 'it was made aggregator and its final proof asked for')
      assert.ok(failures.length >= 1, 'it was failed')
      const named = await failuresOf(job, [worker.peerId], true)
      assert.ok(
        named.some((failure) => failure.includes('jobs.transfer_min_rate')),
        `failed by the rate floor: ${named.join('; ')}`
      )
      assert.notEqual(job.record.aggregator, worker.peerId)
    })
  })

  it('settles a lie in a contribution by a third peer, blames the liar and proves on', async () => {
    const liar = await liarDaemon('liar')
    await listed([liar.status.peerId])
    const job = await provedJob(submitter, JOB_BYTES, JOB_UNITS)
    const failures = await failuresOf(job, [liar.status.peerId])
    await report('a real daemon whose prover lies in every contribution', {
      'job ms': job.ms,
      'clean job ms': clean.ms,
      restarts: job.record.restarts ?? 0,
      'liar segments in the final proof': segmentsOf(job.record, liar.status.peerId),
      'its failures': failures.join(' ')
    })
    assert.ok(failures.length >= 1, 'the liar was failed')
    assert.equal(job.record.restarts ?? 0, 0, 'its lie was caught before the challenge: no restart')
    assert.equal(segmentsOf(job.record, liar.status.peerId), 0, 'no segment of the proof is the liar’s')
    await nothingHeld(liar, BOUND_MS)
    await honestHoldNothing()
  })

  it('proves with one attacker of each kind among the peers, within 2x a clean job plus the deadlines', async () => {
    const kinds = ['refuse', 'silent', 'trickle'] as const
    const workers = await Promise.all(kinds.map(async (attack) => hostileWorker(attack)))
    try {
      const liar = await liarDaemon('liar-2')
      await listed([...workers.map((worker) => worker.peerId), liar.status.peerId])
      const rssBefore = (await figures(submitter)).rssMiB
      const job = await provedJob(submitter, JOB_BYTES, JOB_UNITS)
      const attackers = [...workers.map((worker) => worker.peerId), liar.status.peerId]
      const failures = await failuresOf(job, attackers)
      const bound = 2 * clean.ms + PROGRESS_MS + TRANSFER_RATE_WINDOW_MS
      const status = await figures(submitter)
      await report(
        'one attacker of each kind (refuse, silent, trickle, lying prover) beside 3 honest peers',
        {
          'job ms': job.ms,
          'clean job ms': clean.ms,
          '2x clean + deadlines ms': bound,
          'within it': job.ms <= bound ? 'yes' : 'no',
          restarts: job.record.restarts ?? 0,
          'attacker failures': failures.join(' '),
          'submitter RSS MiB': status.rssMiB,
          'RSS before MiB': rssBefore,
          'peer table': status.knownPeers
        }
      )
      const names = new Map([
        ...workers.map((worker, i): [string, string] => [worker.peerId, kinds[i] as string]),
        [liar.status.peerId, 'liar'],
        ...net.network.nodes.map((node, i): [string, string] => [node.status.peerId, `honest-${i}`])
      ])
      await printTimeline(submitter, job.record.id, names)
      for (const attacker of attackers)
        assert.equal(segmentsOf(job.record, attacker), 0, 'no segment of the proof is an attacker’s')
      assert.equal(job.record.restarts ?? 0, 0, 'the lie was caught before the challenge: no restart')
      await nothingHeld(liar, BOUND_MS)
    } finally {
      await Promise.all(workers.map(async (worker) => worker.stop()))
    }
    await honestHoldNothing()
  })
})
