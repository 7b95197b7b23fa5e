import {
  type GossipSub,
  type Message,
  type SubscriptionChangeData,
  TopicValidatorResult
} from '@libp2p/gossipsub'
import { defaultPeerScoreThresholds } from '@libp2p/gossipsub/score'
import type { PeerId, Startable } from '@libp2p/interface'
import { Counter, Gauge, type Registry } from 'prom-client'
import type { Logger } from '../log/index.js'
import { setRecent } from '../net/recent-map.js'
import { PROOFMESH_VERSION } from '../version.js'
import { type CapacityAdvert, encodeAdvert } from './advert.js'
import {
  ADVERTS_PER_INTERVAL,
  advertRateWindowMs,
  capacityTopic,
  LEGACY_ADVERT_TTL_MS,
  MAX_ADVERT_TTL_MS,
  MAX_PEERS,
  MAX_RATE_LIMITED_ORIGINS
} from './constants.js'
import { GOSSIP_HEARTBEAT_MS, GRAYLIST_BAN_MS } from './gossip-score.js'
import { AdvertIntake, type IntakeOutcome } from './intake.js'
import { PeerTable } from './peer-table.js'
import { computeUnits, type HardwareInfo, probeHardware } from './probe.js'
import { OriginRateLimiter } from './rate-limit.js'
import { type SignedAdvert, signedAdvertOf } from './signed-advert.js'

/** What the job layer reports about this peer's own work */
export interface Workload {
  unitsInUse(): number
  activeJobs(): number
}

/** The native prover's identity, once it has said hello */
export interface ProverIdentity {
  name: string
  version: string
  /** 'npp' or 'cli' (see the advert's prover_backend) */
  backend: string
  programs: string[]
}

/** Which advert origins this node has been connected to and identified (src/net/reachable-peers.ts) */
export interface OriginReachability {
  isReachable(peerId: string): boolean
  /**
   * Tries to reach one: its advertised addresses, and the peer that relayed the advert (for fair queueing).
   * Settles with whether it is reachable.
   */
  check(peerId: PeerId, addrs: Uint8Array[], via: string): Promise<boolean>
}

export interface CapacityComponents {
  peerId: PeerId
  pubsub: GossipSub
  getMultiaddrs(): Array<{ bytes: Uint8Array }>
  reachability: OriginReachability
  /** Refuses a peer for `ms` and closes its connections (a peer graylisted for invalid adverts) */
  ban?(peerId: string, ms: number): void
  /** Calls `listener` when this node's last connection to a peer closes; returns the unsubscribe */
  onPeerDisconnect?(listener: (peerId: string) => void): () => void
}

export interface CapacityServiceInit {
  logger: Logger
  /** The heartbeat: an advert goes out this long after the last one when nothing changed */
  advertIntervalMs?: number
  probeIntervalMs?: number
  peerTtlIntervals?: number
  /**
   * Adverts accepted per origin peer and rate window (the advert interval, at most ADVERT_RATE_WINDOW_MS: a token
   * bucket holding as many); this peer also publishes no more often than one per window / this
   */
  advertsPerInterval?: number
  /** Origins whose rate is tracked at once (least recently heard forgotten first) */
  maxRateLimitedOrigins?: number
  /** Peers listed at once */
  maxPeers?: number
  /** 0 = derive from the hardware (10 per GPU, else CPU cores) */
  computeUnits?: number
  /** false = this peer offers no units at all (it only submits and relays) */
  offerCompute?: boolean
  tags?: string[]
  probe?: () => Promise<HardwareInfo>
  workload?: Workload
  /** False while this peer's prover is down (restarting): it then advertises no free units */
  takingWork?: () => boolean
  prover?: () => ProverIdentity | undefined
  metricsRegistry?: Registry
  /** Origins whose adverts are ignored (security.deny_peers): they never enter the table nor go further from here */
  denyPeers?: string[]
}

/**
 * The heartbeat of a peer that hears a peer of the previous version (adverts without ttl_ms): those keep an
 * advert 15 s, so it is renewed as often as they expect (their own heartbeat)
 */
