import { FailCode } from '../../protocols/job/pb/job.js'
import type { PeerFailure, SegmentRecord } from '../jobs-model/types.js'

/**
 * Who answers for what a peer says went wrong, from the evidence only (docs/architecture.md, failure rules).
 * Pure: JobRun acts on the verdict.
 *
 * - `ignore`: the report is about a proof the job no longer counts on (the segment moved since, or its proof
 *   changed): already dealt with, nobody is blamed again
 * - `owner`: the aggregator showed the segment's proof invalid: the peer that made it failed (penalised)
 * - `retry`: the aggregator could not fetch a proof: a connection that failed once proves nothing about
 *   either end, so the fetch is sent again (MAX_FETCH_RETRIES times)
 * - `owner-unreachable`: the fetches of this segment kept failing and the aggregator reached every other owner:
 *   the owner's proof cannot be had; it fails (not penalised: unreachable is not a lie), its segments move
 * - `aggregator-unreachable`: the fetches kept failing and other owners, that the submitter still hears from,
 *   could not be reached either: the aggregator's own connection is the trouble; another peer aggregates, the
 *   owners keep their segments
 * - `reporter`: anything else is the reporting peer's own failure
 */
export type Verdict =
  'ignore' | 'owner' | 'retry' | 'owner-unreachable' | 'aggregator-unreachable' | 'reporter'

export interface FailureReport {
  code: FailCode
  /** The reporting peer is the job's aggregator */
  fromAggregator: boolean
  /** The segment the report names, as the job records it now */
  segment?: SegmentRecord
  /** The proof the report is about (hex; '' when it names none) */
  proofSha256: string
  /** The reporting peer owns that segment itself */
  ownSegment: boolean
  /** Fetches of this segment by this aggregator that failed before, this one not counted */
  fetchFailures: number
  /** Other owners whose proofs this aggregator could not fetch either */
  otherOwnersUnreached: number
}

/** How often the aggregator's fetch of one proof is sent again before its owner is taken for unreachable */
export const MAX_FETCH_RETRIES = 2

export function judgeFailure(report: FailureReport): Verdict {
  const { segment, code } = report
  const aboutProof = code === FailCode.PROOF_INVALID || code === FailCode.TRANSFER
  if (!report.fromAggregator || segment === undefined || !aboutProof) return 'reporter'
  // checked before whose segment it is now: a report about the proof of the peer it moved away from (perhaps to
  // the aggregator itself) blames nobody
  if (
    segment.state !== 'proved' ||
    (report.proofSha256 !== '' && report.proofSha256 !== segment.proofSha256)
  ) {
    return 'ignore'
  }
  if (report.ownSegment) return 'reporter'
  if (code === FailCode.PROOF_INVALID) return 'owner'
  if (report.fetchFailures < MAX_FETCH_RETRIES) return 'retry'
  return report.otherOwnersUnreached >= 1 ? 'aggregator-unreachable' : 'owner-unreachable'
}

/**
 * The units a Reserved grants, counted as no more than were asked: a peer that answers more (1,000,000 for 1)
 * is not believed, and the job never plans on units it did not ask for. Not failed as a liar: the reply binds
 * the peer to at least what was asked, which is all the job uses.
 */
export function grantedUnits(asked: number, answered: number): number {
  return Math.max(0, Math.min(asked, answered))
}

/**
 * What a peer may report about one of its segments that can follow the segment rather than the peer: its prover
 * refused or failed it (PROVER, INTERNAL), or the segment's input or hints, the same for every peer, were wrong
 * (INPUT, HINTS). Everything else is pinned on the peer by what the submitter saw: its silence or lack of
 * progress (TIMEOUT), its stream or transfers failing (LOST, UNREACHABLE, TRANSFER), garbage (PROTOCOL), a lie
 * shown by others (PROOF_INVALID, CONTRIBUTION_MISMATCH), a cancel of its own (CANCELLED).
 */
const SEGMENT_FAILURE_CODES: ReadonlySet<string> = new Set(['PROVER', 'INTERNAL', 'INPUT', 'HINTS'])

/**
 * Whether a failed peer's report about `segment` counts as a refusal of that segment (judgeRefusals decides what
 * follows). Only a failure about that very segment, of a kind that may follow the segment itself, does. A failure
 * pinned on the peer costs the peer alone: it is excluded from the job (and penalised when it lied), and the
 * segments it held move for free.
 */
export function refusesSegment(failure: PeerFailure, blamed: number | undefined, segment: number): boolean {
  return blamed === segment && SEGMENT_FAILURE_CODES.has(failure.code)
}

/** Who refused one segment so far (a failure for which refusesSegment holds) */
export interface SegmentRefusals {
  /** Remote peers, by id: each one's word, which may be a lie */
  remote: ReadonlySet<string>
  /** This daemon's own prover refused it: trusted */
  local: boolean
}

/**
 * - `move`: the segment goes to a replacement as any other
 * - `ask-local`: more than jobs.max_retries distinct remote peers refused it: this daemon's own prover, trusted,
 *   takes it and decides
 * - `give-up`: the segment cannot be proved and the job fails
 */
export type RefusalVerdict = 'move' | 'ask-local' | 'give-up'

/**
 * What becomes of a segment after its latest refusal. A remote peer's word that its prover cannot prove a
 * segment costs that peer (it leaves the job) but decides nothing: a liar, or max_retries + 1 Sybil identities,
 * reporting PROVER on one segment failed the job when every report spent the segment's budget. The segment is
 * given up only when this daemon's own prover refused it as well as a remote peer (two provers, one trusted,
 * agree), or when more than `maxRetries` distinct remote peers refused it and this daemon takes no part in the
 * job (`localInJob` false: no trusted prover to ask). The job stays bounded: each refusing peer leaves it for
 * good, the peers are finite, and the job's timeout caps the whole.
 */
export function judgeRefusals(
  refusals: SegmentRefusals,
  maxRetries: number,
  localInJob: boolean
): RefusalVerdict {
  if (refusals.local && refusals.remote.size > 0) return 'give-up'
  if (refusals.remote.size <= maxRetries) return 'move'
  if (refusals.local) return 'give-up'
  return localInJob ? 'ask-local' : 'give-up'
}

/** A peer holding segments of the job, as the cross-check rule sees it */
export interface Holder {
  peerId: string
  /** This daemon: its own prover is trusted */
  local: boolean
}

/**
 * The peers whose contributions must be cross-checked before the challenge is fixed: each peer holding segments,
 * except this daemon, that has no contribution vouched for in this job (one a second peer computed alike) and is
 * not `settled` (under a check now, or accepted unchecked because no second peer could be had). One contribution
 * per peer is checked, picked at random when the check starts, so a peer cannot tell which: a peer that lies in
 * every contribution (a broken or hostile prover) is always caught before the challenge; one that lies in j of its
 * k segments with probability j/k, and otherwise after it (a restart, the liar penalised).
 */
export function peersToCheck(
  holders: readonly Holder[],
  vouched: ReadonlySet<string>,
  settled: ReadonlySet<string>
): string[] {
  return holders
    .filter((holder) => !holder.local && !vouched.has(holder.peerId) && !settled.has(holder.peerId))
    .map((holder) => holder.peerId)
}
