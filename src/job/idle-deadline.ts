import { stat } from 'node:fs/promises'
import { formatDuration } from '../config/duration.js'
import { DeadlineError } from '../net/deadline.js'

/**
 * A transfer's deadline that moves with its bytes: it aborts once `touch` has not been called for idleMs. A whole
 * transfer's own deadline cannot tell a large slice from a peer that serves one byte every two seconds (a final
 * proof served so held the verify phase until the job's timeout); no byte moving for jobs.transfer_idle_timeout
 * can.
 */
export class IdleDeadline {
  readonly signal: AbortSignal
  private readonly controller = new AbortController()
  private readonly what: string
  private readonly idleMs: number
  private timer?: NodeJS.Timeout

  constructor(what: string, idleMs: number) {
    this.what = what
    this.idleMs = idleMs
    this.signal = this.controller.signal
    this.touch()
  }

  touch(): void {
    if (this.signal.aborted) return
    clearTimeout(this.timer)
    this.timer = setTimeout(() => {
      this.controller.abort(
        new DeadlineError(
          this.what,
          this.idleMs,
          `${formatDuration(this.idleMs)} without a byte (jobs.transfer_idle_timeout)`
        )
      )
    }, this.idleMs)
    this.timer.unref()
  }

  stop(): void {
    clearTimeout(this.timer)
  }
}

/**
 * Touches `idle` whenever the file being received at `path` grows: for a transfer whose reader reports no bytes
 * as they come (the proof protocol's fetch writes `<path>.part`, then renames it). Returns the stop function.
 */
export function touchOnGrowth(idle: IdleDeadline, path: string, everyMs: number): () => void {
  let last = -1
  const sizeOf = async (file: string): Promise<number> =>
    (await stat(file).catch(() => undefined))?.size ?? -1
  const timer = setInterval(() => {
    void Promise.all([sizeOf(`${path}.part`), sizeOf(path)]).then(([partial, whole]) => {
      const size = Math.max(partial, whole)
      if (size > last) {
        last = size
        idle.touch()
      }
    })
  }, everyMs)
  timer.unref()
  return () => clearInterval(timer)
}
