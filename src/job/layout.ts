/**
 * Where a segmented job's blocks go: segment sizes and the peer that proves each one.
 *
 * A STARK trace is padded to a power of two rows (8 rows per block for rescue-sponge), so a segment of b
 * blocks costs as much as one of ceilPow2(b) blocks. Cutting the input into arbitrary equal shares wastes up
 * to half of every trace; here every segment is a power of two but one small last piece per cut.
 *
 * Cutting n blocks with a size s (`cut`): floor(n / s) segments of s blocks, then the remainder r greedily
 * in the largest powers of two while r > n / 20; what is left (≤ n / 20) is the last piece. Its padding is
 * < n / 20, so the fill is > 1 / 1.05 = 0.952. Two kinds of candidate layouts are compared:
 *
 * - by size: for each power of two s from maxSegmentBlocks down to maxSegmentBlocks / 64, cut the whole
 *   input with s and assign the segments largest first, each to the peer whose (padded blocks so far + this
 *   one) / units is smallest (ties: peer order). Small sizes balance well but make many segments.
 * - by share: give each peer a share of the blocks proportional to its units (largest remainder, ties in
 *   peer order) and cut each share with maxSegmentBlocks. Each peer gets a contiguous range, in a few
 *   segments (e.g. an 8 MiB input, 149797 blocks, on 3 equal peers: 9 segments, makespan within 0.5% of the
 *   ideal, where the best by-size layout needs 74 segments for 2.5%).
 *
 * The makespan of a layout is the largest padded blocks / units of any peer. The layout with the smallest
 * makespan wins, except that among those within SIZE_PREFERENCE of it the one with the fewest segments wins
 * (fewer, larger segments cost less per proof; ties: larger size first, the by-share layout last).
 *
 * Bounds (tested), with T blocks, P peers, ΣU units in all, u_min the smallest:
 * - by size at s_min = max / 64: a segment of padded size c goes to a peer whose key is min_i (L_i + c) / u_i
 *   ≤ (ΣL + P·c) / ΣU, every c ≤ s_min and the padded total is < T + s_min, so the makespan is
 *   < (T + P·s_min) / ΣU: for T ≥ 9·P·s_min the chosen one is below 1.03 · (1 + 1/9) < 1.15 · T / ΣU;
 * - by share: each share is < T·u_i / ΣU + 1 and pads to at most 1.05 times itself, so the makespan is
 *   < 1.05 · (T / ΣU + 1 / u_min): for T ≥ 16 · ΣU / u_min the chosen one is below 1.15 · T / ΣU.
 *
 * planLayout is for segmented programs; jobSegments lays out any program (one segment for a non-segmented one) and
 * gives each segment its byte range: the layout NPP's `plan` receives.
 */
import type { Program, Segment } from '../prover/types.js'

export interface LayoutPeer {
  id: string
  /** Compute units, > 0 */
  units: number
}

export interface LayoutSegment {
  index: number
  startBlock: number
  blockCount: number
  peer: string
}

/** A segment of a job's layout and the peer that proves it */
export type JobSegment = Segment & { peer: string }

export interface SegmentLayout {
  /** Contiguous, in input order, indices from 0, covering [0, totalBlocks) */
  segments: LayoutSegment[]
  /** totalBlocks */
  usefulBlocks: number
  /** Σ ceilPow2(blockCount): what the traces cost */
  paddedBlocks: number
  /** usefulBlocks / paddedBlocks (1 for the empty input) */
  fill: number
  /** max over peers of the padded blocks assigned to it / its units */
  makespan: number
}

/** Candidate sizes go down to maxSegmentBlocks / this (smaller segments balance better but cost more each) */
export const MIN_SIZE_DIVISOR = 64
/** The remainder is cut into powers of two while it is larger than totalBlocks / this */
export const REMAINDER_DIVISOR = 20
/** A larger segment size wins if its makespan is within this factor of the best */
export const SIZE_PREFERENCE = 1.03

/** The largest power of two ≤ n (n ≥ 1) */
export function floorPow2(n: number): number {
  let p = 1
  while (p * 2 <= n) p *= 2
  return p
}

/** The smallest power of two ≥ n; 0 for 0 */
export function ceilPow2(n: number): number {
  if (n <= 0) return 0
  let p = 1
  while (p < n) p *= 2
  return p
}

interface Candidate {
  /** Block counts in input order */
  counts: number[]
  /** peers[i] is the index of the peer that proves counts[i] */
  peers: number[]
  makespan: number
}