const LEGACY_HEARTBEAT_MS = LEGACY_ADVERT_TTL_MS / 3

/** How long the farewell advert (no free units) may take to go out when the service stops */
const FAREWELL_DEADLINE_MS = 1_000

/**
 * Adverts go out on change (at once, within the rate) and otherwise every 15 s, with a TTL of 2 heartbeats. At
 * 5 s, adverts were most of an idle daemon's gossip work (README: how the network scales); what a slower
 * heartbeat leaves stale is repaired elsewhere: a change goes out at once, a peer that stops says so (its
 * farewell advert offers no units), a neighbour's entry goes when its connection closes, and a stale entry
 * costs one refused Reserve (leases are the truth). 15 s, not 20: simulated at 10,000 peers (6 seeds), 20 s x 2
 * left 4.3% of Reserves refused as stale, 6.7% at worst; 15 s x 2 3.0%, at worst 4.3% (the target: 5%).
 */
export const capacityDefaults = {
  advertIntervalMs: 15_000,
  probeIntervalMs: 30_000,
  peerTtlIntervals: 2,
  advertsPerInterval: ADVERTS_PER_INTERVAL,
  maxRateLimitedOrigins: MAX_RATE_LIMITED_ORIGINS,
  maxPeers: MAX_PEERS,
  computeUnits: 0
}

const idleWorkload: Workload = { unitsInUse: () => 0, activeJobs: () => 0 }

/** Adverts held while their origins are checked: a few times the checks queued at once (reachable-peers) */
const MAX_HELD_ADVERTS = 256

/** The validator lets the event loop run when it last did more than this long ago (validateInTurn) */
const YIELD_AFTER_MS = 10

/**
 * Advertises this peer's capacity on gossip and keeps the table of its neighbourhood's (two hops). Adverts go out every
 * interval and at once when something a submitter would choose by changes; each one received passes the
 * validator before it reaches the table.
 */
export class CapacityService implements Startable {
  readonly peers: PeerTable
  readonly topic = capacityTopic()
  private readonly components: CapacityComponents
  private readonly log: Logger
  private readonly advertIntervalMs: number
  /** The window the origin rate counts in (ADVERT_RATE_WINDOW_MS, or the heartbeat when faster) */
  private readonly rateWindowMs: number
  /** No two of our adverts go out closer than this, whatever prompts them */
  private readonly publishSpacingMs: number
  private readonly peerTtlMs: number
  private readonly rateLimiter: OriginRateLimiter
  private readonly intake: AdvertIntake
  /** Adverts of origins not reached yet, per relaying peer: a relay past this is flooding, and is banned */
  private readonly unreachedPerRelay: OriginRateLimiter
  /** Relays banned for flooding, and when */
  private readonly flooders = new Map<string, number>()
  /** When the validator last let the event loop run (see validateInTurn) */
  private lastYield = performance.now()
  private readonly probeIntervalMs: number
  private readonly configuredUnits: number
  private readonly offerCompute: boolean
  private readonly tags: string[]
  private readonly probe: () => Promise<HardwareInfo>
  private readonly workload: Workload
  private readonly prover: () => ProverIdentity | undefined
  private readonly takingWork: () => boolean
  private readonly advertsReceived?: Counter<'result' | 'reason'>
  private readonly denyPeers: ReadonlySet<string>
  private hardwareInfo?: HardwareInfo
  private lastSeq = 0n
  private lastFingerprint = ''
  private timers: NodeJS.Timeout[] = []
  private started = false
  /** Set from stopping until started again: the farewell advert, and any status after it, offer no units */
  private leaving = false
  private offDisconnect?: () => void
  private lastPublishAt = 0
  private lastPublishReachedPeers = false
  private pendingPublish?: NodeJS.Timeout
  /**
   * The newest advert of each origin being checked (reachable-peers): listed as soon as its check succeeds, rather
   * than an advert interval later. At most MAX_HELD_ADVERTS, the least recent dropped first.
   */
  private readonly held = new Map<string, SignedAdvert>()
  /** Peers whose score is looked at again once gossipsub's cached score has caught up with a Reject */
  private readonly scoreChecks = new Map<string, NodeJS.Timeout>()
  /**
   * Our first advert goes out before we have any neighbour, so it reaches nobody. When the first neighbour joins
   * the topic, advertise at once rather than up to an interval later. Only then: re-advertising on every new
   * neighbour would make each join a network-wide broadcast from every peer it touches.
   */
  private readonly onSubscriptionChange = (event: CustomEvent<SubscriptionChangeData>): void => {
    if (this.lastPublishReachedPeers) return
    if (event.detail.subscriptions.some((sub) => sub.topic === this.topic && sub.subscribe))
      this.publishSoon()
  }

