/** Two peers computed different contributions for one segment: a third one settles it */
import { toError } from '../../net/framed-stream.js'
import { sleep } from '../../prover/signals.js'
import { JobFailure, RestartJobError } from '../errors.js'
import { shortPeerId } from '../../jobs-model/peer-id.js'
import { type Link, leastLoaded } from '../link.js'
import type { SegmentRecord } from '../../jobs-model/types.js'
import type { JobRunState, Dispute } from './state.js'
import { leaseSpare, releaseUnneeded, send } from './leases.js'
import { assignTo, track } from './shipping.js'
import { withdrawFetches } from './aggregation.js'

/**
 * Two peers computed different contributions for one segment (a replacement and the recorded one, or a checker and
 * the owner before the challenge: src/job/run/checks.ts): a third (a peer of the job that holds neither claim,
 * else a new one leased from the table) computes it too, and the one it agrees with stands (settleDispute). One
 * lying peer costs itself, not the job; the job fails only when no third peer can be had, or when all three
 * disagree (the provers are not deterministic, or not the same program).
 */
export function openDispute(
  run: JobRunState,
  segment: SegmentRecord,
  claimant: Link,
  contribution: string
): void {
  if (run.disputes.has(segment.index)) return
  const first = segment.contributor ?? '?'
  run.disputes.set(segment.index, {
    claimant,
    contribution,
    claims: new Map([
      [first, segment.contribution as string],
      [claimant.peer.peerId, contribution]
    ])
  })
  askReferee(run, segment)
}

/** Disputes still without a referee ask again: called when a contribution comes in and when a peer fails */
export function askWaitingReferees(run: JobRunState): void {
  for (const [index, dispute] of run.disputes) {
    if (dispute.referee === undefined && !dispute.leasing)
      askReferee(run, run.record.segments[index] as SegmentRecord)
  }
}

/**
 * A referee for the dispute on `segment`: a peer of the job that has delivered and holds neither claim; while
 * none has but one of them may still, the dispute waits for it (a liar that delivers first, checking peers that
 * have not: the table had no spare, and the job failed for want of a third peer two of its own were about to be);
 * when none may, one leased from the table. A liar that held the whole job leaves only its replacement in it.
 */
function askReferee(run: JobRunState, segment: SegmentRecord): void {
  const dispute = run.disputes.get(segment.index) as Dispute
  const referee = refereeInJob(run, dispute)
  if (referee === 'wait') return
  if (referee !== undefined) {
    startDispute(run, segment, dispute, referee)
    return
  }
  dispute.leasing = true
  void spareFromTable(run)
    .then(async (spare) => {
      dispute.leasing = false
      if (run.done || run.disputes.get(segment.index) !== dispute || dispute.referee !== undefined) {
        if (spare !== undefined) await releaseIfIdle(run, spare)
        return
      }
      if (spare === undefined && refereeInJob(run, dispute) !== undefined) {
        // peers joined the job meanwhile (the replacements of a lost peer, leased from the same table): one of
        // them settles it, once it delivers
        askReferee(run, segment)
        return
      }
      if (spare === undefined) {
        const [first, recorded] = [...dispute.claims][0] as [string, string]
        run.failure ??= new JobFailure(
          'CONTRIBUTION_MISMATCH',
          `segment ${segment.index}: peer ${shortPeerId(dispute.claimant.peer.peerId)} computed contribution ${dispute.contribution.slice(0, 16)}…, ` +
            `peer ${shortPeerId(first)} had ${recorded.slice(0, 16)}…, and no third peer is left to settle it`
        )
        run.notify()
        return
      }
      startDispute(run, segment, dispute, spare)
    })
    .catch((err: unknown) => {
      dispute.leasing = false
      run.failure ??= toError(err)
      run.notify()
    })
}

