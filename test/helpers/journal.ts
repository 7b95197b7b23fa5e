/** What a submitter's journal says about the peers of a job (read while the daemon runs: the journal is WAL) */
import { join } from 'node:path'
import { Journal } from '../../src/store/index.js'

export interface PeerEvent {
  /** The submitter's clock */
  at: number
  peer: string
  message: string
}

/** The job's peer events, oldest first */
export function peerEvents(node: { dataDir: string }, jobId: string): PeerEvent[] {
  const journal = Journal.open(join(node.dataDir, 'journal.sqlite'))
  try {
    return journal
      .events(jobId)
      .filter((event) => event.type === 'peer')
      .map((event) => ({ at: event.at, peer: event.peer ?? '-', message: event.message ?? '' }))
  } finally {
    journal.close()
  }
}

/** The event in which the submitter dropped `peerId` from the job, if it did */
export function peerDropped(node: { dataDir: string }, jobId: string, peerId: string): PeerEvent | undefined {
  return peerEvents(node, jobId).find((event) => event.peer === peerId && event.message.startsWith('failed'))
}

/** The peer events as lines, for the message of a failed assertion */
export function peerStory(node: { dataDir: string }, jobId: string): string {
  return peerEvents(node, jobId)
    .map((event) => `${event.peer.slice(-8)}: ${event.message}`)
    .join('\n')
}
