export interface OriginRateLimiterInit {
  /** Tokens an origin may hold, and those a newly heard one starts with */
  burst: number
  /** Tokens added per `intervalMs`, continuously */
  perInterval: number
  intervalMs: number
  /** Origins remembered at once; past this the least recently heard one is forgotten */
  maxOrigins: number
  now?: () => number
}

interface Bucket {
  tokens: number
  at: number
}

/**
 * One token bucket per origin peer. `take` spends a token when there is one; an origin out of tokens is over its
 * rate. The map is ordered by when each origin was last heard (re-inserted on every call), so evicting the
 * oldest forgets idle origins first, and an origin idle long enough to refill is no different from one forgotten.
 */
export class OriginRateLimiter {
  private readonly buckets = new Map<string, Bucket>()
  private readonly burst: number
  private readonly tokensPerMs: number
  private readonly maxOrigins: number
  private readonly now: () => number

  constructor(init: OriginRateLimiterInit) {
    if (init.burst < 1 || init.perInterval <= 0 || init.intervalMs <= 0 || init.maxOrigins < 1) {
      throw new RangeError('a rate limit needs a burst of at least 1, a positive rate and room for an origin')
    }
    this.burst = init.burst
    this.tokensPerMs = init.perInterval / init.intervalMs
    this.maxOrigins = init.maxOrigins
    this.now = init.now ?? Date.now
  }

  /** Spends one of the origin's tokens; false when it has none (the message is over the rate) */
  take(origin: string): boolean {
    const now = this.now()
    const bucket = this.buckets.get(origin)
    let tokens = this.burst
    if (bucket !== undefined) {
      // a clock stepped back refills nothing rather than draining
      tokens = Math.min(this.burst, bucket.tokens + Math.max(0, now - bucket.at) * this.tokensPerMs)
      this.buckets.delete(origin)
    } else if (this.buckets.size >= this.maxOrigins) {
      const oldest = this.buckets.keys().next()
      if (oldest.done !== true) this.buckets.delete(oldest.value)
    }
    const allowed = tokens >= 1
    this.buckets.set(origin, { tokens: allowed ? tokens - 1 : tokens, at: now })
    return allowed
  }

  /** Origins remembered */
  get size(): number {
    return this.buckets.size
  }

  clear(): void {
    this.buckets.clear()
  }
}
