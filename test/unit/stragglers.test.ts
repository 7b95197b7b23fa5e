import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { PeerFrame, SubmitterFrame } from '../../protocols/job/pb/job.js'
import { type Link, leastLoaded, pendingBlocks, rankCandidates } from '../../src/job/link.js'
import { findStragglers } from '../../src/job/stragglers.js'
import type { SegmentRecord } from '../../src/jobs-model/types.js'
import { memoryDuplexPair } from '../../src/net/frame-duplex.js'

const NOW = 1_000_000

function segment(index: number, peerId: string, fields: Partial<SegmentRecord> = {}): SegmentRecord {
  return {
    index,
    startBlock: index * 100,
    blockCount: 100,
    inputOffset: index * 5600,
    inputLength: 5600,
    inputSha256: '00'.repeat(32),
    peerId,
    state: 'contributed',
    ...fields
  }
}

function link(peerId: string, segments: number[], fields: Partial<Link> = {}): Link {
  return {
    peer: { peerId, addrs: [], local: false, programs: ['rescue-sponge'], unitsFree: 4, unitsTotal: 4 },
    contributed: new Set(),
    progressAt: 0,
    record: {
      peerId,
      local: false,
      units: 4,
      leaseId: `lease-${peerId}`,
      state: 'contributed',
      bytesSent: 0
    },
    channel: memoryDuplexPair<PeerFrame, SubmitterFrame>()[0],
    segments,
    proved: new Set(),
    closed: false,
    hasHints: true,
    hasChallenge: true,
    forgotten: new Set(),
    ...fields
  }
}

/** Three peers: A and B proved theirs in 2 s each; C has been on segment 2 since `since` */
function job(since: number) {
  const segments = [
    segment(0, 'A', { state: 'proved', proveMillis: 2_000 }),
    segment(1, 'B', { state: 'proved', proveMillis: 2_000 }),
    segment(2, 'C')
  ]
  const links = [
    link('A', [0], { proved: new Set([0]), busySince: NOW - 10_000 }),
    link('B', [1], { proved: new Set([1]), busySince: NOW - 10_000 }),
    link('C', [2], { busySince: since })
  ]
  return { segments, links }
}

