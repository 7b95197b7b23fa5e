import { TypedEventEmitter } from 'main-event'
import type { CapacityAdvert } from './advert.js'
import { advertTtlMs } from './constants.js'
import type { SignedAdvert } from './signed-advert.js'

export interface PeerEntry {
  peerId: string
  advert: CapacityAdvert
  /** Our clock when the newest advert arrived */
  receivedAt: number
  /**
   * Our clock when the peer entered the table: kept while its later adverts replace the entry, set anew when it
   * comes back after leaving (expired, pruned or dropped). When this node could first count on the peer's units,
   * and, for an operator, a peer that keeps re-entering the table shows a recent one.
   */
  listedAt: number
  /** How long after `receivedAt` the entry is fresh: the advert's own TTL, capped (advertTtlMs) */
  ttlMs: number
  /** The newest advert came from its origin itself, over a connection to it (not relayed by a neighbour) */
  direct: boolean
  /**
   * The newest advert as its origin signed it (gossip's envelope), for handing on to a peer that pulls capacity
   * (pull.ts): the advert's bytes (~150-400, at most 8 KiB) and ~110 bytes of envelope per entry
   */
  signed?: SignedAdvert
}

export interface PeerTableEvents {
  'peer:updated': CustomEvent<PeerEntry>
  'peer:expired': CustomEvent<PeerEntry>
}

export interface PeerTableInit {
  /** Peers held at once; a new one past this is not taken until others expire */
  maxPeers: number
  now?: () => number
}

/**
 * Every peer's latest capacity advert. Capacity is learned only from gossip, so a peer that stops
 * advertising (crashed, partitioned, shut down) drops out after its advert's TTL even if a connection lingers;
 * a neighbour whose advert came over its own connection drops out as soon as that connection closes
 * (dropDirect).
 * Bounded: when `maxPeers` are held, a new peer is turned away (the peers already listed keep their place; a full
 * table is a network larger than the bound, or an attack) until expired ones are pruned.
 */
export class PeerTable extends TypedEventEmitter<PeerTableEvents> {
  private readonly entries = new Map<string, PeerEntry>()
  private readonly maxPeers: number
  private readonly now: () => number

  constructor(init: PeerTableInit) {
    super()
    this.maxPeers = init.maxPeers
    this.now = init.now ?? Date.now
  }

  /** The sequence number of the newest advert we hold for a peer, to spot stale ones */
  lastSeq(peerId: string): bigint | undefined {
    return this.entries.get(peerId)?.advert.seq
  }

  /** Whether a peer not listed yet would find room */
  hasRoomFor(peerId: string): boolean {
    return this.entries.has(peerId) || this.hasRoom()
  }

  /** Whether any peer not listed yet would find room */
  hasRoom(): boolean {
    if (this.entries.size < this.maxPeers) return true
    this.prune()
    return this.entries.size < this.maxPeers
  }

  /**
   * Takes a peer's newest advert; undefined when the peer is new and the table is full. `direct`: its origin
   * delivered it over its own connection. `signed`: the envelope its origin signed, when there is one.
   */
  update(
    peerId: string,
    advert: CapacityAdvert,
    direct = false,
    signed?: SignedAdvert
  ): PeerEntry | undefined {
    if (!this.hasRoomFor(peerId)) return undefined
    const now = this.now()
    const previous = this.entries.get(peerId)
    const entry: PeerEntry = {
      peerId,
      advert,
      receivedAt: now,
      // An expired entry not pruned yet is a peer that left: list() has not shown it since its TTL ran out
      listedAt: previous !== undefined && this.isFresh(previous) ? previous.listedAt : now,
      ttlMs: advertTtlMs(advert),
      direct,
      signed
    }
    this.entries.set(peerId, entry)
    this.safeDispatchEvent('peer:updated', { detail: entry })
    return entry
  }

  /**
   * A peer's last connection to us closed: if its newest advert came over that connection, the entry goes now
   * rather than a TTL later (a neighbour that left is the commonest stale entry). One heard through a relay
   * stays: the relay's connection says nothing about the origin.
   */
  dropDirect(peerId: string): PeerEntry | undefined {
    const entry = this.entries.get(peerId)
    if (entry === undefined || !entry.direct) return undefined
    this.entries.delete(peerId)
    this.safeDispatchEvent('peer:expired', { detail: entry })
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

  /** Fresh entries */
  get size(): number {
    let fresh = 0
    for (const entry of this.entries.values()) if (this.isFresh(entry)) fresh++
    return fresh
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
    return this.now() - entry.receivedAt <= entry.ttlMs
  }
}