/**
 * The dispute on segment `index` ends unsettled, its referee done with it: the recorded contribution it was about
 * is gone (its owner lost the segment before the challenge), or the referee takes the segment over (an Assign of a
 * segment a peer already holds is a protocol error to it). Whoever contributes the segment next is compared with
 * what is recorded then, as any contribution.
 */
export function dropDispute(run: JobRunState, index: number): void {
  const dispute = run.disputes.get(index)
  if (dispute === undefined) return
  run.disputes.delete(index)
  const { referee } = dispute
  if (referee !== undefined && !referee.closed) {
    referee.forgotten.add(index)
    send(run, referee, { forget: { segments: [index] } })
  }
}

const refereeInJob = (run: JobRunState, dispute: Dispute): Link | 'wait' | undefined =>
  secondOpinionIn(
    run,
    run.healthyLinks().filter((link) => !dispute.claims.has(link.peer.peerId))
  )

/**
 * Who of `links` (peers of the job) gives a second opinion, a check's or a referee's: the one deliveredFirst
 * picks; `wait` while none has delivered but one still owes a contribution of its own; none when none may (lease
 * one from the table)
 */
export function secondOpinionIn(run: JobRunState, links: Link[]): Link | 'wait' | undefined {
  const chosen = deliveredFirst(run, links)
  if (chosen !== undefined) return chosen
  return links.some((link) => link.segments.some((index) => !link.contributed.has(index)))
    ? 'wait'
    : undefined
}

/**
 * The peer of `links` to ask for a second computation (a check, or a referee's): this daemon when among them
 * (trusted); else one that has delivered in this job, vouched for first (a contribution a second peer computed
 * alike), then one that sent a contribution and owes none of its own; the least loaded of those. None when no
 * peer of `links` has delivered: a peer that never answers (an attacker leased first for the units it
 * advertises), chosen so, held the challenge to its deadline (a 5-peer hostile run: 26.7 s against a bound of
 * 24.8 s).
 */
export function deliveredFirst(run: JobRunState, links: Link[]): Link | undefined {
  const local = links.find((link) => link.peer.local)
  if (local !== undefined) return local
  const vouched = links.filter((link) => run.vouched.has(link.peer.peerId))
  // a spare that answered a check and holds no segment counts: its check became moot when the owner was lost,
  // and it is the one peer of the job a referee could be (it was not, and the job failed for want of a third peer)
  const delivered = links.filter(
    (link) => link.contributed.size > 0 && link.segments.every((index) => link.contributed.has(index))
  )
  return leastLoaded(vouched, run.record.segments) ?? leastLoaded(delivered, run.record.segments)
}

/**
 * Waits between tries for a peer of the table to lease as referee: the peers released from this job at its plan
 * show free units again only at their next advert, and under load a try found none (a 5-peer hostile run)
 */
const REFEREE_RETRY_MS = [1_000, 2_000, 4_000]

/** A peer leased from the table to referee or check; counted in leasingSpares meanwhile, which the challenge waits on */
export async function spareFromTable(run: JobRunState): Promise<Link | undefined> {
  run.leasingSpares++
  try {
    for (const waitMs of [0, ...REFEREE_RETRY_MS]) {
      if (!(await sleep(waitMs, run.ctx.signal))) return undefined
      const spare = await leaseSpare(run)
      if (spare !== undefined || run.done) return spare
    }
    return undefined
  } finally {
    run.leasingSpares--
    run.notify()
  }
}

/**
 * A peer leased to check or settle that has nothing left to do (its check became moot) is released at once, not
 * held idle to the job's end; a peer with segments or a check or a dispute to settle keeps its lease
 */
export async function releaseIfIdle(run: JobRunState, link: Link): Promise<void> {
  if (link.closed || link.peer.local || link.segments.length > 0 || run.aggregator === link) return
  if ([...run.checks.values()].some((check) => check.checker === link)) return
  if ([...run.disputes.values()].some((dispute) => dispute.referee === link)) return
  await releaseUnneeded(run, link)
}

