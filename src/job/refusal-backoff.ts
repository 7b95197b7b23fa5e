/**
 * Back-off on peers that refuse leases. A peer that advertises free units but refuses every Reserve (busy with
 * another submitter, not allowed, or hostile) was asked again on every scheduling pass: ~75 Reserves a second,
 * 3,000 in 40 s, a 4 MB journal WAL. After a refusal the peer counts as having no free units for a while that
 * doubles with each refusal in a row (from baseMs to maxMs) and ends at its first lease granted.
 */
export interface RefusalBackoffInit {
  baseMs: number
  maxMs: number
  /** Peers remembered at most; the oldest refusal is forgotten first (a flood of peer ids cannot grow it) */
  maxPeers: number
}

export const refusalBackoffDefaults: RefusalBackoffInit = { baseMs: 1_000, maxMs: 60_000, maxPeers: 4_096 }

interface Entry {
  refusals: number
  until: number
}

export class RefusalBackoff {
  private readonly init: RefusalBackoffInit
  /** In order of the last refusal: the first is the oldest */
  private readonly peers = new Map<string, Entry>()

  constructor(init: RefusalBackoffInit = refusalBackoffDefaults) {
    this.init = init
  }

  refused(peerId: string, now: number): void {
    const refusals = (this.peers.get(peerId)?.refusals ?? 0) + 1
    const wait = Math.min(this.init.maxMs, this.init.baseMs * 2 ** Math.min(refusals - 1, 30))
    this.peers.delete(peerId)
    this.peers.set(peerId, { refusals, until: now + wait })
    while (this.peers.size > this.init.maxPeers) {
      const oldest = this.peers.keys().next().value
      if (oldest === undefined) break
      this.peers.delete(oldest)
    }
  }

  granted(peerId: string): void {
    this.peers.delete(peerId)
  }

  /** Until when the peer is not asked (0: it may be asked now) */
  waitUntil(peerId: string, now: number): number {
    const until = this.peers.get(peerId)?.until ?? 0
    return until > now ? until : 0
  }
}
