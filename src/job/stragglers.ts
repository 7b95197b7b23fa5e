import { type Link, pendingBlocks } from './link.js'
import type { SegmentRecord } from '../jobs-model/types.js'

/** A segment that gets a backup copy, and why */
export interface Straggler {
  segment: SegmentRecord
  /** The peer proving it too slowly */
  slow: Link
  /** The idle peer that proves a copy */
  idle: Link
  /** How long it has been proving */
  elapsedMs: number
  /** factor × the median prove time of the job's proved segments */
  limitMs: number
}

/** A straggler is judged against a whole second more than factor × the median, so that tiny segments do not trip it */
const GRACE_MS = 1_000

/**
 * The segments proving far longer than their job's proved segments took (factor × their median, plus a second),
 * each paired with an idle peer for a backup copy: one that has its challenge, nothing left to prove and no copy
 * of that segment. Each idle peer takes one copy; a segment with a backup already gets no second one.
 */
export function findStragglers(
  segments: SegmentRecord[],
  links: Link[],
  factor: number,
  now: number
): Straggler[] {
  if (factor <= 0) return []
  const took = segments
    .filter((segment) => segment.state === 'proved' && segment.proveMillis !== undefined)
    .map((segment) => segment.proveMillis as number)
    .sort((a, b) => a - b)
  const median = took[Math.floor(took.length / 2)]
  if (median === undefined) return []
  const limitMs = factor * median
  const healthy = links.filter((link) => !link.closed)
  const taken = new Set<Link>()
  const found: Straggler[] = []
  for (const slow of healthy) {
    // a peer proves its segments one after another: the first it has not proved is the one under way
    const current = slow.segments.find((index) => !slow.proved.has(index))
    const segment = current === undefined ? undefined : segments[current]
    const since = slow.busySince
    if (segment === undefined || since === undefined || segment.peerId !== slow.peer.peerId) continue
    if (segment.backupPeerId !== undefined || now - since <= limitMs + GRACE_MS) continue
    const idle = healthy.find(
      (link) =>
        !taken.has(link) &&
        link.peer.peerId !== segment.peerId &&
        link.hasChallenge &&
        pendingBlocks(link, segments) === 0 &&
        !link.segments.includes(segment.index)
    )
    if (idle === undefined) continue
    taken.add(idle)
    found.push({ segment, slow, idle, elapsedMs: now - since, limitMs })
  }
  return found
}
