/** `proofmesh jobs`: one row per job */
import { isTerminal } from '../../src/jobs-model/states.js'
import type { JobRecord } from '../../src/jobs-model/types.js'
import { failedPeers, jobElapsed, jobError } from './job.js'
import { cut, formatDurationShort, formatTable } from './text.js'

function segmentCount(record: JobRecord): string {
  if (record.segments.length === 0) return '-'
  const proved = record.segments.filter((segment) => segment.state === 'proved').length
  return `${proved}/${record.segments.length}`
}

function peerCount(record: JobRecord): string {
  const failed = failedPeers(record).length
  return failed === 0 ? String(record.peers.length) : `${record.peers.length} (${failed} failed)`
}

/** One row per job: its state, size, peers, segments, time and error */
export function formatJobsTable(records: JobRecord[], now = Date.now()): string {
  if (records.length === 0) return 'no jobs'
  return formatTable([
    ['ID', 'STATE', 'DATA ID', 'UNITS', 'PEERS', 'SEGMENTS', 'TIME', 'ERROR'],
    ...records.map((record) => [
      record.id,
      record.state,
      cut(record.request.dataId, 32),
      String(record.request.computeCapacity),
      peerCount(record),
      segmentCount(record),
      isTerminal(record.state)
        ? `took ${formatDurationShort(jobElapsed(record, now))}`
        : `${formatDurationShort(jobElapsed(record, now))} so far`,
      cut(jobError(record), 60)
    ])
  ])
}
