import { type AdvertVerdict, AdvertValidationError, type CapacityAdvert, decodeAdvert } from './advert.js'
import { advertTtlMs, MAX_CLOCK_SKEW_MS } from './constants.js'
import type { PeerTable } from './peer-table.js'
import type { OriginRateLimiter } from './rate-limit.js'
import type { SignedAdvert } from './signed-advert.js'

/** What became of one advert: listed or not, and whether gossip may take it one hop further */
export type IntakeOutcome =
  | { kind: 'listed'; advert: CapacityAdvert; known: boolean; forward: boolean }
  | { kind: 'unreached'; advert: CapacityAdvert }
  | { kind: 'refused'; verdict: AdvertVerdict; reason: string; detail: string }

export interface AdvertIntakeInit {
  peers: PeerTable
  rateLimiter: OriginRateLimiter
  now?: () => number
}

/**
 * The capacity table's door, without gossip around it: one advert of one origin, decoded, checked and listed (or
 * not). The gossip validator (service.ts) and the simulator (scripts/sim) run this same code.
 *
 * Adverts travel two hops, no further: an advert its origin delivered itself may be forwarded, one that a
 * neighbour relayed is listed but goes no further. Flooding every advert to every peer made each peer's work
 * linear in the network's size (~1 ms of CPU per advert, 60 daemons ~190% of this machine). Two hops make it
 * bounded by degrees instead: a peer hears its own neighbours and its mesh peers' neighbours, however large the
 * network; in a network of tens of peers that is nearly everyone (gossipsub keeps a mesh of 6 among a dozen
 * connections), in one of thousands it is the peers it can lease from soonest. Leases stay the truth: an advert
 * that was wrong costs one refused Reserve.
 *
 * An advert names its own TTL (ttl_ms: its sender's heartbeat times its TTL intervals, capped by advertTtlMs):
 * peers of different heartbeats share one table.
 *
 * Order: the advert's own checks (Reject, then Ignore: stale, future, stale_time), then the origin must be
 * reached (else `unreached`: the caller checks it), the table must have room, and last the origin's rate, so
 * that only an advert that would be listed spends a token.
 */
export class AdvertIntake {
  private readonly peers: PeerTable
  private readonly rateLimiter: OriginRateLimiter
  private readonly now: () => number

  constructor(init: AdvertIntakeInit) {
    this.peers = init.peers
    this.rateLimiter = init.rateLimiter
    this.now = init.now ?? Date.now
  }

  /**
   * `origin`: the advert's signer. `direct`: the origin delivered it itself (gossip's propagation source is the
   * signer); only such an advert may be forwarded. `signed`: the envelope the origin signed (already verified),
   * kept with the entry for peers that pull capacity from this one; gossip and pulls both give it.
   */
  admit(
    origin: string,
    data: Uint8Array,
    direct: boolean,
    reachable: (peerId: string) => boolean,
    signed?: SignedAdvert
  ): IntakeOutcome {
    let advert: CapacityAdvert
    try {
      advert = decodeAdvert(data, {
        lastSeq: this.peers.lastSeq(origin),
        now: this.now(),
        // an advert older than its own TTL would be listed already expired
        maxAgeMs: advertTtlMs,
        maxAheadMs: MAX_CLOCK_SKEW_MS,
        signer: origin
      })
    } catch (err) {
      if (!(err instanceof AdvertValidationError)) throw err
      return { kind: 'refused', verdict: err.verdict, reason: err.reason, detail: err.message }
    }
    if (!reachable(origin)) return { kind: 'unreached', advert }
    if (!this.peers.hasRoomFor(origin)) {
      return { kind: 'refused', verdict: 'ignore', reason: 'table_full', detail: 'the peer table is full' }
    }
    if (!this.rateLimiter.take(origin)) {
      return { kind: 'refused', verdict: 'ignore', reason: 'rate_limited', detail: 'over its origin rate' }
    }
    const known = this.peers.get(origin) !== undefined
    this.peers.update(origin, advert, direct, signed)
    return { kind: 'listed', advert, known, forward: direct }
  }
}
