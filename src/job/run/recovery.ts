/** What happens when a peer fails: who notices (silence, no progress), and where its segments move */
import { formatDuration } from '../../config/duration.js'
import { toError } from '../../net/framed-stream.js'
import { JobFailure } from '../errors.js'
import { describePeerFailure } from '../../jobs-model/peer-failure.js'
import { shortPeerId } from '../../jobs-model/peer-id.js'
import { type Link, leastLoaded } from '../link.js'
import { awaitsWork } from '../progress-deadline.js'
import { judgeRefusals, type RefusalVerdict, refusesSegment } from '../blame.js'
import type { JobState } from '../../jobs-model/states.js'
import type { PeerFailure, SegmentRecord } from '../../jobs-model/types.js'
import type { JobRunState } from './state.js'
import { leaseSpare, closeLink } from './leases.js'
import { assignTo, track } from './shipping.js'
import { askWaitingReferees, dropDispute } from './disputes.js'
import { electAggregator, withdrawFetches } from './aggregation.js'
import { dropCheck, requestChecks } from './checks.js'

/** The states in which peers have work in hand (see checkProgress) */
const PROGRESS_STATES: ReadonlySet<JobState> = new Set(['contributing', 'proving', 'aggregating'])

/**
 * A peer with work in hand (awaitsWork) that showed no progress for jobs.progress_timeout is failed like a silent
 * one: keep-alives say it is there, not that it works (a prover that never answers, a peer stalling on purpose)
 */
export function checkProgress(run: JobRunState): void {
  if (run.done || !PROGRESS_STATES.has(run.record.state)) return
  const now = Date.now()
  const { progressTimeoutMs } = run.ctx.settings
  const allProved = run.record.segments.every((segment) => segment.state === 'proved')
  for (const link of run.healthyLinks()) {
    const standing = { aggregator: link === run.aggregator, allProved, finalIn: run.final !== undefined }
    if (!awaitsWork(link, standing) && !owesContribution(run, link)) link.progressAt = now
    else if (now - link.progressAt > progressTimeoutMs) {
      peerFailed(run, link, {
        code: 'TIMEOUT',
        message: `it showed no progress for ${((now - link.progressAt) / 1000).toFixed(1)} s with work in hand, over jobs.progress_timeout (${formatDuration(progressTimeoutMs)})`
      })
    }
  }
}

/**
 * A checker or a referee before the challenge gets this many times the slowest contribution of the job so far
 * (SECOND_OPINION_MIN_MS at least, jobs.progress_timeout at most) to send the one it was asked for: the
 * challenge waits on it, and a peer that never answers held it to the progress deadline, twice in a row when the
 * next referee leased was silent too (a 5-peer hostile run). A contribution is one segment's pass of the
 * prover, the same work each peer already did for its own segments.
 */
const SECOND_OPINION_FACTOR = 4
/** The least time a checker or referee gets: a slice to move and one contribution on a loaded machine */
const SECOND_OPINION_MIN_MS = 3_000

export function secondOpinionDeadlineMs(run: JobRunState): number {
  return Math.min(
    run.ctx.settings.progressTimeoutMs,
    Math.max(SECOND_OPINION_MIN_MS, SECOND_OPINION_FACTOR * run.slowestContributionMs)
  )
}

/**
 * Before the challenge, a remote checker or referee past its deadline (secondOpinionDeadlineMs) fails (TIMEOUT):
 * the silent one costs itself, and another is asked (peerFailed re-opens its check or dispute). After the
 * challenge a referee may be proving its own segments first; the progress deadline covers it then.
 */
export function checkSecondOpinions(run: JobRunState): void {
  if (run.done || run.record.challenge !== undefined) return
  const limitMs = secondOpinionDeadlineMs(run)
  const now = Date.now()
  const late = new Set<Link>()
  for (const check of run.checks.values()) {
    if (check.checker === undefined || check.claim !== undefined || check.since === undefined) continue
    if (now - check.since > limitMs) late.add(check.checker)
  }
  for (const { referee, since } of run.disputes.values()) {
    if (referee !== undefined && since !== undefined && now - since > limitMs) late.add(referee)
  }
  for (const link of late) {
    if (link.peer.local) continue
    peerFailed(run, link, {
      code: 'TIMEOUT',
      message: `it did not send the contribution it was asked for as a second opinion within ${formatDuration(limitMs)} (${SECOND_OPINION_FACTOR}x the slowest contribution of the job, at least ${formatDuration(SECOND_OPINION_MIN_MS)})`
    })
  }
}

