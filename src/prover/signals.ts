import { ProverTimeoutError } from './errors.js'

export interface CallDeadline {
  /** Aborts with a ProverTimeoutError when the time is up, or with the caller's reason */
  signal: AbortSignal
  /** Clears the timer; call it once the call settles so no timer outlives it */
  clear: () => void
}

/** One signal for a call: the caller's signal (if any) or a timer, whichever fires first */
export function callDeadline(method: string, timeoutMs: number, signal?: AbortSignal): CallDeadline {
  const controller = new AbortController()
  const timer = setTimeout(() => {
    controller.abort(new ProverTimeoutError(method, timeoutMs))
  }, timeoutMs)
  const combined = signal === undefined ? controller.signal : AbortSignal.any([signal, controller.signal])
  return {
    signal: combined,
    clear: () => {
      clearTimeout(timer)
    }
  }
}

/** The reason an aborted signal carries, as an Error so that callers can match on `name` */
export function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason
  if (reason instanceof Error) {
    return reason
  }
  return new DOMException(
    reason === undefined
      ? 'The operation was aborted'
      : reason instanceof Error
        ? reason.message
        : JSON.stringify(reason),
    'AbortError'
  )
}

/**
 * Waits for `promise` unless `signal` aborts first, in which case it rejects with the abort reason. `promise` is
 * the caller's to settle either way: its later rejection is handled here, or an already-aborted signal would
 * leave it unhandled (and an unhandled rejection ends the daemon).
 */
export async function raceSignal<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => undefined)
    throw abortReason(signal)
  }
  let onAbort: () => void = () => {}
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => {
      reject(abortReason(signal))
    }
    signal.addEventListener('abort', onAbort, { once: true })
  })
  try {
    return await Promise.race([promise, aborted])
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}

/** Resolves true after `ms`, or false as soon as `signal` aborts */
export async function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) {
    return false
  }
  return await new Promise<boolean>((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer)
      resolve(false)
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve(true)
    }, ms)
    signal.addEventListener('abort', onAbort, { once: true })
  })
}
