/**
 * Before the challenge: a second peer computes one contribution of each peer not yet vouched for in this job.
 * Why: a lie fixed in the challenge cannot be undone in the run (every segment proof is bound to the challenge, and
 * a peer takes one challenge per job), so it cost the whole job a restart (a 5-peer hostile run: 78.7 s against a
 * bound of 48.5 s). Caught before the challenge, a lie costs only the liar's segments, which move on.
 */
import { randomInt } from 'node:crypto'
import { shortPeerId } from '../../jobs-model/peer-id.js'
import type { Link } from '../link.js'
import { peersToCheck } from '../blame.js'
import type { SegmentRecord } from '../../jobs-model/types.js'
import type { JobRunState } from './state.js'
import { send } from './leases.js'
import { assignTo, track } from './shipping.js'
import { openDispute, releaseIfIdle, secondOpinionIn, settleDispute, spareFromTable } from './disputes.js'

/**
 * Starts a check for every peer that needs one (peersToCheck); called whenever segments change hands or a
 * contribution comes in before the challenge. The checker is this daemon when it takes part (trusted, and no
 * transfer), else a peer of the job that has delivered (checkerFor), else, when no peer of the job may still
 * deliver, one leased from the table; with none at all the peer is accepted unchecked (its lie, if any, is caught
 * after the challenge, as before).
 */
export function requestChecks(run: JobRunState): void {
  if (run.done || run.record.challenge !== undefined) return
  const holders = run
    .healthyLinks()
    .filter((link) => link.segments.length > 0)
    .map((link) => ({ peerId: link.peer.peerId, local: link.peer.local }))
  const settled = new Set(run.unchecked)
  for (const index of run.checks.keys()) settled.add(run.record.segments[index]?.peerId ?? '')
  // a disagreement under a referee (or waiting for one) settles both claims: checked again meanwhile, a peer was
  // checked at every contribution that came in, the same liar checking it each time
  for (const [index, dispute] of run.disputes) {
    settled.add(run.record.segments[index]?.peerId ?? '')
    for (const peerId of dispute.claims.keys()) settled.add(peerId)
  }
  for (const peerId of peersToCheck(holders, run.vouched, settled)) {
    const owner = run.links.find((link) => link.peer.peerId === peerId && !link.closed) as Link
    const checker = checkerFor(run, owner)
    // asked again at the next contribution: every contribution must be in before the challenge, so the check
    // starts before it
    if (checker === 'wait') continue
    const segment = run.record.segments[
      owner.segments[randomInt(owner.segments.length)] as number
    ] as SegmentRecord
    run.checks.set(segment.index, { checker })
    if (checker !== undefined) {
      startCheck(run, segment, checker)
      continue
    }
    void spareFromTable(run).then((spare) => {
      const check = run.checks.get(segment.index)
      if (check === undefined || check.checker !== undefined || run.done || segment.peerId !== peerId) {
        // the check became moot while the spare was leased (the owner lost the segment): its units go back now
        if (check !== undefined && check.checker === undefined) run.checks.delete(segment.index)
        if (spare !== undefined) void releaseIfIdle(run, spare)
        if (!run.done) requestChecks(run)
        run.notify()
        return
      }
      if (spare === undefined) {
        run.checks.delete(segment.index)
        run.unchecked.add(peerId)
        run.log.warn({ peer: peerId }, 'no second peer to check a contribution: accepted unchecked')
        requestChecks(run)
        run.notify()
        return
      }
      check.checker = spare
      startCheck(run, segment, spare)
    })
  }
}

/** Who checks `owner`: another peer of the job (secondOpinionIn), or `wait`, or none (lease one from the table) */
const checkerFor = (run: JobRunState, owner: Link): Link | 'wait' | undefined =>
  secondOpinionIn(
    run,
    run.healthyLinks().filter((link) => link !== owner)
  )

function startCheck(run: JobRunState, segment: SegmentRecord, checker: Link): void {
  const check = run.checks.get(segment.index)
  if (check !== undefined) check.since = Date.now()
  run.log.info(
    { segment: segment.index, owner: segment.peerId, checker: checker.peer.peerId },
    'checking a contribution'
  )
  run.ctx.event({
    kind: 'note',
    peer: checker.peer.peerId,
    segment: segment.index,
    message: `checks segment ${segment.index}: ${shortPeerId(segment.peerId)} has no contribution vouched for yet`
  })
  track(run, assignTo(run, checker, [segment]), checker)
}

/** The checker's contribution: it is done with the segment (Forget), and the two claims are compared */
export function checkerContributed(
  run: JobRunState,
  segment: SegmentRecord,
  checker: Link,
  contribution: string
): void {
  const check = run.checks.get(segment.index)
  if (check === undefined) return
  check.claim = contribution
  checker.forgotten.add(segment.index)
  send(run, checker, { forget: { segments: [segment.index] } })
  settleCheck(run, segment)
}

/**
 * Once both the owner's and the checker's contributions are in: alike, both peers are vouched for; different,
 * this daemon's own computation decides at once, and another peer's is settled by a third (openDispute)
 */
export function settleCheck(run: JobRunState, segment: SegmentRecord): void {
  const check = run.checks.get(segment.index)
  const { contribution, contributor } = segment
  if (check?.checker === undefined || check.claim === undefined) return
  if (contribution === undefined || contributor !== segment.peerId) return
  run.checks.delete(segment.index)
  const { checker, claim } = check
  if (claim === contribution) {
    run.vouched.add(contributor)
    run.vouched.add(checker.peer.peerId)
  } else if (checker.peer.local) {
    const claims = new Map([
      [contributor, contribution],
      [checker.peer.peerId, claim]
    ])
    settleDispute(run, segment, { claimant: checker, contribution: claim, claims }, checker, claim)
  } else {
    openDispute(run, segment, checker, claim)
  }
  run.notify()
}

/** The checked peer lost the segment before the challenge: the check is moot, the checker forgets it */
export function dropCheck(run: JobRunState, index: number): void {
  const check = run.checks.get(index)
  if (check === undefined) return
  run.checks.delete(index)
  if (check.checker !== undefined && !check.checker.closed && check.claim === undefined) {
    check.checker.forgotten.add(index)
    send(run, check.checker, { forget: { segments: [index] } })
    void releaseIfIdle(run, check.checker)
  }
}