  constructor(components: CapacityComponents, init: CapacityServiceInit) {
    this.components = components
    this.log = init.logger.child({ component: 'capacity' })
    this.advertIntervalMs = init.advertIntervalMs ?? capacityDefaults.advertIntervalMs
    const advertsPerInterval = init.advertsPerInterval ?? capacityDefaults.advertsPerInterval
    this.rateWindowMs = advertRateWindowMs(this.advertIntervalMs)
    this.publishSpacingMs = this.rateWindowMs / advertsPerInterval
    this.peerTtlMs = this.advertIntervalMs * (init.peerTtlIntervals ?? capacityDefaults.peerTtlIntervals)
    this.rateLimiter = new OriginRateLimiter({
      burst: advertsPerInterval,
      perInterval: advertsPerInterval,
      intervalMs: this.rateWindowMs,
      maxOrigins: init.maxRateLimitedOrigins ?? capacityDefaults.maxRateLimitedOrigins
    })
    const maxPeers = init.maxPeers ?? capacityDefaults.maxPeers
    this.unreachedPerRelay = new OriginRateLimiter({
      burst: maxPeers,
      perInterval: maxPeers,
      intervalMs: this.rateWindowMs,
      maxOrigins: init.maxRateLimitedOrigins ?? capacityDefaults.maxRateLimitedOrigins
    })
    this.probeIntervalMs = init.probeIntervalMs ?? capacityDefaults.probeIntervalMs
    this.configuredUnits = init.computeUnits ?? capacityDefaults.computeUnits
    this.offerCompute = init.offerCompute ?? true
    this.tags = init.tags ?? []
    this.probe = init.probe ?? (() => probeHardware())
    this.workload = init.workload ?? idleWorkload
    this.takingWork = init.takingWork ?? (() => true)
    this.prover = init.prover ?? (() => undefined)
    this.denyPeers = new Set(init.denyPeers ?? [])
    this.peers = new PeerTable({ maxPeers })
    this.intake = new AdvertIntake({ peers: this.peers, rateLimiter: this.rateLimiter })
    if (init.metricsRegistry !== undefined) this.registerMetrics(init.metricsRegistry)
    this.advertsReceived =
      init.metricsRegistry === undefined
        ? undefined
        : new Counter({
            name: 'proofmesh_adverts_received_total',
            help: 'Capacity adverts received, by validation result',
            labelNames: ['result', 'reason'],
            registers: [init.metricsRegistry]
          })
  }

  get hardware(): HardwareInfo | undefined {
    return this.hardwareInfo
  }

  async start(): Promise<void> {
    if (this.started) return
    this.started = true
    this.leaving = false
    await this.refreshHardware()
    const { pubsub } = this.components
    pubsub.topicValidators.set(this.topic, (from, message) => this.validateInTurn(from, message))
    pubsub.subscribe(this.topic)
    pubsub.addEventListener('subscription-change', this.onSubscriptionChange)
    this.offDisconnect = this.components.onPeerDisconnect?.((peer) => {
      if (this.peers.dropDirect(peer) !== undefined)
        this.log.info({ peer }, 'neighbour disconnected; dropped from the peer table')
    })
    if (this.peerTtlMs > MAX_ADVERT_TTL_MS) {
      this.log.warn(
        { ttlMs: this.peerTtlMs, maxTtlMs: MAX_ADVERT_TTL_MS },
        'advert interval times TTL intervals exceeds what peers keep an advert: between heartbeats they drop this peer'
      )
    }
    this.timers = [
      // ticks at the legacy heartbeat when that is faster: whether a heartbeat is due depends on the peers heard
      setInterval(() => this.tick(), Math.min(this.advertIntervalMs, LEGACY_HEARTBEAT_MS)),
      setInterval(() => {
        this.refreshHardware().catch((err: unknown) => this.log.warn({ err }, 'hardware probe failed'))
      }, this.probeIntervalMs)
    ]
    for (const timer of this.timers) timer.unref()
    await this.publishWhenAllowed()
  }

