/** `prove --wait` without a terminal: one plain line per event of the job */
import { shortPeerId } from '../../src/jobs-model/peer-id.js'
import type { JobEvent } from '../../src/jobs-model/types.js'
import { formatDurationShort } from '../format/text.js'

/** A plain progress line for one event, for logs and pipes: `[  +1.2s] prove 3/8` */
export function formatEventLine(event: JobEvent, startedAt: number): string {
  const at = `[${`+${formatDurationShort(Math.max(0, event.at - startedAt))}`.padStart(8)}]`
  const parts: string[] = []
  switch (event.type) {
    case 'state':
      parts.push(`state ${event.state ?? '?'}`)
      break
    case 'progress':
      parts.push(event.phase ?? 'progress')
      if (event.segment !== undefined) parts.push(`segment ${event.segment}`)
      if (event.done !== undefined && event.total !== undefined) parts.push(`${event.done}/${event.total}`)
      break
    case 'peer':
      parts.push(`peer ${event.peer === undefined ? '?' : shortPeerId(event.peer)}`)
      break
    case 'segment':
      parts.push(`segment ${event.segment ?? '?'}`)
      if (event.peer !== undefined) parts.push(`on ${shortPeerId(event.peer)}`)
      break
    case 'log':
      parts.push('log')
      break
  }
  if (event.message !== undefined && event.message !== '') parts.push(event.message.replace(/\s+/g, ' '))
  return `${at} ${parts.join(' ')}`
}
