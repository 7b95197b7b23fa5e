import { formatDuration } from '../config/duration.js'
import { DeadlineError } from './deadline.js'
import { toError } from './framed-stream.js'

/** What a transfer must keep up (jobs.transfer_idle_timeout, jobs.transfer_min_rate, jobs.transfer_rate_window) */
export interface TransferLimits {
  /** No byte moving for this long aborts the transfer */
  idleMs: number
  /** Fewer bytes than this per second, averaged over each window of the transfer, abort it; 0 = no floor */
  minBytesPerSecond: number
  /** The window the rate is averaged over; the first one is the grace a transfer gets to start */
  rateWindowMs: number
}

/**
 * The config's defaults (jobs.transfer_*), for a worker or run built without a config: 64 KiB/s over 30 s, where
 * a loopback or LAN transfer moves megabytes a second and a trickle a few bytes
 */
export const TRANSFER_LIMIT_DEFAULTS: TransferLimits = {
  idleMs: 30_000,
  minBytesPerSecond: 64 * 1024,
  rateWindowMs: 30_000
}

/**
 * A transfer's deadline that moves with its bytes: it aborts once no byte moved for idleMs, or once a window of
 * the transfer's own time moved fewer bytes than the rate floor asks. A whole transfer's fixed deadline cannot tell
 * a large slice from a peer that serves one byte every two seconds (a final proof served so held the verify phase
 * until the job's timeout); the idle deadline alone is met by one byte every 29 s; the floor is not.
 *
 * Time the transfer waits on this side (`pause` to `resume`: the hints source producing the next chunk) counts
 * for neither: only the peer's time does.
 */
export class TransferDeadline {
  readonly signal: AbortSignal
  private readonly controller = new AbortController()
  private readonly what: string
  private readonly limits: TransferLimits
  private idleTimer?: NodeJS.Timeout
  private rateTimer?: NodeJS.Timeout
  /** Bytes moved in the current window, and the transfer's time already spent in it before the last resume */
  private windowBytes = 0
  private windowSpentMs = 0
  /** When the transfer last resumed; undefined while paused or stopped */
  private runningSince?: number
  private stopped = false

  constructor(what: string, limits: TransferLimits) {
    this.what = what
    this.limits = limits
    this.signal = this.controller.signal
    this.resume()
  }

  /** `bytes` moved: the idle deadline starts again (no byte, no restart) */
  moved(bytes: number): void {
    if (bytes <= 0) return
    this.windowBytes += bytes
    if (this.runningSince !== undefined) this.armIdle()
  }

  /** The transfer waits on this side: neither deadline runs until `resume` */
  pause(): void {
    if (this.runningSince === undefined) return
    this.windowSpentMs += Date.now() - this.runningSince
    this.runningSince = undefined
    clearTimeout(this.idleTimer)
    clearTimeout(this.rateTimer)
  }

  resume(): void {
    if (this.stopped || this.runningSince !== undefined) return
    this.runningSince = Date.now()
    this.armIdle()
    if (this.limits.minBytesPerSecond > 0) {
      this.rateTimer = setTimeout(() => this.windowEnded(), this.limits.rateWindowMs - this.windowSpentMs)
      this.rateTimer.unref()
    }
  }

  /** For good: the transfer ended, or it needs no deadline (this daemon's own worker, reached in memory) */
  stop(): void {
    this.pause()
    this.stopped = true
  }

  private armIdle(): void {
    clearTimeout(this.idleTimer)
    this.idleTimer = setTimeout(() => {
      this.abort(
        new DeadlineError(
          this.what,
          this.limits.idleMs,
          `${formatDuration(this.limits.idleMs)} without a byte (jobs.transfer_idle_timeout)`
        )
      )
    }, this.limits.idleMs)
    this.idleTimer.unref()
  }

  private windowEnded(): void {
    const { minBytesPerSecond, rateWindowMs } = this.limits
    const floor = (minBytesPerSecond * rateWindowMs) / 1000
    if (this.windowBytes < floor) {
      this.abort(
        new DeadlineError(
          this.what,
          rateWindowMs,
          `${formatDuration(rateWindowMs)} at under ${kibPerSecond(minBytesPerSecond)} KiB/s: ${this.windowBytes} bytes moved (jobs.transfer_min_rate)`
        )
      )
      return
    }
    this.windowBytes = 0
    this.windowSpentMs = 0
    this.runningSince = Date.now()
    this.rateTimer = setTimeout(() => this.windowEnded(), rateWindowMs)
    this.rateTimer.unref()
  }

  private abort(reason: DeadlineError): void {
    this.stop()
    this.controller.abort(reason)
  }
}

/**
 * Runs `transfer` under a TransferDeadline named `what`: it gets a signal that aborts with `signal` or the deadline,
 * and `moved` to report its bytes. Throws `signal`'s reason when that aborted, else the deadline's error when it
 * fired (the transfer's own error then only says that it was aborted), else the transfer's.
 */
export async function underTransferDeadline<T>(
  what: string,
  limits: TransferLimits,
  signal: AbortSignal,
  transfer: (bounded: AbortSignal, moved: (bytes: number) => void) => Promise<T>
): Promise<T> {
  const deadline = new TransferDeadline(what, limits)
  try {
    return await transfer(AbortSignal.any([signal, deadline.signal]), (bytes) => deadline.moved(bytes))
  } catch (err) {
    signal.throwIfAborted()
    throw toError(deadline.signal.reason ?? err)
  } finally {
    deadline.stop()
  }
}

function kibPerSecond(bytesPerSecond: number): string {
  return String(Math.round((bytesPerSecond / 1024) * 10) / 10)
}
