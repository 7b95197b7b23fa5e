import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  ceilPow2,
  floorPow2,
  jobSegments,
  type LayoutPeer,
  planLayout,
  type SegmentLayout
} from '../../src/job/layout.js'
import type { Program } from '../../src/prover/types.js'

const MAX = 32768

/** xorshift32: the same numbers on every run */
function rng(seed: number): (n: number) => number {
  let x = seed | 0 || 1
  return (n) => {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    return (x >>> 0) % n
  }
}

function equalPeers(n: number, units = 10): LayoutPeer[] {
  return Array.from({ length: n }, (_, i) => ({ id: `p${i}`, units }))
}

function randomPeers(next: (n: number) => number): LayoutPeer[] {
  return Array.from({ length: 1 + next(8) }, (_, i) => ({ id: `p${i}`, units: 1 + next(40) }))
}

/** Every structural rule, and the summary figures recomputed from the segments */
function check(layout: SegmentLayout, total: number, peers: LayoutPeer[], maxSegmentBlocks: number): void {
  const cap = floorPow2(maxSegmentBlocks)
  const ids = new Set(peers.map((p) => p.id))
  let next = 0
  let padded = 0
  const load = new Map<string, number>()
  layout.segments.forEach((s, i) => {
    assert.equal(s.index, i)
    assert.equal(s.startBlock, next, `segment ${i} starts where ${i - 1} ended`)
    assert.ok(Number.isInteger(s.blockCount) && s.blockCount >= 0)
    assert.ok(s.blockCount <= cap, `segment ${i} has ${s.blockCount} > ${cap} blocks`)
    assert.ok(total === 0 || s.blockCount > 0, 'no empty segment in a non-empty input')
    assert.ok(ids.has(s.peer), `segment ${i} goes to an unknown peer ${s.peer}`)
    next += s.blockCount
    padded += ceilPow2(s.blockCount)
    load.set(s.peer, (load.get(s.peer) ?? 0) + ceilPow2(s.blockCount))
  })
  assert.equal(next, total, 'the segments cover [0, totalBlocks)')
  assert.equal(layout.usefulBlocks, total)
  assert.equal(layout.paddedBlocks, padded)
  assert.equal(layout.fill, total === 0 ? 1 : total / padded)
  assert.ok(layout.fill >= 0.9, `fill ${layout.fill} for T=${total}`)
  const makespan = Math.max(...peers.map((p) => (load.get(p.id) ?? 0) / p.units))
  assert.equal(layout.makespan, makespan)
}

function lay(total: number, peers: LayoutPeer[], max = MAX): SegmentLayout {
  const layout = planLayout(total, peers, max)
  check(layout, total, peers, max)
  return layout
}