/** A checker or a referee owes the contribution it was asked for: its silence about it counts too */
function owesContribution(run: JobRunState, link: Link): boolean {
  return (
    [...run.checks.values()].some((check) => check.checker === link && check.claim === undefined) ||
    [...run.disputes.values()].some((dispute) => dispute.referee === link)
  )
}

/** A remote peer that sent nothing (not even a keep-alive) for peer_timeout is lost: frozen, or cut off */
export function checkSilence(run: JobRunState): void {
  for (const { key: link, silentMs } of run.silence.tick()) {
    peerFailed(run, link, {
      code: 'TIMEOUT',
      message: `it sent nothing for ${(silentMs / 1000).toFixed(1)} s, over jobs.peer_timeout (${formatDuration(run.ctx.settings.peerTimeoutMs)})`
    })
  }
}

/**
 * A peer is lost or failed its share: it is cancelled and excluded from the job, and its segments move to a
 * replacement (docs/architecture.md, failure rules). The aggregator lost means the next peer with all its
 * segments proved takes over. `blamed`: the one segment the failure was about, when it was about one (an
 * invalid proof).
 */
export function peerFailed(run: JobRunState, link: Link, failure: PeerFailure, blamed?: number): void {
  if (link.closed || run.done) return
  const who = `peer ${shortPeerId(link.peer.peerId)}${link.peer.local ? ' (this daemon)' : ''}`
  const what = describePeerFailure(failure)
  link.record.state = 'failed'
  link.record.failure = failure
  run.excluded.add(link.peer.peerId)
  run.log.warn(
    { peer: link.peer.peerId, code: failure.code, segment: failure.segment, err: failure.message },
    'peer failed'
  )
  run.ctx.event({ kind: 'peer-failed', peer: link.peer.peerId, failure, message: `failed: ${what}` })
  void closeLink(run, link, 'cancel', `${who} failed: ${what}`)
  for (const [index, dispute] of run.disputes) {
    if (dispute.claimant === link) {
      // its claim falls with it: the recorded contribution stands, and whoever takes the segment over is checked
      // against it again. Left open, the dispute held phase 2 to its deadline once the referee, settling it, took
      // over a segment that had moved on (two disputes of one liar, the first one failing it)
      dropDispute(run, index)
      continue
    }
    if (dispute.referee !== link) continue
    // another peer settles it
    delete dispute.referee
    delete dispute.since
  }
  for (const [index, check] of run.checks) {
    // the peer it checked is checked again by another (requestChecks below)
    if (check.checker === link) run.checks.delete(index)
  }
  if (run.aggregator === link) {
    run.aggregator = undefined
    run.final = undefined
  }
  moveSegmentsOf(run, link, `${who} (${what})`, blamed, failure)
  askWaitingReferees(run)
  requestChecks(run)
  run.ctx.save()
  electAggregator(run)
  run.notify()
}

/**
 * Moves every segment of a failed peer to a replacement (one batch at a time, in order). When `failure` is one
 * that may follow the segment `blamed` (refusesSegment), the peer's refusal is recorded and judgeRefusals says
 * whether the segment moves as any other, goes to this daemon's own prover to decide, or is given up (the job
 * fails). A failure pinned on the peer, or none given (lost before its assignment), costs no segment anything.
 * `why` names the peer and what happened to it (`peer …abcd1234 (TIMEOUT: it went silent for 3.4 s)`).
 */
