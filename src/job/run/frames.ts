/** The frames a peer sends on its job stream, and what each one changes in the job */
import { FailCode, type PeerFrame } from '../../../protocols/job/pb/job.js'
import { toString } from 'uint8arrays'
import { peerText } from '../../net/peer-text.js'
import { describePeerFailure } from '../../jobs-model/peer-failure.js'
import type { Link } from '../link.js'
import { acceptProgress } from '../progress.js'
import { judgeFailure, MAX_FETCH_RETRIES } from '../blame.js'
import type { PeerFailure, SegmentRecord } from '../../jobs-model/types.js'
import type { JobRunState } from './state.js'
import { askWaitingReferees, openDispute, settleDispute } from './disputes.js'
import { checkerContributed, requestChecks, settleCheck } from './checks.js'
import { settleBackup } from './backups.js'
import { electAggregator, relieveAggregator, sendFetch } from './aggregation.js'

/** A failed fetch of a proof by the aggregator is sent again after this long times the attempt */
const FETCH_RETRY_MS = 500

export function onFrame(run: JobRunState, link: Link, frame: PeerFrame): void {
  if (link.closed) return
  if (frame.contribution !== undefined) {
    const segment = ownSegment(run, link, frame.contribution.segment)
    if (segment === undefined) return
    const contribution = toString(frame.contribution.contribution, 'base16')
    link.contributed.add(segment.index)
    link.progressAt = Date.now()
    const dispute = run.disputes.get(segment.index)
    timeContribution(run, link, segment.index)
    if (dispute !== undefined && dispute.referee === link) {
      settleDispute(run, segment, dispute, link, contribution)
    } else if (run.checks.get(segment.index)?.checker === link) {
      checkerContributed(run, segment, link, contribution)
    } else if (segment.contribution !== undefined && segment.contribution !== contribution) {
      // A replacement recomputed a segment another peer had contributed: they must agree, byte for byte
      openDispute(run, segment, link, contribution)
    } else {
      segment.contribution = contribution
      segment.contributor ??= link.peer.peerId
      if (segment.state === 'assigned') segment.state = 'contributed'
      run.ctx.save()
      run.ctx.event({
        kind: 'contributed',
        segment: segment.index,
        peer: link.peer.peerId,
        message: 'contributed'
      })
      settleCheck(run, segment)
    }
    // a peer that delivered may check others now or settle a dispute, and one whose check waited may be checked
    askWaitingReferees(run)
    requestChecks(run)
  } else if (frame.proved !== undefined) {
    const segment = ownSegment(run, link, frame.proved.segment)
    if (segment === undefined || segment.state === 'proved') return
    settleBackup(run, segment, link)
    link.progressAt = Date.now()
    link.busySince = Date.now()
    segment.state = 'proved'
    segment.proofSize = Number(frame.proved.size)
    segment.proofSha256 = toString(frame.proved.sha256, 'base16')
    segment.proveMillis = frame.proved.millis
    link.proved.add(segment.index)
    if (link.segments.every((index) => link.proved.has(index))) link.record.state = 'proved'
    run.ctx.save()
    run.ctx.event({
      kind: 'proved',
      segment: segment.index,
      peer: link.peer.peerId,
      message: 'proved'
    })
    if (run.aggregator === undefined) electAggregator(run)
    else sendFetch(run, segment)
  } else if (frame.progress !== undefined) {
    const report = acceptProgress(link.peer.peerId, frame.progress, {
      segments: link.segments,
      aggregator: link === run.aggregator
    })
    if (report === undefined) return
    link.progressAt = Date.now()
    run.progress.offer(report)
    return
  } else if (frame.final !== undefined) {
    if (run.relieved.has(link)) return
    if (link !== run.aggregator) {
      run.peerFailed(link, {
        code: 'PROTOCOL',
        message: 'it sent a final proof without being the aggregator'
      })
      return
    }
    // the aggregator is sent a proof to fetch only once its segment is proved: a final proof announced before
    // every segment is proved cannot hold them all (a peer claiming its segments proved at once, named aggregator,
    // held the job to the progress deadline; 10 s of a 46 s hostile run)
    const unproved = run.record.segments.filter((segment) => segment.state !== 'proved')
    if (unproved.length > 0 && unproved.every((segment) => run.fetches.withdrawn.has(segment.index))) {
      // an aggregation that ran while those segments moved (their owner failed after its proof was fetched): not
      // the aggregator's fault, and its next final proof, once the replacements' proofs are fetched, is the one
      run.log.info(
        { peer: link.peer.peerId, unproved: unproved.length },
        'a final proof from before segments moved'
      )
      return
    }
    if (unproved.length > 0) {
      run.peerFailed(link, {
        code: 'PROTOCOL',
        message: `it announced a final proof while ${unproved.length} segment(s) were not proved yet`
      })
      return
    }
    link.progressAt = Date.now()
    run.final = { link, size: Number(frame.final.size), sha256: toString(frame.final.sha256, 'base16') }
    run.ctx.event({
      kind: 'final',
      peer: link.peer.peerId,
      size: Number(frame.final.size),
      message: `final proof ready (${frame.final.size} bytes)`
    })
  } else if (frame.failed !== undefined) {
    onFailed(
      run,
      link,
      frame.failed.code,
      frame.failed.message,
      frame.failed.segment,
      toString(frame.failed.proofSha256, 'base16')
    )
    return
  }
  run.notify()
}

