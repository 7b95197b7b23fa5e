/** Who aggregates the segment proofs, and the fetches of those proofs sent to it */
import { fromString } from 'uint8arrays'
import type { Link } from '../link.js'
import type { SegmentRecord } from '../../jobs-model/types.js'
import { type JobRunState, newFetches } from './state.js'
import { send } from './leases.js'

/**
 * The first peer to have proved all its segments aggregates, fetching every proved segment. Tried on each
 * Proved, and again when the aggregator is lost or sent an invalid final proof: the next such peer takes over.
 */
export function electAggregator(run: JobRunState): void {
  if (run.aggregator !== undefined || run.record.challenge === undefined || run.done) return
  const link = aggregatorCandidate(run)
  if (link === undefined) return
  run.aggregator = link
  run.fetches = newFetches()
  link.progressAt = Date.now()
  run.record.aggregator = link.peer.peerId
  run.ctx.save()
  run.ctx.event({ kind: 'aggregator', peer: link.peer.peerId, message: 'aggregates' })
  const contributions = run.record.segments.map((segment) =>
    fromString(segment.contribution as string, 'base16')
  )
  send(run, link, { aggregate: { contributions } })
  for (const segment of run.record.segments) if (segment.state === 'proved') sendFetch(run, segment)
}

/**
 * The aggregator's own connection fails it (judgeFailure): another peer with all its segments proved aggregates
 * and this one keeps its segments, not blamed. With no other such peer it is failed like a lost one (not
 * penalised), so that its segments move and someone can aggregate.
 */
export function relieveAggregator(run: JobRunState, link: Link, why: string): void {
  run.relieved.add(link)
  run.aggregator = undefined
  run.final = undefined
  if (aggregatorCandidate(run) === undefined) {
    run.relieved.delete(link)
    run.peerFailed(link, { code: 'TRANSFER', message: why })
    return
  }
  run.log.warn({ peer: link.peer.peerId, why }, 'aggregator relieved')
  run.ctx.event({ kind: 'note', peer: link.peer.peerId, message: `no longer aggregates: ${why}` })
  electAggregator(run)
  run.notify()
}

/** The first healthy peer with all its segments proved that was not relieved of aggregating */
export function aggregatorCandidate(run: JobRunState): Link | undefined {
  return run
    .healthyLinks()
    .find(
      (candidate) =>
        !run.relieved.has(candidate) &&
        candidate.segments.length > 0 &&
        candidate.segments.every((index) => candidate.proved.has(index))
    )
}

/**
 * Segments that changed hands: the aggregator drops the proofs it fetched of them (Forget), and fetches their new
 * owners' once proved. Without it, a segment a referee took from a liar after the challenge was aggregated from
 * the liar's proof, and the honest aggregator failed for announcing a final proof before that segment was proved.
 */
export function withdrawFetches(run: JobRunState, segments: SegmentRecord[]): void {
  const aggregator = run.aggregator
  if (aggregator === undefined) return
  for (const segment of segments) run.fetches.withdrawn.add(segment.index)
  // a segment the aggregator itself now owns (a referee that took it over) is not forgotten there: a Forget would
  // drop its own work on it too; the fetch of its own proof, once proved, replaces the copy it held
  const forget = segments.filter((segment) => segment.peerId !== aggregator.peer.peerId)
  if (forget.length > 0)
    send(run, aggregator, { forget: { segments: forget.map((segment) => segment.index) } })
}

export function sendFetch(run: JobRunState, segment: SegmentRecord): void {
  const aggregator = run.aggregator
  if (aggregator === undefined) return
  const holder = run.links.find((link) => link.peer.peerId === segment.peerId)
  send(run, aggregator, {
    fetch: {
      segment: segment.index,
      peerId: segment.peerId,
      addrs: (holder?.peer.addrs ?? []).map((addr) => new Uint8Array(addr)),
      size: BigInt(segment.proofSize ?? 0),
      sha256: fromString(segment.proofSha256 ?? '', 'base16')
    }
  })
}
