import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { FailCode } from '../../protocols/job/pb/job.js'
import {
  type FailureReport,
  grantedUnits,
  judgeFailure,
  MAX_FETCH_RETRIES,
  peersToCheck,
  judgeRefusals,
  refusesSegment
} from '../../src/job/blame.js'
import { RefusalBackoff } from '../../src/job/refusal-backoff.js'
import { awaitsWork } from '../../src/job/progress-deadline.js'
import type { SegmentRecord } from '../../src/jobs-model/types.js'

const proved: SegmentRecord = {
  index: 3,
  startBlock: 0,
  blockCount: 8,
  inputOffset: 0,
  inputLength: 512,
  inputSha256: '00'.repeat(32),
  peerId: 'owner',
  state: 'proved',
  proofSha256: 'ab'.repeat(32)
}

const report = (fields: Partial<FailureReport>): FailureReport => ({
  code: FailCode.TRANSFER,
  fromAggregator: true,
  segment: proved,
  proofSha256: proved.proofSha256 as string,
  ownSegment: false,
  fetchFailures: 0,
  otherOwnersUnreached: 0,
  ...fields
})

describe('judgeFailure: only what the evidence pins on a peer costs that peer', () => {
  it('blames the owner of a proof the aggregator shows invalid', () => {
    assert.equal(judgeFailure(report({ code: FailCode.PROOF_INVALID })), 'owner')
  })

  it('ignores a report about a proof the segment has moved away from, even to the aggregator itself', () => {
    for (const code of [FailCode.PROOF_INVALID, FailCode.TRANSFER]) {
      assert.equal(judgeFailure(report({ code, segment: { ...proved, state: 'assigned' } })), 'ignore')
      assert.equal(judgeFailure(report({ code, proofSha256: 'cd'.repeat(32) })), 'ignore')
      assert.equal(
        judgeFailure(report({ code, segment: { ...proved, state: 'assigned' }, ownSegment: true })),
        'ignore'
      )
    }
  })

  it('fetches again after a failed pull, then tells the owner from the aggregator by who else was unreached', () => {
    for (let failures = 0; failures < MAX_FETCH_RETRIES; failures++) {
      assert.equal(judgeFailure(report({ fetchFailures: failures, otherOwnersUnreached: 2 })), 'retry')
    }
    assert.equal(judgeFailure(report({ fetchFailures: MAX_FETCH_RETRIES })), 'owner-unreachable')
    assert.equal(
      judgeFailure(report({ fetchFailures: MAX_FETCH_RETRIES, otherOwnersUnreached: 1 })),
      'aggregator-unreachable'
    )
  })

  it('takes anything else as the reporting peer own failure', () => {
    assert.equal(judgeFailure(report({ fromAggregator: false })), 'reporter')
    assert.equal(judgeFailure(report({ code: FailCode.PROVER })), 'reporter')
    assert.equal(judgeFailure(report({ segment: undefined })), 'reporter')
    assert.equal(judgeFailure(report({ ownSegment: true })), 'reporter')
  })
})

describe('grantedUnits', () => {
  it('counts no more units than were asked, and never fewer than none', () => {
    assert.equal(grantedUnits(1, 1_000_000), 1)
    assert.equal(grantedUnits(4, 3), 3)
    assert.equal(grantedUnits(4, 0), 0)
  })
})

describe('RefusalBackoff', () => {
  it('doubles the wait per refusal in a row up to its cap, and forgets it at a grant', () => {
    const backoff = new RefusalBackoff({ baseMs: 100, maxMs: 350, maxPeers: 10 })
    assert.equal(backoff.waitUntil('p', 0), 0)
    backoff.refused('p', 0)
    assert.equal(backoff.waitUntil('p', 0), 100)
    assert.equal(backoff.waitUntil('p', 100), 0)
    backoff.refused('p', 100)
    assert.equal(backoff.waitUntil('p', 100), 300)
    backoff.refused('p', 300)
    assert.equal(backoff.waitUntil('p', 300), 650)
    backoff.granted('p')
    assert.equal(backoff.waitUntil('p', 300), 0)
  })

  it('remembers at most maxPeers, dropping the oldest refusal', () => {
    const backoff = new RefusalBackoff({ baseMs: 1_000, maxMs: 1_000, maxPeers: 3 })
    for (const peer of ['a', 'b', 'c', 'd']) backoff.refused(peer, 0)
    assert.equal(backoff.waitUntil('a', 0), 0)
    for (const peer of ['b', 'c', 'd']) assert.equal(backoff.waitUntil(peer, 0), 1_000)
  })
})

