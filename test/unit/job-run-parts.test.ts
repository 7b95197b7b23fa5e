import '../../src/polyfill.js'
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { PeerFrame, SubmitterFrame } from '../../protocols/job/pb/job.js'
import { JobFailure } from '../../src/job/errors.js'
import { RUN_UPCALLS } from '../../src/job/run.js'
import type { Link } from '../../src/job/link.js'
import { aggregatorCandidate } from '../../src/job/run/aggregation.js'
import { settleBackup } from '../../src/job/run/backups.js'
import { askWaitingReferees, openDispute, settleDispute } from '../../src/job/run/disputes.js'
import { leaseSpare } from '../../src/job/run/leases.js'
import { moveSegmentsOf } from '../../src/job/run/recovery.js'
import { JobRunState } from '../../src/job/run/state.js'
import type { JobEvent, NewJobEvent, PeerFailure, SegmentRecord } from '../../src/jobs-model/types.js'
import { createLogger } from '../../src/log/index.js'
import { type FrameDuplex, memoryDuplexPair } from '../../src/net/frame-duplex.js'
import { jobRecord, jobRunSettings, PROGRAM } from '../helpers/job-harness.js'

// The parts of a job run alone, on a real JobRunState and real links over in-memory frame pairs; the whole run
// and its failure paths are test/unit/job-run.test.ts. Nothing here reaches the prover or the side transfers
// (path-mode input, hints already sent): both fail every call, so a part that reached them would fail its test.

// the run's own timers are unref'd (a daemon's never keep it alive): this one keeps the test's process up
let alive: NodeJS.Timeout
before(() => {
  alive = setInterval(() => undefined, 1_000)
})
after(() => clearInterval(alive))

const logger = createLogger({ level: 'silent' })

const unreachable = async (): Promise<never> => {
  throw new Error('not reachable in this test')
}

/** What a peer reports when its prover refuses `index` (a failure that may follow the segment itself) */
const proverRefused = (index: number): PeerFailure => ({
  code: 'PROVER',
  message: 'INVALID_SEGMENT',
  segment: index
})

function segment(index: number, peerId: string, state: SegmentRecord['state'] = 'assigned'): SegmentRecord {
  return {
    index,
    startBlock: index * 4,
    blockCount: 4,
    inputOffset: index * 1024,
    inputLength: 1024,
    inputSha256: '00'.repeat(32),
    peerId,
    state
  }
}

interface Setup {
  run: JobRunState
  events: JobEvent[]
  /** The peer end of each link's job stream: what the submitter sent it */
  peerEnds: Map<string, FrameDuplex<SubmitterFrame, PeerFrame>>
  /** A link of the job; `local`: this daemon's own (its prover trusted) */
  link: (peerId: string, segments: number[], local?: boolean) => Link
}

function setup(segments: SegmentRecord[], maxRetries = 1): Setup {
  const record = jobRecord('job-parts', {
    inputMode: 'path',
    input: 'input.bin',
    computeCapacity: 4,
    inputSize: segments.length * 1024
  })
  record.state = 'proving'
  record.segments = segments
  const events: JobEvent[] = []
  const run = new JobRunState(
    {
      record,
      save: () => undefined,
      event: (event: NewJobEvent) =>
        events.push({ ...event, jobId: record.id, seq: events.length + 1, at: Date.now() }),
      prover: {
        info: { backend: 'npp', name: 'none', version: '0', programs: [], gpus: [] },
        plan: unreachable,
        verify: unreachable
      },
      transport: {
        openJob: unreachable,
        pushSlice: unreachable,
        hintsSink: unreachable,
        fetchFinalProof: unreachable
      },
      candidates: () => [],
      penalise: () => undefined,
      refused: () => undefined,
      granted: () => undefined,
      capReached: () => false,
      settings: jobRunSettings('/nonexistent', record.id, { maxRetries }),
      logger,
      signal: AbortSignal.timeout(60_000)
    },
    RUN_UPCALLS
  )
  const peerEnds = new Map<string, FrameDuplex<SubmitterFrame, PeerFrame>>()
  const link = (peerId: string, owned: number[], local = false): Link => {
    const [submitterEnd, peerEnd] = memoryDuplexPair<PeerFrame, SubmitterFrame>()
    peerEnds.set(peerId, peerEnd)
    const made: Link = {
      peer: { peerId, local, addrs: [], programs: [PROGRAM.id], unitsFree: 4, unitsTotal: 4 },
      record: { peerId, local, units: 4, leaseId: `lease-${peerId}`, state: 'assigned', bytesSent: 0 },
      channel: submitterEnd,
      segments: owned,
      proved: new Set(),
      closed: false,
      hasHints: true,
      hasChallenge: false,
      forgotten: new Set(),
      contributed: new Set(),
      progressAt: Date.now()
    }
    run.links.push(made)
    return made
  }
  return { run, events, peerEnds, link }
}

