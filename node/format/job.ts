/** What every view of a job record says the same way: how long it took, its error, the peers that failed */
import { isTerminal } from '../../src/jobs-model/states.js'
import type { JobPeerRecord, JobRecord, PhaseTiming } from '../../src/jobs-model/types.js'
import { plural } from './text.js'

/** How long the job has run (to now) or took (to its end) */
export function jobElapsed(record: JobRecord, now: number): number {
  return Math.max(
    0,
    (record.finishedAt ?? (isTerminal(record.state) ? record.updatedAt : now)) - record.createdAt
  )
}

export function phaseMillis(timing: PhaseTiming | undefined, now: number): number | undefined {
  if (timing === undefined) return undefined
  return Math.max(0, (timing.endedAt ?? now) - timing.startedAt)
}

export function jobError(record: JobRecord): string {
  return record.error === undefined ? '-' : `${record.error.code}: ${record.error.message}`
}

/** The peers dropped from the job, each with why (its segments moved to the others) */
export function failedPeers(record: JobRecord): JobPeerRecord[] {
  return record.peers.filter((peer) => peer.state === 'failed')
}

/** `2 of 3 peers failed; their segments moved to the others`, or undefined when none did */
export function failuresLine(record: JobRecord): string | undefined {
  const failed = failedPeers(record).length
  if (failed === 0) return undefined
  const moved = record.state === 'succeeded' ? '; their segments moved to the others' : ''
  return `${failed} of ${plural(record.peers.length, 'peer')} failed${moved}`
}