describe('planLayout', () => {
  it('gives the empty input one segment of 0 blocks on the first peer', () => {
    const layout = lay(0, equalPeers(3))
    assert.deepEqual(layout.segments, [{ index: 0, startBlock: 0, blockCount: 0, peer: 'p0' }])
    assert.equal(layout.fill, 1)
    assert.equal(layout.makespan, 0)
  })

  it('lays out tiny inputs without waste, leaving some peers without a segment', () => {
    const peers = equalPeers(4)
    assert.deepEqual(lay(1, peers).segments, [{ index: 0, startBlock: 0, blockCount: 1, peer: 'p0' }])
    const three = lay(3, peers)
    assert.deepEqual(
      three.segments.map((s) => [s.blockCount, s.peer]),
      [
        [1, 'p0'],
        [1, 'p1'],
        [1, 'p2']
      ]
    )
    const seven = lay(7, peers)
    assert.deepEqual(
      seven.segments.map((s) => s.blockCount),
      [2, 2, 2, 1]
    )
    assert.equal(seven.fill, 1)
    assert.deepEqual(
      lay(8, peers).segments.map((s) => s.blockCount),
      [2, 2, 2, 2]
    )
    assert.deepEqual(
      lay(9, equalPeers(1)).segments.map((s) => s.blockCount),
      [8, 1]
    )
    assert.equal(lay(9, peers).fill, 1)
  })

  it('gives P·32768 blocks to P equal peers as exactly P full segments, one each', () => {
    for (let p = 1; p <= 4; p++) {
      const peers = equalPeers(p)
      const layout = lay(p * MAX, peers)
      assert.equal(layout.segments.length, p)
      assert.ok(layout.segments.every((s) => s.blockCount === MAX))
      assert.deepEqual(new Set(layout.segments.map((s) => s.peer)), new Set(peers.map((x) => x.id)))
      assert.equal(layout.fill, 1)
      assert.equal(layout.makespan, MAX / 10)
    }
  })

  it('lays out an 8 MiB rescue-sponge input (149797 blocks) with full segments and little waste', () => {
    for (const peers of [equalPeers(1), equalPeers(3), equalPeers(5), randomPeers(rng(7))]) {
      const layout = lay(149797, peers)
      assert.ok(layout.fill >= 0.95)
      const ideal = 149797 / peers.reduce((a, p) => a + p.units, 0)
      assert.ok(layout.makespan <= ideal * 1.15, `makespan ${layout.makespan} vs ideal ${ideal}`)
    }
  })

  it('keeps segments under a maxSegmentBlocks that is not a power of two', () => {
    const layout = lay(100_000, equalPeers(2), 40_000)
    assert.ok(layout.segments.every((s) => s.blockCount <= 32768))
    assert.deepEqual(
      lay(5, equalPeers(1), 3).segments.map((s) => s.blockCount),
      [2, 2, 1]
    )
    assert.ok(lay(1000, equalPeers(2), 1).segments.every((s) => s.blockCount === 1))
  })

  it('shares the work in proportion to units (2:1)', () => {
    const peers = [
      { id: 'big', units: 20 },
      { id: 'small', units: 10 }
    ]
    for (const total of [12 * MAX, 3 * MAX, 100_000, 149797]) {
      const layout = lay(total, peers)
      const work = (id: string) =>
        layout.segments.filter((s) => s.peer === id).reduce((a, s) => a + s.blockCount, 0)
      const ratio = work('big') / work('small')
      assert.ok(ratio > 1.8 && ratio < 2.2, `T=${total}: ratio ${ratio}`)
    }
  })

  it('keeps fill ≥ 0.9 for every input of 1 to 5000 blocks', () => {
    const configs = [
      equalPeers(1),
      equalPeers(3),
      [
        { id: 'a', units: 1 },
        { id: 'b', units: 7 }
      ]
    ]
    for (const peers of configs) {
      for (let total = 1; total <= 5000; total++) lay(total, peers, 1024)
    }
    for (let total = 1; total <= 5000; total++) lay(total, equalPeers(2))
  })

  it('holds every rule for random inputs and peers', () => {
    const next = rng(42)
    for (let round = 0; round < 300; round++) {
      const total = round % 3 === 0 ? next(2000) : next(2_000_000)
      const max = round % 5 === 0 ? 1 + next(70_000) : MAX
      lay(total, randomPeers(next), max)
    }
  })

  it('stays within 15% of the ideal makespan above the bounds planLayout proves', () => {
    // By size at s_min = max/64: < (T + P·s_min)/ΣU; by share: < 1.05·(T/ΣU + 1/u_min); the choice within 3%
    const next = rng(1234)
    const sMin = MAX / 64
    for (let round = 0; round < 300; round++) {
      const peers = randomPeers(next)
      const sum = peers.reduce((a, p) => a + p.units, 0)
      const uMin = Math.min(...peers.map((p) => p.units))
      const floor = Math.min(9 * peers.length * sMin, Math.ceil((16 * sum) / uMin))
      const total = floor + next(round % 2 === 0 ? floor : 5_000_000)
      const layout = lay(total, peers)
      const ideal = total / sum
      assert.ok(
        layout.makespan <= ideal * 1.15,
        `T=${total} units=${peers.map((p) => p.units).join(',')}: ${layout.makespan} vs ${ideal}`
      )
    }
  })

  it('cuts an 8 MiB input on 3 equal peers into few segments, close to the ideal', () => {
    // 3 × (32768 + 16384 + ~780): by size alone the best is 74 segments of 2048 at 2.5% over
    const layout = lay(149797, equalPeers(3))
    assert.equal(layout.segments.length, 9)
    assert.ok(layout.makespan <= (149797 / 30) * 1.01)
    // 3 MB: 3 × (16384 + 1024 + ~450)
    const small = lay(53572, equalPeers(3))
    assert.equal(small.segments.length, 9)
    assert.ok(small.makespan <= (53572 / 30) * 1.01)
  })

  it('prefers fewer, larger segments when they balance as well', () => {
    const layout = lay(8 * MAX, equalPeers(4))
    assert.equal(layout.segments.length, 8)
    // 3 equal peers, 4 full segments' worth: smaller segments balance better
    const three = lay(4 * MAX, equalPeers(3))
    assert.ok(three.makespan <= ((4 * MAX) / 30) * 1.05)
  })

  it('refuses nonsense', () => {
    assert.throws(() => planLayout(-1, equalPeers(1), MAX), RangeError)
    assert.throws(() => planLayout(1.5, equalPeers(1), MAX), RangeError)
    assert.throws(() => planLayout(10, [], MAX), RangeError)
    assert.throws(() => planLayout(10, [{ id: 'a', units: 0 }], MAX), RangeError)
    assert.throws(() => planLayout(10, equalPeers(1), 0), RangeError)
    assert.throws(() => planLayout(10, equalPeers(1), Number.NaN), RangeError)
  })
})