  async stop(): Promise<void> {
    if (!this.started) return
    for (const timer of this.timers) clearInterval(timer)
    this.timers = []
    clearTimeout(this.pendingPublish)
    this.pendingPublish = undefined
    this.offDisconnect?.()
    this.offDisconnect = undefined
    await this.farewell()
    this.started = false
    const { pubsub } = this.components
    pubsub.removeEventListener('subscription-change', this.onSubscriptionChange)
    pubsub.unsubscribe(this.topic)
    pubsub.topicValidators.delete(this.topic)
    for (const timer of this.scoreChecks.values()) clearTimeout(timer)
    this.scoreChecks.clear()
    this.held.clear()
    this.unreachedPerRelay.clear()
    this.flooders.clear()
    this.peers.clear()
    this.rateLimiter.clear()
  }

  /** Compute units offered, and those not taken by running work */
  units(): { total: number; free: number } {
    const hardware = this.hardwareInfo
    const total =
      hardware === undefined || !this.offerCompute ? 0 : computeUnits(hardware, this.configuredUnits)
    const free = this.takingWork() && !this.leaving ? Math.max(0, total - this.workload.unitsInUse()) : 0
    return { total, free }
  }

  /**
   * This peer's advert as it stands now, under the sequence number of the last one published: reading it (status
   * requests, change checks) does not advance the sequence, only publishing does.
   */
  currentAdvert(): CapacityAdvert {
    const hardware = this.hardwareInfo
    const units = this.units()
    const prover = this.prover()
    return {
      seq: this.lastSeq,
      timestampMs: BigInt(Date.now()),
      unitsTotal: units.total,
      unitsFree: units.free,
      gpus: (hardware?.gpus ?? []).map((gpu) => ({
        index: gpu.index,
        name: gpu.name,
        memoryTotalMib: gpu.memoryTotalMiB,
        memoryUsedMib: Math.min(gpu.memoryUsedMiB, gpu.memoryTotalMiB),
        utilizationPercent: Math.min(100, gpu.utilizationPercent)
      })),
      cpuCores: hardware?.cpuCores ?? 0,
      memoryBytes: BigInt(hardware?.memoryBytes ?? 0),
      proverName: prover?.name ?? '',
      proverVersion: prover?.version ?? '',
      proverBackend: prover?.backend ?? '',
      programs: prover?.programs ?? [],
      tags: this.tags,
      activeJobs: this.workload.activeJobs(),
      version: PROOFMESH_VERSION,
      addrs: this.components.getMultiaddrs().map((addr) => new Uint8Array(addr.bytes)),
      ttlMs: this.peerTtlMs
    }
  }

  /**
   * The last advert of a peer that stops: no free units, so that its neighbourhood stops choosing it now rather
   * than a TTL later. Within the spacing like every advert (one sent faster would be over the rate our
   * neighbours allow, and ignored), then bounded by FAREWELL_DEADLINE_MS: a peer that cannot say goodbye is left
   * to the TTL.
   */
  private async farewell(): Promise<void> {
    this.leaving = true
    const timers: NodeJS.Timeout[] = []
    const after = async (ms: number): Promise<void> =>
      new Promise((resolve) => {
        timers.push(setTimeout(resolve, ms))
      })
    try {
      const spacing = this.lastPublishAt + this.publishSpacingMs - Date.now()
      await Promise.race([
        (spacing > 0 ? after(spacing) : Promise.resolve()).then(async () => this.publish()),
        after(Math.max(0, spacing) + FAREWELL_DEADLINE_MS)
      ])
    } finally {
      for (const timer of timers) clearTimeout(timer)
    }
  }

