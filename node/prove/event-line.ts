/** `prove --wait` without a terminal: one plain line per event of the job */
import { shortPeerId } from '../../src/jobs-model/peer-id.js'
import type { JobEvent } from '../../src/jobs-model/types.js'
import { formatDurationShort } from '../format/text.js'

/** A plain progress line for one event, for logs and pipes: `[  +1.2s] prove 3/8` */
export function formatEventLine(event: JobEvent, startedAt: number): string {
  const at = `[${`+${formatDurationShort(Math.max(0, event.at - startedAt))}`.padStart(8)}]`
  const parts: string[] = []
  switch (event.kind) {
    case 'state':
      parts.push(`state ${event.state}`)
      break
    case 'progress':
      parts.push(event.phase ?? 'progress')
      if (event.segment !== undefined) parts.push(`segment ${event.segment}`)
      if (event.done !== undefined && event.total !== undefined) parts.push(`${event.done}/${event.total}`)
      break
    case 'contributed':
    case 'proved':
    case 'backup-started':
    case 'backup-won':
      parts.push(`segment ${event.segment}`, `on ${shortPeerId(event.peer)}`)
      break
    case 'note':
      if (event.segment !== undefined) parts.push(`segment ${event.segment}`)
      if (event.peer !== undefined)
        parts.push(`${event.segment === undefined ? 'peer' : 'on'} ${shortPeerId(event.peer)}`)
      break
    case 'log':
      parts.push('log')
      break
    default:
      parts.push(`peer ${shortPeerId(event.peer)}`)
      break
  }
  if (event.message !== undefined && event.message !== '') parts.push(event.message.replace(/\s+/g, ' '))
  return `${at} ${parts.join(' ')}`
}
