/** What a submitter's journal says about the peers of a job (read while the daemon runs: the journal is WAL) */
import { join } from 'node:path'
import type { JobEventKind } from '../../src/jobs-model/types.js'
import { Journal } from '../../src/store/index.js'

export interface PeerEvent {
  /** The submitter's clock */
  at: number
  kind: JobEventKind
  peer: string
  message: string
}

/** The job's events about a peer (progress reports aside), oldest first */
export function peerEvents(node: { dataDir: string }, jobId: string): PeerEvent[] {
  const journal = Journal.open(join(node.dataDir, 'journal.sqlite'))
  try {
    return journal
      .events(jobId)
      .flatMap((event) =>
        event.kind === 'progress' || !('peer' in event) || event.peer === undefined
          ? []
          : [{ at: event.at, kind: event.kind, peer: event.peer, message: event.message ?? '' }]
      )
  } finally {
    journal.close()
  }
}

/** The event in which the submitter dropped `peerId` from the job, if it did */
export function peerDropped(node: { dataDir: string }, jobId: string, peerId: string): PeerEvent | undefined {
  return peerEvents(node, jobId).find((event) => event.peer === peerId && event.kind === 'peer-failed')
}

/** The peer events as lines, for the message of a failed assertion */
export function peerStory(node: { dataDir: string }, jobId: string): string {
  return peerEvents(node, jobId)
    .map((event) => `${event.peer.slice(-8)} ${event.kind}: ${event.message}`)
    .join('\n')
}