describe('findStragglers', () => {
  it('pairs a segment past factor × the median (plus a second) with an idle peer', () => {
    const { segments, links } = job(NOW - 6_000)
    const found = findStragglers(segments, links, 2, NOW)
    assert.equal(found.length, 1)
    const [straggler] = found
    assert.equal(straggler?.segment.index, 2)
    assert.equal(straggler?.slow.peer.peerId, 'C')
    assert.equal(straggler?.idle.peer.peerId, 'A')
    assert.equal(straggler?.elapsedMs, 6_000)
    assert.equal(straggler?.limitMs, 4_000)
  })

  it('leaves a segment alone within factor × the median plus the grace second', () => {
    const { segments, links } = job(NOW - 5_000)
    assert.deepEqual(findStragglers(segments, links, 2, NOW), [])
  })

  it('does nothing when off, before any segment is proved, or for a segment that has a backup', () => {
    const { segments, links } = job(NOW - 60_000)
    assert.deepEqual(findStragglers(segments, links, 0, NOW), [])
    const unproved = segments.map((s) => ({ ...s, state: 'contributed' as const, proveMillis: undefined }))
    assert.deepEqual(findStragglers(unproved, links, 2, NOW), [])
    const backed = segments.map((s) => (s.index === 2 ? { ...s, backupPeerId: 'A' } : s))
    assert.deepEqual(findStragglers(backed, links, 2, NOW), [])
  })

  it('needs an idle peer: one with its challenge, nothing left to prove and no copy of that segment', () => {
    const { segments, links } = job(NOW - 60_000)
    const busy = links.map((l) => (l.peer.peerId === 'C' ? l : { ...l, proved: new Set<number>() }))
    assert.deepEqual(findStragglers(segments, busy, 2, NOW), [])
    const noChallenge = links.map((l) => (l.peer.peerId === 'C' ? l : { ...l, hasChallenge: false }))
    assert.deepEqual(findStragglers(segments, noChallenge, 2, NOW), [])
    const closed = links.map((l) => (l.peer.peerId === 'C' ? l : { ...l, closed: true }))
    assert.deepEqual(findStragglers(segments, closed, 2, NOW), [])
  })

  it('gives each idle peer one copy when several segments straggle', () => {
    const segments = [
      segment(0, 'A', { state: 'proved', proveMillis: 1_000 }),
      segment(1, 'B'),
      segment(2, 'C')
    ]
    const links = [
      link('A', [0], { proved: new Set([0]) }),
      link('B', [1], { busySince: NOW - 30_000 }),
      link('C', [2], { busySince: NOW - 30_000 })
    ]
    const found = findStragglers(segments, links, 2, NOW)
    assert.equal(found.length, 1, 'A takes one copy; the other straggler waits for another idle peer')
    assert.equal(found[0]?.idle.peer.peerId, 'A')
  })

  it('judges the segment under way: the first of its peer that is not proved', () => {
    const segments = [
      segment(0, 'A', { state: 'proved', proveMillis: 1_000 }),
      segment(1, 'B', { state: 'proved', proveMillis: 1_000 }),
      segment(2, 'B'),
      segment(3, 'C', { state: 'proved', proveMillis: 1_000 })
    ]
    const links = [
      link('A', [0], { proved: new Set([0]) }),
      link('B', [1, 2], { proved: new Set([1]), busySince: NOW - 30_000 }),
      link('C', [3], { proved: new Set([3]) })
    ]
    const found = findStragglers(segments, links, 2, NOW)
    assert.deepEqual(
      found.map((s) => [s.segment.index, s.idle.peer.peerId]),
      [[2, 'A']]
    )
  })
})

describe('the submitter links', () => {
  it('counts the blocks a peer has left to prove', () => {
    const segments = [segment(0, 'A'), segment(1, 'A', { blockCount: 30 }), segment(2, 'A')]
    assert.equal(pendingBlocks(link('A', [0, 1, 2], { proved: new Set([0]) }), segments), 130)
    assert.equal(pendingBlocks(link('A', [], {}), segments), 0)
  })

  it('hands a takeover to the least penalised peer, then the least loaded per unit', () => {
    const segments = [segment(0, 'A'), segment(1, 'B'), segment(2, 'B'), segment(3, 'C')]
    const a = link('A', [0])
    const b = link('B', [1, 2])
    const c = link('C', [3])
    c.peer.penalty = 1
    assert.equal(leastLoaded([b, c, a], segments), a)
    a.record.units = 1
    assert.equal(leastLoaded([b, c, a], segments), b, 'A has 100 blocks per unit left, B 50')
    assert.equal(leastLoaded([link('D', [], { hasHints: false }), c], segments)?.peer.peerId, 'C')
    assert.equal(leastLoaded([{ ...a, closed: true }], segments), undefined)
  })

  it('ranks candidates by penalty, free units, round trip, then peer id', () => {
    const base = { addrs: [], local: false, programs: [], unitsTotal: 8 }
    const ranked = rankCandidates([
      { ...base, peerId: 'p1', unitsFree: 8, penalty: 2 },
      { ...base, peerId: 'p2', unitsFree: 4, rttMs: 5 },
      { ...base, peerId: 'p3', unitsFree: 4, rttMs: 1 },
      { ...base, peerId: 'p4', unitsFree: 8 },
      { ...base, peerId: 'p0', unitsFree: 4, rttMs: 1 }
    ])
    assert.deepEqual(
      ranked.map((c) => c.peerId),
      ['p4', 'p0', 'p3', 'p2', 'p1']
    )
  })
})
