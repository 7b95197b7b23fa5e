import type { JobsBackend } from './backend.js'
import { isTerminal } from './states.js'
import type { JobEvent } from './types.js'

/** What following a job's events needs of the job service */
export type JobEventSource = Pick<JobsBackend, 'get' | 'events' | 'subscribe'>

export const followDefaults = {
  /**
   * A follower waiting for the next event also looks at the job's record this often, so that a job that ended
   * without its last event reaching this follower (e.g. its journal entry removed) ends the wait too
   */
  recheckMs: 1_000
}

/** The event that says the job is over: no event of the job follows it */
export function isTerminalEvent(event: JobEvent): boolean {
  return event.kind === 'state' && isTerminal(event.state)
}

/**
 * A job's events with a sequence number above `afterSeq`: the journaled ones, then the live ones as they come,
 * by rising sequence number, until the job is over (its terminal event is the last one yielded) or `signal`
 * aborts. The subscription starts before the replay and an event is yielded only above the last one, so none
 * falls between the two or comes twice.
 */
export async function* followJobEvents(
  source: JobEventSource,
  id: string,
  afterSeq = 0,
  signal?: AbortSignal
): AsyncGenerator<JobEvent> {
  const pending: JobEvent[] = []
  let wake: (() => void) | undefined
  const unsubscribe = source.subscribe(id, (event) => {
    pending.push(event)
    wake?.()
  })
  const onAbort = (): void => wake?.()
  signal?.addEventListener('abort', onAbort)
  let seq = afterSeq
  try {
    for (const event of source.events(id, afterSeq)) {
      if (signal?.aborted === true) return
      seq = event.seq
      yield event
      if (isTerminalEvent(event)) return
    }
    for (;;) {
      if (signal?.aborted === true) return
      // Read before the pending events are drained: a job that ended by now has its last event among them
      const job = source.get(id)
      while (pending.length > 0) {
        const event = pending.shift() as JobEvent
        if (event.seq <= seq) continue
        seq = event.seq
        yield event
        if (isTerminalEvent(event)) return
      }
      if (job === undefined || isTerminal(job.state)) return
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, followDefaults.recheckMs)
        timer.unref()
        wake = () => {
          clearTimeout(timer)
          resolve()
        }
      })
      wake = undefined
    }
  } finally {
    signal?.removeEventListener('abort', onAbort)
    unsubscribe()
  }
}