  /**
   * Publishes if what a submitter chooses by has changed since the last advert: at once, or when the spacing
   * since the last advert has passed (changes in between go out together)
   */
  async notifyChanged(): Promise<void> {
    if (this.started && this.fingerprint(this.currentAdvert()) !== this.lastFingerprint) {
      await this.publishWhenAllowed()
    }
  }

  /**
   * Every advert goes out through here: at once when the last one is at least `publishSpacingMs` old, else once
   * it is (one pending publish at a time, which re-checks when it fires). So this peer never publishes faster
   * than the rate every other peer's validator allows it, timer, changes and first-neighbour advert together.
   */
  private async publishWhenAllowed(minDelayMs = 0): Promise<void> {
    if (!this.started || this.pendingPublish !== undefined) return
    const wait = Math.max(minDelayMs, this.lastPublishAt + this.publishSpacingMs - Date.now())
    if (wait <= 0) {
      await this.publish()
      return
    }
    this.pendingPublish = setTimeout(() => {
      this.pendingPublish = undefined
      this.publishWhenAllowed().catch((err: unknown) => this.log.debug({ err }, 'advert not published'))
    }, wait)
    this.pendingPublish.unref()
  }

  /** Publishes within a short delay (neighbours joining together share one advert), within the spacing */
  private publishSoon(): void {
    this.publishWhenAllowed(50).catch((err: unknown) => this.log.debug({ err }, 'advert not published'))
  }

  private async publish(): Promise<void> {
    this.lastPublishAt = Date.now()
    // time-based, so a restarted peer's adverts are not taken for stale ones
    this.lastSeq = this.lastSeq >= BigInt(this.lastPublishAt) ? this.lastSeq + 1n : BigInt(this.lastPublishAt)
    const advert = this.currentAdvert()
    this.lastFingerprint = this.fingerprint(advert)
    try {
      const result = await this.components.pubsub.publish(this.topic, encodeAdvert(advert))
      this.lastPublishReachedPeers = result.recipients.length > 0
    } catch (err) {
      this.log.debug({ err }, 'advert not published')
    }
  }

  private tick(): void {
    for (const entry of this.peers.prune()) {
      this.log.info({ peer: entry.peerId }, 'peer stopped advertising; dropped from the peer table')
    }
    if (Date.now() - this.lastPublishAt < this.heartbeatMs()) return
    this.publishWhenAllowed().catch((err: unknown) => this.log.debug({ err }, 'advert not published'))
  }

  /**
   * The advert interval; the legacy one while a peer of the previous version is listed (its adverts name no TTL:
   * it keeps ours 15 s), so that mixed versions keep seeing each other through an upgrade
   */
  private heartbeatMs(): number {
    const legacyHeard = this.peers.list().some((entry) => entry.advert.ttlMs === 0)
    return legacyHeard ? Math.min(this.advertIntervalMs, LEGACY_HEARTBEAT_MS) : this.advertIntervalMs
  }

  private async refreshHardware(): Promise<void> {
    const previous = this.hardwareInfo
    this.hardwareInfo = await this.probe()
    if (previous === undefined) {
      this.log.info(
        {
          gpus: this.hardwareInfo.gpus.map((gpu) => `${gpu.name} ${gpu.memoryTotalMiB} MiB`),
          cpuCores: this.hardwareInfo.cpuCores,
          units: this.units().total
        },
        'hardware probed'
      )
    } else {
      await this.notifyChanged()
    }
  }

