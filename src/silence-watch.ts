/** Limits of a failure detector */
export interface SilenceWatchInit {
  /**
   * A key silent this long, counted in the time this daemon was listening, is lost (the submitter: jobs.peer_timeout;
   * a key may carry its own limit, see heard())
   */
  limitMs: number
  /** How often tick() is called */
  tickMs: number
  /** A clock in milliseconds (tests pass their own) */
  now?: () => number
}

/** How many ticks' worth of time one late tick may credit: lateness up to this is timer jitter, not a stall */
const CREDIT_TICKS = 2

interface Heard {
  /** Listening time of its last frame */
  listening: number
  /** Silence allowed to this key */
  limitMs: number
  /** Wall time of its last frame */
  wall: number
}

/**
 * A failure detector that busy does not fool: a key (the submitter's peers, a peer's leases) that sent nothing (not
 * even a keep-alive) for `limitMs` of the time this daemon was listening is lost. Time this daemon could not run
 * does not count against anyone: a daemon starved of CPU (measured: 0.9 s of every second waiting for a core in a compose testnet on a loaded host)
 * finds the frames that arrived meanwhile in its sockets only once it runs again, and the check comes first.
 * So the watch keeps its own clock: each tick adds the time since the last one, but at most CREDIT_TICKS ticks'
 * worth. A frozen peer (SIGSTOP, a cut link) is still lost `limitMs` after its last frame, give or take a tick,
 * while this daemon runs normally; a stall of this daemon's delays that verdict by the stall.
 */
export class SilenceWatch<K> {
  private readonly limitMs: number
  private readonly creditMs: number
  private readonly now: () => number
  private readonly heardAt = new Map<K, Heard>()
  /** Listening time up to the last tick */
  private listened = 0
  private tickedAt: number

  constructor(init: SilenceWatchInit) {
    this.limitMs = init.limitMs
    this.creditMs = CREDIT_TICKS * init.tickMs
    this.now = init.now ?? Date.now
    this.tickedAt = this.now()
  }

  /**
   * A frame from `key` (or its first contact), which may now stay silent for `limitMs` (the watch's own limit by
   * default); returns the wall-clock time since its previous frame, 0 at first
   */
  heard(key: K, limitMs = this.limitMs): number {
    const wall = this.now()
    const previous = this.heardAt.get(key)
    this.heardAt.set(key, { listening: this.listening(wall), wall, limitMs })
    return previous === undefined ? 0 : wall - previous.wall
  }

  /** Stops watching `key` */
  forget(key: K): void {
    this.heardAt.delete(key)
  }

  /** Moves the clock on; returns the peers silent past the limit, with how long (listening time) */
  tick(): Array<{ key: K; silentMs: number }> {
    const wall = this.now()
    this.listened = this.listening(wall)
    this.tickedAt = wall
    const silent: Array<{ key: K; silentMs: number }> = []
    for (const [key, heard] of this.heardAt) {
      const silentMs = this.listened - heard.listening
      if (silentMs > heard.limitMs) silent.push({ key, silentMs })
    }
    return silent
  }

  private listening(wall: number): number {
    return this.listened + Math.min(Math.max(0, wall - this.tickedAt), this.creditMs)
  }
}