/**
 * How long `link` took to send this contribution, from when it was asked (as owner, checker or referee): the
 * slowest one sets the deadline of the checks (secondOpinionDeadlineMs in src/job/run/recovery.ts)
 */
function timeContribution(run: JobRunState, link: Link, index: number): void {
  const dispute = run.disputes.get(index)
  const check = run.checks.get(index)
  const askedAt =
    dispute?.referee === link
      ? dispute.since
      : check?.checker === link
        ? check.since
        : run.assignedAt.get(index)
  if (askedAt !== undefined)
    run.slowestContributionMs = Math.max(run.slowestContributionMs, Date.now() - askedAt)
}

/**
 * A peer reports a failure; judgeFailure says who answers for it. Only what the evidence pins on a peer costs
 * that peer: a proof the aggregator could not fetch is fetched again, and a segment that has moved since is
 * not blamed on anyone (a report about an old owner's proof would otherwise fail the peer that just took over).
 */
export function onFailed(
  run: JobRunState,
  link: Link,
  code: FailCode,
  said: string,
  segmentIndex?: number,
  proofSha256 = ''
): void {
  const message = peerText(said)
  const failure: PeerFailure = { code: FailCode[code] ?? `code ${code}`, message, segment: segmentIndex }
  const blamed = segmentIndex === undefined ? undefined : run.record.segments[segmentIndex]
  const fromAggregator = link === run.aggregator
  const owner =
    blamed === undefined
      ? undefined
      : run.links.find((candidate) => candidate.peer.peerId === blamed.peerId && !candidate.closed)
  // a peer relieved of aggregating may still report on the pulls it had begun: they are no longer its work
  if (run.relieved.has(link) && blamed !== undefined && owner !== link) return
  const fetches = run.fetches
  const verdict = judgeFailure({
    code,
    fromAggregator,
    segment: blamed,
    proofSha256,
    ownSegment: owner === link,
    fetchFailures: blamed === undefined ? 0 : (fetches.failures.get(blamed.index) ?? 0),
    otherOwnersUnreached: [...fetches.unreached].filter(
      (peerId) =>
        peerId !== owner?.peer.peerId && run.links.some((l) => l.peer.peerId === peerId && !l.closed)
    ).length
  })
  run.log.info(
    { peer: link.peer.peerId, code: failure.code, segment: segmentIndex, verdict },
    'peer reported a failure'
  )
  switch (verdict) {
    case 'ignore':
      return
    case 'retry': {
      const segment = blamed as SegmentRecord
      const attempts = (fetches.failures.get(segment.index) ?? 0) + 1
      fetches.failures.set(segment.index, attempts)
      if (owner !== undefined) fetches.unreached.add(owner.peer.peerId)
      const timer = setTimeout(() => {
        if (run.aggregator === link && segment.state === 'proved') sendFetch(run, segment)
      }, FETCH_RETRY_MS * attempts)
      timer.unref()
      return
    }
    case 'aggregator-unreachable':
      relieveAggregator(
        run,
        link,
        `it could not fetch the proofs of ${fetches.unreached.size} peers that the submitter still hears from: ${message}`
      )
      return
    case 'owner':
    case 'owner-unreachable': {
      if (owner === undefined) return
      if (verdict === 'owner')
        run.ctx.penalise(owner.peer.peerId, `invalid proof of segment ${blamed?.index}: ${message}`)
      run.peerFailed(
        owner,
        {
          code: failure.code,
          segment: blamed?.index,
          message:
            verdict === 'owner'
              ? `the aggregator found its proof invalid: ${message}`
              : `the aggregator could not fetch its proof ${MAX_FETCH_RETRIES + 1} times: ${message}`
        },
        blamed?.index
      )
      return
    }
    case 'reporter':
      if (code === FailCode.PROOF_INVALID) run.ctx.penalise(link.peer.peerId, describePeerFailure(failure))
      run.peerFailed(link, failure, segmentIndex)
      return
  }
}

export function ownSegment(run: JobRunState, link: Link, index: number): SegmentRecord | undefined {
  const segment = run.record.segments[index]
  if (link.forgotten.has(index)) return undefined
  if (
    segment === undefined ||
    (segment.peerId !== link.peer.peerId &&
      segment.backupPeerId !== link.peer.peerId &&
      run.disputes.get(index)?.referee !== link &&
      run.checks.get(index)?.checker !== link)
  ) {
    run.peerFailed(link, {
      code: 'PROTOCOL',
      message: `it reported segment ${index}, which is not its own`
    })
    return undefined
  }
  return segment
}