/**
 * Lays out `totalBlocks` blocks in segments of at most `maxSegmentBlocks` (rounded down to a power of two)
 * over `peers`. A peer may get no segment (tiny inputs); the empty input is one segment of 0 blocks on the
 * first peer. Throws RangeError on a negative or fractional totalBlocks, no peers, units ≤ 0 or
 * maxSegmentBlocks < 1.
 */
export function planLayout(
  totalBlocks: number,
  peers: LayoutPeer[],
  maxSegmentBlocks: number
): SegmentLayout {
  if (!Number.isSafeInteger(totalBlocks) || totalBlocks < 0) {
    throw new RangeError(`totalBlocks must be a non-negative integer, got ${totalBlocks}`)
  }
  if (peers.length === 0) throw new RangeError('a layout needs at least one peer')
  for (const p of peers) {
    if (!(Number.isFinite(p.units) && p.units > 0)) {
      throw new RangeError(`peer ${p.id} has ${p.units} units; units must be > 0`)
    }
  }
  if (!(Number.isFinite(maxSegmentBlocks) && maxSegmentBlocks >= 1)) {
    throw new RangeError(`maxSegmentBlocks must be ≥ 1, got ${maxSegmentBlocks}`)
  }
  if (totalBlocks === 0) {
    return {
      segments: [{ index: 0, startBlock: 0, blockCount: 0, peer: peers[0]!.id }],
      usefulBlocks: 0,
      paddedBlocks: 0,
      fill: 1,
      makespan: 0
    }
  }
  const units = peers.map((p) => p.units)
  const max = floorPow2(maxSegmentBlocks)
  const min = Math.max(1, max / MIN_SIZE_DIVISOR)
  // In order of preference when close: the sizes from the largest down, then the shares
  const candidates: Candidate[] = []
  for (let s = max; s >= min; s /= 2) candidates.push(bySize(totalBlocks, units, s))
  candidates.push(byShare(totalBlocks, units, max))
  let best = Infinity
  for (const c of candidates) best = Math.min(best, c.makespan)
  let chosen: Candidate | undefined
  for (const c of candidates) {
    if (c.makespan > best * SIZE_PREFERENCE) continue
    if (chosen === undefined || c.counts.length < chosen.counts.length) chosen = c
  }
  const layout = chosen!

  const segments: LayoutSegment[] = []
  let start = 0
  let padded = 0
  layout.counts.forEach((blockCount, index) => {
    segments.push({ index, startBlock: start, blockCount, peer: peers[layout.peers[index]!]!.id })
    start += blockCount
    padded += ceilPow2(blockCount)
  })
  return {
    segments,
    usefulBlocks: totalBlocks,
    paddedBlocks: padded,
    fill: totalBlocks / padded,
    makespan: layout.makespan
  }
}

/**
 * The segments of a job of `inputSize` bytes over `peers`, with NPP's canonical byte ranges: block b covers input
 * bytes [blockBytes·b, blockBytes·(b + 1)), cut at the input's end. A program with `segmented: false` gets one
 * segment (1 block, the whole input) on the first peer. Segments have at most `maxSegmentBlocks` blocks (the
 * program's own cap unless smaller). Throws RangeError as planLayout does, and for a segmented program whose
 * blockBytes is 0.
 */
export function jobSegments(
  program: Program,
  inputSize: number,
  peers: LayoutPeer[],
  maxSegmentBlocks = program.maxSegmentBlocks
): JobSegment[] {
  if (!program.segmented) {
    const first = peers[0]
    if (first === undefined) throw new RangeError('a layout needs at least one peer')
    return [
      { index: 0, startBlock: 0, blockCount: 1, inputOffset: 0, inputLength: inputSize, peer: first.id }
    ]
  }
  if (!(program.blockBytes >= 1)) {
    throw new RangeError(
      `program ${program.id} has blockBytes ${program.blockBytes}; a segmented one needs ≥ 1`
    )
  }
  const totalBlocks = Math.ceil(inputSize / program.blockBytes)
  return planLayout(totalBlocks, peers, Math.min(maxSegmentBlocks, program.maxSegmentBlocks)).segments.map(
    (segment) => {
      const inputOffset = Math.min(segment.startBlock * program.blockBytes, inputSize)
      const end = Math.min((segment.startBlock + segment.blockCount) * program.blockBytes, inputSize)
      return { ...segment, inputOffset, inputLength: end - inputOffset }
    }
  )
}