  /**
   * gossipsub checks each message's signature before this validator sees it (0.4-0.6 ms each here), and a peer
   * can hand it thousands at once: 10,000 relayed adverts held the event loop for 11 s, /v1/status answering in up
   * to 4.7 s. gossipsub is set to take one peer's messages one at a time (host.ts), and here the validator lets
   * the event loop run (a setImmediate) when it last did more than YIELD_AFTER_MS ago, so the API, timers and
   * other peers' streams get their turn between adverts however long a flood is.
   */
  private validateInTurn(
    propagationSource: PeerId,
    message: Message
  ): TopicValidatorResult | Promise<TopicValidatorResult> {
    if (performance.now() - this.lastYield < YIELD_AFTER_MS) return this.validate(propagationSource, message)
    return new Promise((resolve) => {
      setImmediate(() => {
        this.lastYield = performance.now()
        resolve(this.validate(propagationSource, message))
      })
    })
  }

  /**
   * Gossip validator: quick, and Reject only what is provably invalid (it lowers the sender's score, and three
   * graylist it: gossip-score.ts). An advert that is valid but stamped outside our time window, over its origin's
   * rate, from an origin this node has not reached yet, or from a new peer when the table is full, is ignored:
   * gossipsub neither forwards it nor penalises the peer that relayed it. A valid advert a neighbour relayed is listed
   * and answered Ignore too, so that it goes no further (two hops: intake.ts). An origin not reached yet is checked (a
   * dial and identify, bounded: reachable-peers.ts); its adverts count once it has been. The rate is checked last,
   * so only adverts that would be accepted spend a token: replaying a peer's old adverts cannot use up its rate.
   */
  private validate(propagationSource: PeerId, message: Message): TopicValidatorResult {
    if (message.type !== 'signed') {
      this.count('reject', 'unsigned')
      this.checkScoreSoon(propagationSource.toString())
      return TopicValidatorResult.Reject
    }
    const sender = message.from.toString()
    if (sender === this.components.peerId.toString()) return TopicValidatorResult.Ignore
    // Not invalid, only unwanted here: Ignore, so the peer that relayed it is not penalised
    if (this.denyPeers.has(sender)) {
      this.count('ignore', 'denied')
      return TopicValidatorResult.Ignore
    }
    const verdict = this.judge(message.from, signedAdvertOf(message), propagationSource.toString())
    if (verdict === TopicValidatorResult.Reject) this.checkScoreSoon(propagationSource.toString())
    return verdict
  }

  /**
   * Decodes and checks one advert of `origin`, and lists it if it passes. `via`: the peer that relayed it; an
   * origin not reached yet is then checked, its advert held until the check ends. No `via`: a held advert, judged
   * again once its origin was reached.
   */
  private judge(origin: PeerId, signed: SignedAdvert, via: string | undefined): TopicValidatorResult {
    const sender = origin.toString()
    const { reachability } = this.components
    let outcome: IntakeOutcome
    try {
      outcome = this.intake.admit(
        sender,
        signed.data,
        via === sender,
        (peerId) => reachability.isReachable(peerId),
        signed
      )
    } catch (err) {
      this.count('ignore', 'internal')
      this.log.warn({ err, peer: sender }, 'advert validation failed internally')
      return TopicValidatorResult.Ignore
    }
    switch (outcome.kind) {
      case 'refused':
        this.count(outcome.verdict, outcome.reason)
        this.log.debug({ peer: sender, reason: outcome.reason, err: outcome.detail }, 'advert not accepted')
        return outcome.verdict === 'reject' ? TopicValidatorResult.Reject : TopicValidatorResult.Ignore
      case 'unreached':
        this.count('ignore', 'unreached')
        if (via !== undefined && this.unreachedPerRelay.take(via))
          this.holdUntilReached(origin, signed, outcome.advert.addrs, via)
        else if (via !== undefined) this.banFlooder(via)
        return TopicValidatorResult.Ignore
      case 'listed':
        if (!outcome.known) {
          this.log.info({ peer: sender, units: outcome.advert.unitsTotal }, 'peer joined the peer table')
        }
        // a held advert judged again once its origin was reached was counted as unreached when it arrived; one a
        // neighbour relayed is listed, and goes no further (intake.ts: two hops)
        this.count('accept', via === undefined ? 'reached' : outcome.forward ? 'ok' : 'relayed')
        return outcome.forward ? TopicValidatorResult.Accept : TopicValidatorResult.Ignore
    }
  }