/** The next frame a peer was sent, or a failure that says none came */
async function nextFrame(end: FrameDuplex<SubmitterFrame, PeerFrame> | undefined): Promise<SubmitterFrame> {
  assert.ok(end !== undefined, 'no such peer')
  const frame = await end.read(AbortSignal.timeout(30_000))
  assert.ok(frame !== undefined, 'the job stream ended without a frame')
  return frame
}

describe('JobRunState.until', () => {
  it('returns once the condition holds after a notify', async () => {
    const { run } = setup([])
    let ready = false
    const waiting = run.until(() => ready, 30_000, 'the test condition')
    ready = true
    run.notify()
    await waiting
  })

  it('throws the failure a part set, at the next notify', async () => {
    const { run } = setup([])
    const waiting = run.until(() => false, 30_000, 'the test condition')
    run.failure = new JobFailure('PEER_FAILED', 'set by a part')
    run.notify()
    await assert.rejects(waiting, /set by a part/)
  })

  it('fails the job with TIMEOUT, naming the wait, when its time is up', async () => {
    const { run } = setup([])
    await assert.rejects(
      run.until(() => false, 20, 'the test condition'),
      (err: unknown) =>
        err instanceof JobFailure && err.code === 'TIMEOUT' && /the test condition/.test(err.message)
    )
  })
})

describe('settleBackup', () => {
  it('gives the segment to the first proof and tells the other copy to forget it', async () => {
    const { run, events, peerEnds, link } = setup([{ ...segment(0, 'slow'), backupPeerId: 'backup' }])
    const slow = link('slow', [0])
    const backup = link('backup', [0])
    settleBackup(run, run.record.segments[0] as SegmentRecord, backup)
    assert.equal(run.record.segments[0]?.peerId, 'backup')
    assert.equal(run.record.segments[0]?.backupPeerId, undefined)
    assert.deepEqual(slow.segments, [])
    assert.ok(slow.forgotten.has(0))
    assert.deepEqual((await nextFrame(peerEnds.get('slow'))).forget?.segments, [0])
    const won = events.find((event) => event.kind === 'backup-won')
    assert.ok(won !== undefined && 'loser' in won && won.loser === 'slow', JSON.stringify(events))
  })
})

describe('settleDispute', () => {
  it('leaves the segment with its owner when the liar lost it meanwhile and the owner contributed the truth', async () => {
    // a checked the liar's segment and disagreed; before the referee answered, the liar failed (another of its
    // lies) and a took the segment over, contributing what a had claimed
    const { run, peerEnds, link } = setup([{ ...segment(0, 'a'), contribution: 'truth', contributor: 'a' }])
    const a = link('a', [0])
    const referee = link('referee', [])
    run.record.state = 'contributing'
    const dispute = {
      referee,
      since: Date.now(),
      claimant: a,
      contribution: 'truth',
      claims: new Map([
        ['liar', 'lie'],
        ['a', 'truth']
      ])
    }
    run.disputes.set(0, dispute)
    settleDispute(run, run.record.segments[0] as SegmentRecord, dispute, referee, 'truth')
    assert.equal(run.record.segments[0]?.peerId, 'a')
    assert.deepEqual(a.segments, [0])
    assert.equal(a.closed, false)
    assert.ok(referee.forgotten.has(0))
    assert.deepEqual((await nextFrame(peerEnds.get('referee'))).forget?.segments, [0])
    assert.ok(run.vouched.has('a'))
  })
})