/** The referee computes the segment's contribution; settleDispute decides when it comes */
function startDispute(run: JobRunState, segment: SegmentRecord, dispute: Dispute, referee: Link): void {
  dispute.referee = referee
  dispute.since = Date.now()
  const [first, second] = [...dispute.claims.keys()]
  run.log.warn(
    { segment: segment.index, first, second, referee: referee.peer.peerId },
    'contributions disagree: a third peer settles it'
  )
  run.ctx.event({
    kind: 'note',
    peer: referee.peer.peerId,
    segment: segment.index,
    message: `settles segment ${segment.index}: ${shortPeerId(first ?? '?')} and ${shortPeerId(second ?? '?')} computed different contributions`
  })
  track(run, assignTo(run, referee, [segment]), referee)
}

/** The referee's contribution decides: the claim it matches stands, the other claimant lied (penalised, failed) */
export function settleDispute(
  run: JobRunState,
  segment: SegmentRecord,
  dispute: Dispute,
  referee: Link,
  contribution: string
): void {
  run.disputes.delete(segment.index)
  const agreed = [...dispute.claims].filter(([, claim]) => claim === contribution).map(([peerId]) => peerId)
  const liars = [...dispute.claims.keys()].filter((peerId) => !agreed.includes(peerId))
  if (agreed.length === 0) {
    run.failure ??= new JobFailure(
      'CONTRIBUTION_MISMATCH',
      `segment ${segment.index}: three peers computed three different contributions: the provers disagree (not deterministic, or not the same program)`
    )
    run.notify()
    return
  }
  const recordedWasLie = segment.contribution !== contribution
  for (const peerId of agreed) run.vouched.add(peerId)
  for (const liar of liars) {
    run.ctx.penalise(liar, `a wrong contribution to segment ${segment.index}, shown by two other peers`)
  }
  if (recordedWasLie) {
    referee.forgotten.add(segment.index)
    send(run, referee, { forget: { segments: [segment.index] } })
    segment.contribution = contribution
    segment.contributor = agreed[0]
    if (run.record.challenge !== undefined) {
      // the challenge was fixed from the lie and every peer proves against it; a peer takes one challenge per
      // job, so the proofs cannot be redone in this run: the job starts again, the liar penalised
      run.failure ??= new RestartJobError(
        'CONTRIBUTION_MISMATCH',
        `segment ${segment.index}: peer ${shortPeerId(liars[0] ?? '?')}'s contribution was wrong (two other peers agree on another) and the challenge was already fixed from it`
      )
      run.notify()
      return
    }
  } else if (!liars.includes(segment.peerId)) {
    // a checker lied (src/job/run/checks.ts), or the liar lost the segment meanwhile and its replacement
    // contributed what the referee did: the owner keeps the segment, the referee is done with it
    referee.forgotten.add(segment.index)
    send(run, referee, { forget: { segments: [segment.index] } })
  } else {
    // the new owner lied: the referee, which computed the right contribution, takes the segment over
    const owner = run.links.find((link) => link.peer.peerId === segment.peerId && !link.closed)
    segment.peerId = referee.peer.peerId
    segment.state = 'contributed'
    delete segment.proofSize
    delete segment.proofSha256
    if (owner !== undefined) owner.segments = owner.segments.filter((index) => index !== segment.index)
    referee.segments.push(segment.index)
    referee.contributed.add(segment.index)
    withdrawFetches(run, [segment])
  }
  run.ctx.save()
  for (const liar of liars) {
    const link = run.links.find((candidate) => candidate.peer.peerId === liar && !candidate.closed)
    if (link !== undefined) {
      run.peerFailed(link, {
        code: 'CONTRIBUTION_MISMATCH',
        segment: segment.index,
        message: `its contribution to segment ${segment.index} differs from the one two other peers computed`
      })
    }
  }
  run.notify()
}
