/**
 * Peers this node refuses for a while because of what they did (not security.deny_peers, which is for good):
 * the connection gater consults it on every dial and handshake. Bounded: past `maxPeers` the ban that ends first
 * is dropped early, so a stream of fresh keys cannot grow it.
 */
export interface PeerBansInit {
  maxPeers?: number
  now?: () => number
}

export const peerBansDefaults = {
  // Each ban is a peer id string and a number; 4,096 of them are well under a MiB
  maxPeers: 4_096
}

export class PeerBans {
  /** peer id → end of its ban (ms); insertion order is the order bans were set */
  private readonly until = new Map<string, number>()
  private readonly maxPeers: number
  private readonly now: () => number

  constructor(init: PeerBansInit = {}) {
    this.maxPeers = init.maxPeers ?? peerBansDefaults.maxPeers
    this.now = init.now ?? Date.now
  }

  /** Bans a peer for `ms` (a longer ban already set stays) */
  ban(peerId: string, ms: number): void {
    const end = Math.max(this.now() + ms, this.until.get(peerId) ?? 0)
    this.until.delete(peerId)
    this.until.set(peerId, end)
    if (this.until.size > this.maxPeers) this.dropOne()
  }

  isBanned(peerId: string): boolean {
    const end = this.until.get(peerId)
    if (end === undefined) return false
    if (end > this.now()) return true
    this.until.delete(peerId)
    return false
  }

  get size(): number {
    return this.until.size
  }

  /** Drops the expired bans, or else the one that ends first */
  private dropOne(): void {
    const now = this.now()
    let first: [string, number] | undefined
    for (const [peer, end] of this.until) {
      if (end <= now) this.until.delete(peer)
      else if (first === undefined || end < first[1]) first = [peer, end]
    }
    if (this.until.size > this.maxPeers && first !== undefined) this.until.delete(first[0])
  }
}