/** n blocks in segments of `size` (a power of two), then the remainder in decreasing powers of two and a last piece */
function cut(n: number, size: number): { full: number; pieces: number[] } {
  const full = Math.floor(n / size)
  const pieces: number[] = []
  let rest = n - full * size
  while (rest > 0 && rest > n / REMAINDER_DIVISOR) {
    const p = floorPow2(rest)
    pieces.push(p)
    rest -= p
  }
  if (rest > 0) pieces.push(rest)
  return { full, pieces }
}

function makespanOf(load: number[], units: number[]): number {
  let m = 0
  load.forEach((l, i) => (m = Math.max(m, l / units[i]!)))
  return m
}

/** The whole input cut with `size`, the segments assigned largest first to the peer that would finish first */
function bySize(total: number, units: number[], size: number): Candidate {
  const { full, pieces } = cut(total, size)
  const load = new Array<number>(units.length).fill(0)
  const peerOf: number[] = []
  // The full segments all have the same size, so a heap keyed on (load + size) / units picks the peer the
  // linear scan would: O(n log P) for the tens of thousands of small segments of a large input.
  const heap = new PeerHeap(units, size)
  for (let i = 0; i < full; i++) {
    const p = heap.pop()
    load[p]! += size
    heap.push(p, load[p]!)
    peerOf.push(p)
  }
  // The pieces (a handful, each < size, in decreasing size) by a scan
  for (const piece of pieces) {
    const cost = ceilPow2(piece)
    let pick = 0
    let pickKey = Infinity
    for (let i = 0; i < units.length; i++) {
      const key = (load[i]! + cost) / units[i]!
      if (key < pickKey) {
        pick = i
        pickKey = key
      }
    }
    load[pick]! += cost
    peerOf.push(pick)
  }
  return {
    counts: [...new Array<number>(full).fill(size), ...pieces],
    peers: peerOf,
    makespan: makespanOf(load, units)
  }
}

/** Each peer's proportional share, cut with `size`, laid out peer after peer */
function byShare(total: number, units: number[], size: number): Candidate {
  const counts: number[] = []
  const peerOf: number[] = []
  const load = new Array<number>(units.length).fill(0)
  shares(total, units).forEach((share, i) => {
    if (share === 0) return
    const { full, pieces } = cut(share, size)
    for (const c of [...new Array<number>(full).fill(size), ...pieces]) {
      counts.push(c)
      peerOf.push(i)
      load[i]! += ceilPow2(c)
    }
  })
  return { counts, peers: peerOf, makespan: makespanOf(load, units) }
}

/** total split in proportion to units: floors, then one more block each by largest remainder (ties: order) */
function shares(total: number, units: number[]): number[] {
  const sum = units.reduce((a, u) => a + u, 0)
  const quota = units.map((u) => (total * u) / sum)
  const out = quota.map((q) => Math.floor(q))
  let rest = total - out.reduce((a, n) => a + n, 0)
  // Floating point may hand out a block too many: take it back from the largest share
  while (rest < 0) {
    const i = out.indexOf(Math.max(...out))
    out[i]! -= 1
    rest += 1
  }
  const order = quota
    .map((q, i) => ({ frac: q - Math.floor(q), i }))
    .sort((a, b) => b.frac - a.frac || a.i - b.i)
  for (let k = 0; rest > 0; k = (k + 1) % order.length) {
    out[order[k]!.i]! += 1
    rest -= 1
  }
  return out
}

/** A binary min-heap of peers keyed on ((load + size) / units, peer index) */
class PeerHeap {
  private readonly items: Array<{ key: number; peer: number }> = []

  constructor(
    private readonly units: number[],
    private readonly size: number
  ) {
    units.forEach((_, i) => this.push(i, 0))
  }

  push(peer: number, load: number): void {
    const items = this.items
    items.push({ key: (load + this.size) / this.units[peer]!, peer })
    let i = items.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!this.less(i, parent)) break
      this.swap(i, parent)
      i = parent
    }
  }

  pop(): number {
    const items = this.items
    const top = items[0]!
    const last = items.pop()!
    if (items.length > 0) {
      items[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < items.length && this.less(l, m)) m = l
        if (r < items.length && this.less(r, m)) m = r
        if (m === i) break
        this.swap(i, m)
        i = m
      }
    }
    return top.peer
  }

  private less(a: number, b: number): boolean {
    const x = this.items[a]!
    const y = this.items[b]!
    return x.key < y.key || (x.key === y.key && x.peer < y.peer)
  }

  private swap(a: number, b: number): void {
    const t = this.items[a]!
    this.items[a] = this.items[b]!
    this.items[b] = t
  }
}
