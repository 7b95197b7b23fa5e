import { formatDuration } from '../config/duration.js'

/**
 * A deadline that ran out. Its message names the operation and its limit: "The operation was aborted due to
 * timeout" (AbortSignal.timeout's) told an operator neither. Named TimeoutError like AbortSignal.timeout's
 * reason, which callers match on.
 */
export class DeadlineError extends Error {
  readonly operation: string

  /** `limit`: the deadline in words, when it is not one number of milliseconds */
  constructor(operation: string, limitMs: number, limit = formatDuration(limitMs)) {
    super(`${operation} took longer than ${limit}`)
    this.name = 'TimeoutError'
    this.operation = operation
  }
}

/** AbortSignal.timeout(ms) whose reason is a DeadlineError naming `operation` */
export function deadline(operation: string, ms: number): AbortSignal {
  const controller = new AbortController()
  // unref'd, as AbortSignal.timeout's: a pending deadline never keeps the process alive
  setTimeout(() => controller.abort(new DeadlineError(operation, ms)), ms).unref()
  return controller.signal
}

/**
 * A timeout raised inside a library (libp2p's own dial and negotiation limits) as a DeadlineError naming the
 * operation and those limits; any other error as it is
 */
export function nameTimeout(err: Error, operation: string, limits: string): Error {
  if (err.name !== 'TimeoutError' || err instanceof DeadlineError) return err
  return new DeadlineError(operation, 0, limits)
}
