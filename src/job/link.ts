import type { PeerFrame, SubmitterFrame } from '../../protocols/job/pb/job.js'
import type { FrameDuplex } from '../net/frame-duplex.js'
import type { PeerAddress } from './transport.js'
import type { JobPeerRecord, SegmentRecord } from '../jobs-model/types.js'

/** A peer the submitter may lease units from, as the peer table (or this daemon) knows it */
export interface Candidate extends PeerAddress {
  programs: string[]
  unitsFree: number
  unitsTotal: number
  rttMs?: number
  /** Penalty points for bad work in the past, decayed (the submitter's journal); 0 = none */
  penalty?: number
}

/** Best first: the least penalised, then most free units, then the shortest round trip, then peer id */
export function rankCandidates(candidates: Candidate[]): Candidate[] {
  return [...candidates].sort(
    (a, b) =>
      Math.round(a.penalty ?? 0) - Math.round(b.penalty ?? 0) ||
      b.unitsFree - a.unitsFree ||
      (a.rttMs ?? Number.MAX_SAFE_INTEGER) - (b.rttMs ?? Number.MAX_SAFE_INTEGER) ||
      a.peerId.localeCompare(b.peerId)
  )
}

/** One leased peer of a job and its job stream, as the submitter sees it */
export interface Link {
  peer: Candidate
  record: JobPeerRecord
  channel: FrameDuplex<PeerFrame, SubmitterFrame>
  segments: number[]
  proved: Set<number>
  keepAlive?: NodeJS.Timeout
  closed: boolean
  /** Hints went out to it already (they go once per peer) */
  hasHints: boolean
  /** The challenge went out to it already */
  hasChallenge: boolean
  /** Segments it was told to drop (a backup copy elsewhere won): what it still says about them is ignored */
  forgotten: Set<number>
  /** Since when it has been proving its current segment: the challenge, then each of its Proved */
  busySince?: number
  /** Segments it sent its contribution of */
  contributed: Set<number>
  /** When it last showed progress (see checkProgress in run/recovery.ts): a frame about its work, or bytes moving to it */
  progressAt: number
}

/** Blocks a peer still has to prove */
export function pendingBlocks(link: Link, segments: SegmentRecord[]): number {
  return link.segments
    .filter((index) => !link.proved.has(index))
    .reduce((sum, index) => sum + (segments[index]?.blockCount ?? 0), 0)
}

/**
 * Who takes over segments when no new peer with free units will: the least penalised peer still in the job,
 * then the one with the fewest blocks left to prove per unit. Only peers that already took part (segments or
 * hints) qualify: one leased but never used is about to be released.
 */
export function leastLoaded(links: Link[], segments: SegmentRecord[]): Link | undefined {
  return links
    .filter((link) => !link.closed && (link.segments.length > 0 || link.hasHints))
    .sort(
      (a, b) =>
        (a.peer.penalty ?? 0) - (b.peer.penalty ?? 0) ||
        pendingBlocks(a, segments) / a.record.units - pendingBlocks(b, segments) / b.record.units
    )[0]
}