export function moveSegmentsOf(
  run: JobRunState,
  link: Link,
  why: string,
  blamed?: number,
  failure?: PeerFailure
): void {
  for (const segment of run.record.segments) {
    if (segment.backupPeerId === link.peer.peerId) delete segment.backupPeerId
  }
  // a segment with a live backup copy does not move: its backup simply becomes its peer
  for (const segment of run.record.segments.filter((candidate) => candidate.peerId === link.peer.peerId)) {
    const backup = run.links.find(
      (candidate) => candidate.peer.peerId === segment.backupPeerId && !candidate.closed
    )
    if (backup === undefined || blamed === segment.index) continue
    segment.peerId = backup.peer.peerId
    delete segment.backupPeerId
  }
  const orphans = run.record.segments.filter((segment) => segment.peerId === link.peer.peerId)
  link.segments = []
  if (orphans.length === 0) return
  const local = run.healthyLinks().find((candidate) => candidate.peer.local)
  const toLocal: SegmentRecord[] = []
  for (const segment of orphans) {
    if (failure !== undefined && refusesSegment(failure, blamed, segment.index)) {
      const verdict = recordRefusal(run, segment.index, link, local !== undefined)
      if (verdict === 'give-up') {
        run.failure ??= new JobFailure('PEER_FAILED', givenUp(run, segment.index, why))
        run.notify()
        return
      }
      if (verdict === 'ask-local') toLocal.push(segment)
    }
    segment.state = 'assigned'
    if (run.record.challenge === undefined) {
      // before the challenge, the replacement's contribution is the one recorded: a lost peer's word is not
      // kept where it costs nothing to have it again (a lie recorded so would otherwise be fixed in the challenge)
      delete segment.contribution
      delete segment.contributor
      dropCheck(run, segment.index)
      dropDispute(run, segment.index)
    }
    delete segment.proofSize
    delete segment.proofSha256
    delete segment.proveMillis
  }
  if (run.aggregator !== link) withdrawFetches(run, orphans)
  const others = orphans.filter((segment) => !toLocal.includes(segment))
  run.recovery = run.recovery
    .then(async () => {
      if (toLocal.length > 0) await reassign(run, toLocal, why, local)
      if (others.length > 0) await reassign(run, others, why)
    })
    .catch((err: unknown) => {
      if (run.ctx.signal.aborted || run.done) return
      run.failure ??= err instanceof JobFailure ? err : new JobFailure('PEER_FAILED', toError(err).message)
      run.notify()
    })
}

/** Records `link`'s refusal of a segment and judges what follows (judgeRefusals) */
function recordRefusal(run: JobRunState, index: number, link: Link, localInJob: boolean): RefusalVerdict {
  const refusals = run.refusals.get(index) ?? { remote: new Set<string>(), local: false }
  if (link.peer.local) refusals.local = true
  else refusals.remote.add(link.peer.peerId)
  run.refusals.set(index, refusals)
  return judgeRefusals(refusals, run.ctx.settings.maxRetries, localInJob)
}

function givenUp(run: JobRunState, index: number, why: string): string {
  const refusals = run.refusals.get(index)
  const peers = (refusals?.remote.size ?? 0) + (refusals?.local === true ? 1 : 0)
  const trusted = refusals?.local === true ? ", this daemon's own prover among them" : ''
  return `segment ${index} failed on ${peers} peers${trusted} (jobs.max_retries = ${run.ctx.settings.maxRetries}); the last: ${why}`
}

/**
 * Replacements: `to` when given and still in the job (this daemon, to decide a segment remote peers refused)
 * takes them all; else new peers with free units, each about one segment per unit it leased (as the layout
 * gives), the rest to the next one; what no new peer takes goes to the least loaded peer of the job. Spread so
 * because one peer taking them all proved them one unit's share at a time: a failed aggregator's 5 segments on
 * one 2-unit replacement took 12.5 s of a 25 s hostile run.
 */
export async function reassign(
  run: JobRunState,
  segments: SegmentRecord[],
  why: string,
  to?: Link
): Promise<void> {
  let rest = segments
  while (rest.length > 0 && !run.done) {
    if (to?.closed === false) {
      takeOver(run, to, rest)
      return
    }
    const spare = await leaseSpare(run)
    const target = spare ?? leastLoaded(run.links, run.record.segments)
    if (target === undefined) {
      throw new JobFailure('PEER_FAILED', `no peer left to take over ${rest.length} segment(s) after ${why}`)
    }
    const share = spare === undefined ? rest : rest.slice(0, Math.max(1, spare.record.units))
    takeOver(run, target, share)
    rest = rest.slice(share.length)
  }
}

function takeOver(run: JobRunState, target: Link, segments: SegmentRecord[]): void {
  const blocks = segments.reduce((sum, segment) => sum + segment.blockCount, 0)
  for (const segment of segments) {
    if (run.disputes.get(segment.index)?.referee === target) dropDispute(run, segment.index)
    segment.peerId = target.peer.peerId
    target.segments.push(segment.index)
    run.assignedAt.set(segment.index, Date.now())
  }
  if (target.record.state === 'proved') target.record.state = 'assigned'
  run.ctx.save()
  run.ctx.event({
    kind: 'takes-over',
    peer: target.peer.peerId,
    segments: segments.map((segment) => segment.index),
    message: `takes over segment${segments.length === 1 ? '' : 's'} ${segments.map((segment) => segment.index).join(',')} (${blocks} blocks)`
  })
  track(run, assignTo(run, target, segments), target)
  requestChecks(run)
}