  /**
   * An advert a peer handed over when this node pulled capacity (pull.ts), its signature already verified: the same
   * intake as gossip's (never forwarded: it did not come over gossip). An origin not reached yet is checked first
   * (a dial and identify, within reachable-peers' bounds, `via` the peer that handed it over); settles with the
   * outcome once it is known.
   */
  async admitPulled(origin: PeerId, signed: SignedAdvert, via: string): Promise<IntakeOutcome> {
    const sender = origin.toString()
    if (sender === this.components.peerId.toString() || this.denyPeers.has(sender)) {
      return { kind: 'refused', verdict: 'ignore', reason: 'denied', detail: 'this peer itself, or denied' }
    }
    const { reachability } = this.components
    const admit = (): IntakeOutcome =>
      this.intake.admit(sender, signed.data, false, (peerId) => reachability.isReachable(peerId), signed)
    const first = admit()
    if (first.kind !== 'unreached' || !this.started) return first
    if (!(await reachability.check(origin, first.advert.addrs, via)) || !this.started) return first
    const outcome = admit()
    if (outcome.kind === 'listed' && !outcome.known) {
      this.log.info(
        { peer: sender, units: outcome.advert.unitsTotal, via },
        'pulled peer joined the peer table'
      )
    }
    return outcome
  }

  /**
   * A peer relayed adverts of more origins we have not reached than the table holds, within one advert interval:
   * no honest relay does (each origin advertises once per interval), while each costs us a signature check.
   */
  private banFlooder(relay: string): void {
    // the rest of the flood already read reaches here too: one ban per relay and interval
    const now = Date.now()
    if (this.components.ban === undefined || (this.flooders.get(relay) ?? 0) > now - this.rateWindowMs) return
    setRecent(this.flooders, relay, now, MAX_HELD_ADVERTS)
    this.log.warn(
      { peer: relay, banMs: GRAYLIST_BAN_MS },
      'peer relays adverts of more unreached origins than the table holds; banned for a while'
    )
    this.components.ban(relay, GRAYLIST_BAN_MS)
  }

  private holdUntilReached(origin: PeerId, signed: SignedAdvert, addrs: Uint8Array[], via: string): void {
    const sender = origin.toString()
    setRecent(this.held, sender, signed, MAX_HELD_ADVERTS)
    this.components.reachability
      .check(origin, addrs, via)
      .then((reached) => {
        const held = this.held.get(sender)
        this.held.delete(sender)
        if (reached && held !== undefined && this.started) this.judge(origin, held, undefined)
      })
      .catch((err: unknown) => this.log.debug({ err, peer: sender }, 'reachability check failed'))
  }

  /**
   * After a Reject, gossipsub counts the invalid message against the peer that sent it to us; once that puts the
   * peer below the graylist threshold it is banned for a while (connections closed, none accepted). Looked at a
   * little after gossipsub's score cache (one heartbeat) has seen the Reject; one pending look per peer.
   */
  private checkScoreSoon(peer: string): void {
    if (this.components.ban === undefined || this.scoreChecks.has(peer)) return
    const timer = setTimeout(() => {
      this.scoreChecks.delete(peer)
      // on the GossipSub class, not on its exported interface
      const { pubsub } = this.components
      const score = (pubsub as Partial<{ getScore(id: string): number }>).getScore?.call(pubsub, peer) ?? 0
      if (score >= defaultPeerScoreThresholds.graylistThreshold) return
      this.log.info(
        { peer, score: Math.round(score), banMs: GRAYLIST_BAN_MS },
        'peer graylisted for invalid adverts; banned for a while'
      )
      this.components.ban?.(peer, GRAYLIST_BAN_MS)
    }, GOSSIP_HEARTBEAT_MS + 100)
    timer.unref()
    this.scoreChecks.set(peer, timer)
  }

  private count(result: string, reason: string): void {
    this.advertsReceived?.inc({ result, reason })
  }