describe('settleDispute after the challenge', () => {
  /**
   * The liar owned segment 0 (a recorded its contribution first); the referee agrees with a and takes it over.
   * `aggregator`: who aggregates, the referee itself or another peer with segment 1.
   */
  function liarShownWrong(aggregator: 'referee' | 'other'): Setup & { referee: Link } {
    const setUp = setup([
      { ...segment(0, 'liar', 'proved'), contribution: 'truth', contributor: 'a' },
      { ...segment(1, 'agg', 'proved'), contribution: 'x', contributor: 'agg' }
    ])
    const { run, link } = setUp
    run.record.challenge = 'ab'.repeat(32)
    const claimant = link('liar', [0])
    const referee = link('referee', [])
    run.aggregator = aggregator === 'referee' ? referee : link('agg', [1])
    const claims = new Map([
      ['a', 'truth'],
      ['liar', 'lie']
    ])
    const dispute = { referee, claimant, contribution: 'lie', claims }
    run.disputes.set(0, dispute)
    settleDispute(run, run.record.segments[0] as SegmentRecord, dispute, referee, 'truth')
    return { ...setUp, referee }
  }

  it("gives a liar's segment to the referee and withdraws the liar's proof of it from the aggregator", async () => {
    const { run, peerEnds } = liarShownWrong('other')
    assert.equal(run.record.segments[0]?.peerId, 'referee')
    assert.equal(run.record.segments[0]?.state, 'contributed')
    assert.deepEqual((await nextFrame(peerEnds.get('agg'))).forget?.segments, [0])
    assert.ok(run.fetches.withdrawn.has(0))
  })

  it('sends no Forget to an aggregator that is the referee taking the segment over: it proves it', async () => {
    const { run, peerEnds, referee } = liarShownWrong('referee')
    assert.deepEqual(referee.segments, [0])
    assert.ok(!referee.forgotten.has(0))
    assert.ok(run.fetches.withdrawn.has(0))
    // nothing was sent to it: a Forget would be in its in-memory stream already (send writes at once)
    const next = await peerEnds
      .get('referee')
      ?.read(AbortSignal.timeout(100))
      .catch(() => undefined)
    assert.equal(next, undefined)
  })
})

describe('a final proof announced before every segment is proved', () => {
  const final = { digest: new Uint8Array(32), size: 83n, sha256: new Uint8Array(32), segments: 2 }

  it('is waited past when only segments withdrawn from the aggregator are unproved (they moved while it ran)', () => {
    const { run, link } = setup([segment(0, 'new-owner', 'assigned'), segment(1, 'agg', 'proved')])
    run.record.challenge = 'ab'.repeat(32)
    link('new-owner', [0])
    const aggregator = link('agg', [1])
    run.aggregator = aggregator
    run.fetches.withdrawn.add(0)
    run.onFrame(aggregator, { final })
    assert.equal(aggregator.closed, false)
    assert.equal(run.final, undefined)
  })

  it('fails the aggregator when a segment it was never told to drop is unproved', () => {
    const { run, link } = setup([segment(0, 'owner', 'assigned'), segment(1, 'agg', 'proved')])
    run.record.challenge = 'ab'.repeat(32)
    link('owner', [0])
    const aggregator = link('agg', [1])
    run.aggregator = aggregator
    run.onFrame(aggregator, { final })
    assert.equal(aggregator.closed, true)
    assert.equal(aggregator.record.failure?.code, 'PROTOCOL')
  })
})

