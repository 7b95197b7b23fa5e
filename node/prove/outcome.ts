/** `prove --wait`'s last words: the outcome of the job it followed */
import { describePeerFailure } from '../../src/jobs-model/peer-failure.js'
import { shortPeerId } from '../../src/jobs-model/peer-id.js'
import { JOB_PHASES } from '../../src/jobs-model/states.js'
import type { JobRecord } from '../../src/jobs-model/types.js'
import { failedPeers, failuresLine, jobElapsed, jobError, phaseMillis } from '../format/job.js'
import { formatBytes, formatDurationShort, keyValues, plural } from '../format/text.js'

/**
 * What `prove --wait` prints on stderr when a job did not succeed: `job ID was cancelled`, or `job ID failed:
 * CODE: why`, with the peers that failed before it
 */
export function formatJobEnd(record: JobRecord): string {
  if (record.state === 'cancelled') return `job ${record.id} was cancelled`
  const lines = [
    `job ${record.id} ${record.state === 'failed' ? 'failed' : `ended ${record.state}`}: ${
      record.error === undefined ? 'no reason recorded' : jobError(record)
    }`
  ]
  for (const peer of failedPeers(record))
    lines.push(`  peer ${shortPeerId(peer.peerId)}: ${describePeerFailure(peer.failure)}`)
  return lines.join('\n')
}

/** What `prove --wait` prints once a job succeeded */
export function formatJobSummary(record: JobRecord, savedTo?: string, now = Date.now()): string {
  const phases = JOB_PHASES.flatMap((phase) => {
    const ms = phaseMillis(record.phases[phase], now)
    return ms === undefined ? [] : [`${phase} ${formatDurationShort(ms)}`]
  })
  const peers = record.peers.map((peer) => {
    const name = `${shortPeerId(peer.peerId)}${peer.local ? ' (local)' : ''}: ${plural(peer.units, 'unit')}`
    if (peer.state === 'failed') return `${name}, failed: ${describePeerFailure(peer.failure)}`
    const segments = record.segments.filter((segment) => segment.peerId === peer.peerId).length
    return `${name}, ${plural(segments, 'segment')}, ${formatBytes(peer.bytesSent)} sent`
  })
  const failures = failuresLine(record)
  const rows: [string, string | string[]][] = [
    ['job', `${record.id} ${record.state} in ${formatDurationShort(jobElapsed(record, now))}`],
    ['data id', record.request.dataId],
    ['digest', record.digest ?? '-'],
    [
      'proof',
      record.proof === undefined
        ? '-'
        : `${formatBytes(record.proof.size)} (${record.proof.size} bytes), sha256 ${record.proof.sha256}`
    ],
    ['on daemon', record.proof?.path ?? 'not saved']
  ]
  if (record.proof?.unverified !== undefined) rows.push(['NOT verified', record.proof.unverified])
  if (savedTo !== undefined) rows.push(['saved to', savedTo])
  rows.push(
    ['phases', phases.length === 0 ? '-' : phases.join(', ')],
    [
      'peers',
      peers.length === 0
        ? '-'
        : [
            `${plural(peers.length, 'peer')}, ${plural(record.segments.length, 'segment')}${failures === undefined ? '' : `; ${failures}`}`,
            ...peers
          ]
    ],
    ['bytes sent', formatBytes(record.bytesOut)]
  )
  return keyValues(rows)
}