  private fingerprint(advert: CapacityAdvert): string {
    return JSON.stringify([
      advert.unitsTotal,
      advert.unitsFree,
      advert.gpus.map((gpu) => [gpu.index, gpu.name, gpu.memoryTotalMib]),
      advert.proverName,
      advert.proverVersion,
      advert.proverBackend,
      advert.programs,
      advert.tags,
      advert.activeJobs
    ])
  }

  private registerMetrics(registry: Registry): void {
    const peers = this.peers
    const units = (): { total: number; free: number } => this.units()
    const hardware = (): HardwareInfo | undefined => this.hardwareInfo
    // A GPU below this utilisation at the last probe counts as idle: nvidia-smi samples over its last
    // interval, so a few percent is driver and display noise, not a prover at work
    const idleBelowPercent = 10
    const gpuCounts = (gpus: Array<{ utilizationPercent: number }>): { total: number; idle: number } => ({
      total: gpus.length,
      idle: gpus.filter((gpu) => gpu.utilizationPercent < idleBelowPercent).length
    })
    new Gauge({
      name: 'proofmesh_peers_known',
      help: 'Peers with a fresh advert in the capacity table',
      registers: [registry],
      collect() {
        this.set(peers.size)
      }
    })
    new Gauge({
      name: 'proofmesh_compute_units',
      help: "This peer's compute units, total and free",
      labelNames: ['kind'],
      registers: [registry],
      collect() {
        const { total, free } = units()
        this.set({ kind: 'total' }, total)
        this.set({ kind: 'free' }, free)
      }
    })
    new Gauge({
      name: 'proofmesh_gpus',
      help: `This peer's GPUs at the last probe: total, and idle (utilisation under ${idleBelowPercent}%)`,
      labelNames: ['kind'],
      registers: [registry],
      collect() {
        const { total, idle } = gpuCounts(hardware()?.gpus ?? [])
        this.set({ kind: 'total' }, total)
        this.set({ kind: 'idle' }, idle)
      }
    })
    new Gauge({
      name: 'proofmesh_gpu_utilization_percent',
      help: "Utilisation of each of this peer's GPUs at the last probe (nvidia-smi)",
      labelNames: ['gpu', 'name'],
      registers: [registry],
      collect() {
        this.reset()
        for (const gpu of hardware()?.gpus ?? []) {
          this.set({ gpu: String(gpu.index), name: gpu.name }, gpu.utilizationPercent)
        }
      }
    })
    new Gauge({
      name: 'proofmesh_gpu_memory_used_bytes',
      help: "Memory used on each of this peer's GPUs at the last probe (nvidia-smi)",
      labelNames: ['gpu', 'name'],
      registers: [registry],
      collect() {
        this.reset()
        for (const gpu of hardware()?.gpus ?? []) {
          this.set({ gpu: String(gpu.index), name: gpu.name }, gpu.memoryUsedMiB * 1024 * 1024)
        }
      }
    })
    new Gauge({
      name: 'proofmesh_network_compute_units',
      help: 'Compute units of this peer and every peer with a fresh advert, total and free (as advertised)',
      labelNames: ['kind'],
      registers: [registry],
      collect() {
        const own = units()
        let total = own.total
        let free = own.free
        for (const entry of peers.list()) {
          total += entry.advert.unitsTotal
          free += entry.advert.unitsFree
        }
        this.set({ kind: 'total' }, total)
        this.set({ kind: 'free' }, free)
      }
    })
    new Gauge({
      name: 'proofmesh_network_gpus',
      help: `GPUs of this peer and every peer with a fresh advert: total, and idle (utilisation under ${idleBelowPercent}%)`,
      labelNames: ['kind'],
      registers: [registry],
      collect() {
        const counts = gpuCounts([
          ...(hardware()?.gpus ?? []),
          ...peers.list().flatMap((entry) => entry.advert.gpus)
        ])
        this.set({ kind: 'total' }, counts.total)
        this.set({ kind: 'idle' }, counts.idle)
      }
    })
  }
}