describe('jobSegments', () => {
  const sponge: Program = {
    id: 'rescue-sponge',
    description: '',
    segmented: true,
    blockBytes: 56,
    maxSegmentBlocks: MAX
  }

  it('gives each laid-out segment its canonical byte range, the last one cut at the input end', () => {
    for (const size of [0, 1, 55, 56, 57, 1000, 56 * 3 * MAX + 13]) {
      const peers = equalPeers(3)
      const segments = jobSegments(sponge, size, peers)
      const layout = planLayout(Math.ceil(size / 56), peers, MAX)
      assert.equal(segments.length, layout.segments.length, `size ${size}`)
      let end = 0
      segments.forEach((segment, i) => {
        const laid = layout.segments[i]!
        assert.deepEqual(
          [segment.startBlock, segment.blockCount, segment.peer],
          [laid.startBlock, laid.blockCount, laid.peer]
        )
        assert.equal(segment.inputOffset, Math.min(56 * segment.startBlock, size))
        assert.equal(segment.inputOffset, end, `segment ${i} of size ${size} starts where the last ended`)
        end = segment.inputOffset + segment.inputLength
      })
      assert.equal(end, size, `the byte ranges of size ${size} cover the input`)
    }
  })

  it('caps segments at the smaller of the program cap and the one asked for', () => {
    const segments = jobSegments(sponge, 56 * 6 - 20, equalPeers(1), 2)
    assert.deepEqual(
      segments.map((segment) => segment.blockCount),
      [2, 2, 2]
    )
  })

  it('gives a segmented: false program one segment of the whole input on the first peer', () => {
    const whole = { ...sponge, segmented: false, blockBytes: 1 }
    assert.deepEqual(jobSegments(whole, 12345, equalPeers(2)), [
      { index: 0, startBlock: 0, blockCount: 1, inputOffset: 0, inputLength: 12345, peer: 'p0' }
    ])
    assert.throws(() => jobSegments(whole, 1, []), RangeError)
  })

  it('refuses a segmented program without a block size', () => {
    assert.throws(() => jobSegments({ ...sponge, blockBytes: 0 }, 100, equalPeers(1)), RangeError)
  })
})