describe('openDispute before the challenge', () => {
  it('waits for a peer of the job that still owes a contribution, and asks it once it delivered', async () => {
    const { run, peerEnds, link } = setup([
      { ...segment(0, 'owner', 'contributed'), contribution: 'truth', contributor: 'owner' },
      segment(1, 'slow')
    ])
    run.record.state = 'contributing'
    const owner = link('owner', [0])
    owner.contributed.add(0)
    const checker = link('checker', [])
    checker.contributed.add(0)
    const slow = link('slow', [1])
    openDispute(run, run.record.segments[0] as SegmentRecord, checker, 'lie')
    assert.equal(run.disputes.get(0)?.referee, undefined, 'no referee while slow may still deliver')
    assert.equal(run.leasingSpares, 0, 'nothing leased from the table meanwhile')
    slow.contributed.add(1)
    askWaitingReferees(run)
    assert.equal(run.disputes.get(0)?.referee, slow)
    assert.deepEqual(
      (await nextFrame(peerEnds.get('slow'))).assign?.segments.map((spec) => spec.index),
      [0]
    )
  })
})

describe('moveSegmentsOf', () => {
  it('hands a segment with a live backup copy to the backup, counting no move', () => {
    const { run, link } = setup([{ ...segment(0, 'lost'), backupPeerId: 'backup' }])
    const lost = link('lost', [0])
    link('backup', [0])
    lost.closed = true
    moveSegmentsOf(run, lost, 'peer lost (a test)')
    assert.equal(run.record.segments[0]?.peerId, 'backup')
    assert.equal(run.refusals.size, 0)
    assert.equal(run.failure, undefined)
  })

  it('records a refusal of the segment the failure was about only, and assigns both to a replacement', async () => {
    const { run, peerEnds, link } = setup([segment(0, 'refuser'), segment(1, 'refuser'), segment(2, 'other')])
    const refuser = link('refuser', [0, 1])
    const other = link('other', [2])
    refuser.closed = true
    moveSegmentsOf(run, refuser, 'peer refuser (a test)', 1, proverRefused(1))
    assert.deepEqual([...(run.refusals.get(1)?.remote ?? [])], ['refuser'])
    assert.equal(run.refusals.has(0), false)
    await run.recovery
    assert.equal(run.failure, undefined)
    assert.deepEqual(
      run.record.segments.map((moved) => moved.peerId),
      ['other', 'other', 'other']
    )
    assert.deepEqual([...other.segments].sort(), [0, 1, 2])
    const assign = (await nextFrame(peerEnds.get('other'))).assign
    assert.deepEqual(
      assign?.segments.map((spec) => spec.index),
      [0, 1]
    )
  })

  it('fails the job once more than max_retries distinct peers refused a segment, this daemon not in the job', () => {
    const { run, link } = setup([segment(0, 'first')], 1)
    const first = link('first', [0])
    first.closed = true
    run.refusals.set(0, { remote: new Set(['earlier']), local: false })
    moveSegmentsOf(run, first, 'peer first (a test)', 0, proverRefused(0))
    assert.ok(run.failure instanceof JobFailure, String(run.failure))
    assert.equal(run.failure.code, 'PEER_FAILED')
    assert.match(run.failure.message, /segment 0 failed on 2 peers/)
  })

  it('gives this daemon a segment more than max_retries remote peers refused, and fails nothing', async () => {
    const { run, peerEnds, link } = setup([segment(0, 'third'), segment(1, 'self')], 2)
    const third = link('third', [0])
    const self = link('self', [1], true)
    third.closed = true
    run.refusals.set(0, { remote: new Set(['first', 'second']), local: false })
    moveSegmentsOf(run, third, 'peer third (a test)', 0, proverRefused(0))
    await run.recovery
    assert.equal(run.failure, undefined, String(run.failure))
    assert.equal(run.record.segments[0]?.peerId, 'self')
    assert.deepEqual([...self.segments].sort(), [0, 1])
    assert.deepEqual(
      (await nextFrame(peerEnds.get('self'))).assign?.segments.map((spec) => spec.index),
      [0]
    )
  })

  it("gives a segment up once this daemon's own prover refused it as well as a remote peer", () => {
    const { run, link } = setup([segment(0, 'self')], 2)
    const self = link('self', [0], true)
    self.closed = true
    run.refusals.set(0, { remote: new Set(['remote']), local: false })
    moveSegmentsOf(run, self, 'this daemon (a test)', 0, proverRefused(0))
    assert.ok(run.failure instanceof JobFailure, String(run.failure))
    assert.match(run.failure.message, /segment 0 failed on 2 peers, this daemon's own prover among them/)
  })

  it('moves the segments of peers failed for what they did without spending any retry', async () => {
    const { run, link } = setup([segment(0, 'p0')], 1)
    // one more attacker than max_retries + 1 moves would allow, each failed on the segment in its own way
    const pinned: PeerFailure[] = [
      { code: 'TIMEOUT', message: 'silent' },
      { code: 'PROOF_INVALID', message: 'forged', segment: 0 },
      { code: 'CONTRIBUTION_MISMATCH', message: 'lied', segment: 0 },
      { code: 'TRANSFER', message: 'trickled', segment: 0 }
    ]
    for (const [i, failure] of pinned.entries()) {
      const owner = link(`p${i}`, [0])
      ;(run.record.segments[0] as SegmentRecord).peerId = owner.peer.peerId
      owner.closed = true
      link(`p${i + 1}`, [])
      moveSegmentsOf(run, owner, `peer p${i} (a test)`, 0, failure)
      await run.recovery
    }
    assert.equal(run.failure, undefined, String(run.failure))
    assert.equal(run.refusals.size, 0)
    assert.equal(run.record.segments[0]?.peerId, `p${pinned.length}`)
  })
})

describe('leaseSpare', () => {
  it('leases two different peers when two spares are wanted at once', async () => {
    const { run } = setup([segment(0, 'p1')])
    const asked: string[] = []
    run.ctx.candidates = () =>
      ['s1', 's2'].map((peerId) => ({
        peerId,
        local: false,
        addrs: [],
        programs: [PROGRAM.id],
        unitsFree: 4,
        unitsTotal: 4
      }))
    run.ctx.transport = {
      ...run.ctx.transport,
      openJob: async (peer) => {
        asked.push(peer.peerId)
        const [submitterEnd, peerEnd] = memoryDuplexPair<PeerFrame, SubmitterFrame>()
        // the grant comes a turn later, so that both calls are asking before either is answered
        void peerEnd.read(AbortSignal.timeout(30_000)).then(async () => {
          await new Promise((resolve) => setTimeout(resolve, 20))
          await peerEnd.write(
            {
              reserved: { leaseId: `lease-${peer.peerId}`, units: 4, leaseMs: 60_000, submitterCap: 0 }
            },
            AbortSignal.timeout(30_000)
          )
        })
        return submitterEnd
      }
    }
    const spares = await Promise.all([leaseSpare(run), leaseSpare(run)])
    assert.deepEqual(
      spares.map((spare) => spare?.peer.peerId).sort(),
      ['s1', 's2'],
      `each call must lease its own peer; peers asked: ${asked.join(', ')}`
    )
    run.done = true
    for (const spare of spares) spare?.channel.abort(new Error('test over'))
  })
})

describe('aggregatorCandidate', () => {
  it('is the first healthy peer with all its segments proved that was not relieved', () => {
    const { run, link } = setup([segment(0, 'a', 'proved'), segment(1, 'b', 'proved'), segment(2, 'c')])
    const a = link('a', [0])
    const b = link('b', [1])
    const c = link('c', [2])
    a.proved.add(0)
    b.proved.add(1)
    assert.equal(aggregatorCandidate(run), a)
    run.relieved.add(a)
    assert.equal(aggregatorCandidate(run), b)
    b.closed = true
    assert.equal(aggregatorCandidate(run), undefined, 'c has a segment still to prove')
    c.proved.add(2)
    assert.equal(aggregatorCandidate(run), c)
  })
})
