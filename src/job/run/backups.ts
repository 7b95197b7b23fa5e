/** Backup copies of straggling segments on idle peers: the first proof wins */
import { shortPeerId } from '../../jobs-model/peer-id.js'
import type { Link } from '../link.js'
import { findStragglers } from '../stragglers.js'
import type { SegmentRecord } from '../../jobs-model/types.js'
import type { JobRunState } from './state.js'
import { send } from './leases.js'
import { assignTo, track } from './shipping.js'

/**
 * A straggler (see findStragglers) gets a backup copy on an idle peer. The first proof to arrive wins; the other
 * copy is dropped (Forget), and what its peer says of it is ignored.
 */
export function checkStragglers(run: JobRunState): void {
  if (run.record.state !== 'proving' || run.done) return
  const { stragglerFactor } = run.ctx.settings
  for (const { segment, idle, elapsedMs, limitMs } of findStragglers(
    run.record.segments,
    run.links,
    stragglerFactor,
    Date.now()
  )) {
    segment.backupPeerId = idle.peer.peerId
    idle.segments.push(segment.index)
    run.ctx.save()
    run.ctx.event({
      kind: 'backup-started',
      segment: segment.index,
      peer: idle.peer.peerId,
      straggler: segment.peerId,
      message: `backup copy: segment ${segment.index} has been proving for ${(elapsedMs / 1000).toFixed(1)} s on ${shortPeerId(segment.peerId)}, ${stragglerFactor}× the median is ${(limitMs / 1000).toFixed(1)} s`
    })
    track(run, assignTo(run, idle, [segment]), idle)
  }
}

/** The first proof of a segment with a backup copy wins: the other peer drops its copy */
export function settleBackup(run: JobRunState, segment: SegmentRecord, winner: Link): void {
  const backup = segment.backupPeerId
  if (backup === undefined) return
  const loserId = winner.peer.peerId === backup ? segment.peerId : backup
  segment.peerId = winner.peer.peerId
  delete segment.backupPeerId
  const loser = run.links.find((link) => link.peer.peerId === loserId && !link.closed)
  if (loser === undefined) return
  loser.segments = loser.segments.filter((index) => index !== segment.index)
  loser.forgotten.add(segment.index)
  send(run, loser, { forget: { segments: [segment.index] } })
  run.ctx.event({
    kind: 'backup-won',
    segment: segment.index,
    peer: winner.peer.peerId,
    loser: loserId,
    message: `won over ${shortPeerId(loserId)}`
  })
}
