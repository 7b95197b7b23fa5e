import { TypedEventEmitter } from 'main-event'
import type { CapacityAdvert } from './advert.js'

export interface PeerEntry {
  peerId: string
  advert: CapacityAdvert
  /** Our clock when the newest advert arrived */
  receivedAt: number
}

export interface PeerTableEvents {
  'peer:updated': CustomEvent<PeerEntry>
  'peer:expired': CustomEvent<PeerEntry>
}

export interface PeerTableInit {
  /** A peer whose newest advert is older than this is gone */
  ttlMs: number
  now?: () => number
}

/**
 * Every peer's latest capacity advert. Capacity is learned only from gossip, so a peer that stops
 * advertising (crashed, partitioned, shut down) drops out after the TTL even if a connection lingers.
 */
export class PeerTable extends TypedEventEmitter<PeerTableEvents> {
  private readonly entries = new Map<string, PeerEntry>()
  private readonly ttlMs: number
  private readonly now: () => number

  constructor(init: PeerTableInit) {
    super()
    this.ttlMs = init.ttlMs
    this.now = init.now ?? Date.now
  }

  /** The sequence number of the newest advert we hold for a peer, to spot stale ones */
  lastSeq(peerId: string): bigint | undefined {
    return this.entries.get(peerId)?.advert.seq
  }

  update(peerId: string, advert: CapacityAdvert): PeerEntry {
    const entry: PeerEntry = { peerId, advert, receivedAt: this.now() }
    this.entries.set(peerId, entry)
    this.safeDispatchEvent('peer:updated', { detail: entry })
    return entry
  }

  get(peerId: string): PeerEntry | undefined {
    const entry = this.entries.get(peerId)
    return entry !== undefined && this.isFresh(entry) ? entry : undefined
  }

  /** Fresh entries, most free units first */
  list(): PeerEntry[] {
    return [...this.entries.values()]
      .filter((entry) => this.isFresh(entry))
      .sort((a, b) => b.advert.unitsFree - a.advert.unitsFree || a.peerId.localeCompare(b.peerId))
  }

  get size(): number {
    return this.list().length
  }

  /** Drops expired entries and announces each; returns them */
  prune(): PeerEntry[] {
    const expired: PeerEntry[] = []
    for (const entry of this.entries.values()) {
      if (!this.isFresh(entry)) {
        this.entries.delete(entry.peerId)
        expired.push(entry)
        this.safeDispatchEvent('peer:expired', { detail: entry })
      }
    }
    return expired
  }

  clear(): void {
    this.entries.clear()
  }

  private isFresh(entry: PeerEntry): boolean {
    return this.now() - entry.receivedAt <= this.ttlMs
  }
}
