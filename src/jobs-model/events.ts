import type { JobEvent, JobEventKind } from './types.js'

/** Every kind of job event, in no particular order (see JobEventBody) */
export const JOB_EVENT_KINDS: readonly JobEventKind[] = [
  'state',
  'progress',
  'log',
  'leased',
  'refused',
  'released',
  'contributed',
  'proved',
  'backup-started',
  'backup-won',
  'takes-over',
  'peer-failed',
  'aggregator',
  'final',
  'note'
]

const KINDS = new Set<string>(JOB_EVENT_KINDS)

/** The kinds of the rows journaled before events had kinds, by their `type` */
const OLD_TYPES: Record<string, JobEventKind> = {
  state: 'state',
  progress: 'progress',
  log: 'log',
  peer: 'note',
  segment: 'note'
}

/**
 * An event as stored or sent (a journal row, a server-sent event's data) with its kind: a row journaled by the
 * previous version (a `type`, no `kind`) and a kind this version does not know both read as a `note`, so that
 * an old job or a newer daemon's event is shown by its message, not refused.
 */
export function readJobEvent(body: Record<string, unknown>, jobId: string, seq: number): JobEvent {
  const { type, kind, ...rest } = body
  const known =
    typeof kind === 'string' && KINDS.has(kind)
      ? (kind as JobEventKind)
      : typeof kind !== 'string' && typeof type === 'string'
        ? (OLD_TYPES[type] ?? 'note')
        : 'note'
  const at = typeof rest.at === 'number' ? rest.at : 0
  return { ...rest, kind: known, jobId, seq, at } as JobEvent
}
