/**
 * What each peer lets this submitter hold at once, as its `Reserved` said (security.max_units_per_submitter on
 * that peer). The capacity adverts carry a peer's own units, not the cap it puts on one submitter: with the
 * default cap (half), three 2-unit peers grant a remote submitter 1 unit each, and a job that needs 4 units was
 * requeued every second for its whole hour, "needs 4 units, 3 could be leased". A peer's first grant tells its
 * cap; from then on the scheduler counts no more than the cap of that peer, so such a job fails at once: summed
 * over the peers for a segmented job, the largest single peer's for a whole job (capacity-rule.ts).
 *
 * A peer that states a cap lower than its real one only withholds its own units, which it could refuse anyway.
 */
export class SubmitterCaps {
  private readonly maxPeers: number
  /** In order of the last grant: the first is the oldest */
  private readonly caps = new Map<string, number>()

  /** `maxPeers`: peers remembered at most, the oldest forgotten first (a flood of peer ids cannot grow it) */
  constructor(maxPeers = 4_096) {
    this.maxPeers = maxPeers
  }

  /** A grant from `peerId` stating `cap` (0: no cap below its own units, or a peer that does not say) */
  granted(peerId: string, cap: number): void {
    this.caps.delete(peerId)
    if (cap === 0) return
    this.caps.set(peerId, cap)
    while (this.caps.size > this.maxPeers) {
      const oldest = this.caps.keys().next().value
      if (oldest === undefined) break
      this.caps.delete(oldest)
    }
  }

  /** The most units `peerId` would let this submitter hold (`units` when it stated no cap) */
  limit(peerId: string, units: number): number {
    return Math.min(units, this.caps.get(peerId) ?? units)
  }

  /** Whether `peerId` stated a cap that `units` reaches */
  reaches(peerId: string, units: number): boolean {
    const cap = this.caps.get(peerId)
    return cap !== undefined && units >= cap
  }
}