describe('awaitsWork', () => {
  const link = (fields: Partial<Parameters<typeof awaitsWork>[0]>): Parameters<typeof awaitsWork>[0] => ({
    segments: [1, 2],
    proved: new Set(),
    contributed: new Set(),
    hasChallenge: false,
    ...fields
  })
  const standing = { aggregator: false, allProved: false, finalIn: false }

  it('counts a segment not contributed, or not proved once the challenge is in', () => {
    assert.equal(awaitsWork(link({}), standing), true)
    assert.equal(awaitsWork(link({ contributed: new Set([1]) }), standing), true)
    assert.equal(awaitsWork(link({ hasChallenge: true, proved: new Set([1]) }), standing), true)
  })

  it('does not count waiting on the others', () => {
    assert.equal(awaitsWork(link({ contributed: new Set([1, 2]) }), standing), false)
    assert.equal(awaitsWork(link({ hasChallenge: true, proved: new Set([1, 2]) }), standing), false)
    assert.equal(awaitsWork(link({ segments: [] }), { ...standing, aggregator: true }), false)
  })

  it('counts the final proof against the aggregator once every segment is proved', () => {
    const done = link({ hasChallenge: true, proved: new Set([1, 2]) })
    assert.equal(awaitsWork(done, { aggregator: true, allProved: true, finalIn: false }), true)
    assert.equal(awaitsWork(done, { aggregator: true, allProved: true, finalIn: true }), false)
  })
})

describe('refusesSegment: a failure pinned on a peer costs that peer, not the segment', () => {
  it('counts a prover, input or hints failure as a refusal of the very segment it names', () => {
    for (const code of ['PROVER', 'INTERNAL', 'INPUT', 'HINTS']) {
      assert.equal(refusesSegment({ code, message: 'x', segment: 3 }, 3, 3), true, code)
      assert.equal(
        refusesSegment({ code, message: 'x', segment: 3 }, 3, 4),
        false,
        `${code}, another segment`
      )
      assert.equal(refusesSegment({ code, message: 'x' }, undefined, 3), false, `${code}, no segment named`)
    }
  })

  it('counts no refusal for silence, a lost stream, a failed transfer, garbage, a lie or a cancel', () => {
    for (const code of [
      'TIMEOUT',
      'LOST',
      'UNREACHABLE',
      'TRANSFER',
      'PROTOCOL',
      'PROOF_INVALID',
      'CONTRIBUTION_MISMATCH',
      'CANCELLED'
    ]) {
      assert.equal(refusesSegment({ code, message: 'x', segment: 3 }, 3, 3), false, code)
    }
  })
})

describe("judgeRefusals: a remote peer's word alone never gives a segment up while this daemon can decide", () => {
  const remote = (...peers: string[]): Set<string> => new Set(peers)

  it('moves a segment while no more than max_retries distinct remote peers refused it', () => {
    assert.equal(judgeRefusals({ remote: remote('a'), local: false }, 2, false), 'move')
    assert.equal(judgeRefusals({ remote: remote('a', 'b'), local: false }, 2, true), 'move')
    assert.equal(judgeRefusals({ remote: remote(), local: true }, 0, false), 'move', 'this daemon alone')
  })

  it('asks this daemon past max_retries remote refusals when it takes part, else gives up', () => {
    const sybils = { remote: remote('a', 'b', 'c'), local: false }
    assert.equal(judgeRefusals(sybils, 2, true), 'ask-local')
    assert.equal(judgeRefusals(sybils, 2, false), 'give-up')
    assert.equal(judgeRefusals({ remote: remote('a'), local: false }, 0, true), 'ask-local')
  })

  it("gives up once this daemon's own prover refused it as well as a remote peer", () => {
    assert.equal(judgeRefusals({ remote: remote('a'), local: true }, 2, false), 'give-up')
    assert.equal(judgeRefusals({ remote: remote('a', 'b', 'c'), local: true }, 2, true), 'give-up')
  })
})

describe('peersToCheck: the challenge waits for a second computation of a contribution of every peer unvouched for', () => {
  const holders = [
    { peerId: 'self', local: true },
    { peerId: 'new', local: false },
    { peerId: 'vouched', local: false },
    { peerId: 'under-check', local: false },
    { peerId: 'alone', local: false }
  ]

  it('checks every remote holder with no vouched contribution, under no check and not accepted unchecked', () => {
    assert.deepEqual(peersToCheck(holders, new Set(['vouched']), new Set(['under-check', 'alone'])), ['new'])
  })

  it('never checks this daemon: its own prover is trusted', () => {
    assert.deepEqual(peersToCheck([{ peerId: 'self', local: true }], new Set(), new Set()), [])
  })

  it('checks a replacement that joined after the others were vouched for', () => {
    assert.deepEqual(
      peersToCheck(holders, new Set(['new', 'vouched', 'under-check', 'alone']), new Set()),
      []
    )
    assert.deepEqual(
      peersToCheck(
        [...holders, { peerId: 'replacement', local: false }],
        new Set(['new', 'vouched', 'under-check', 'alone']),
        new Set()
      ),
      ['replacement']
    )
  })
})
