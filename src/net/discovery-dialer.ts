import { KEEP_ALIVE, type PeerId, type PeerInfo, type PeerUpdate, type Startable } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import type { Logger } from '../log/index.js'
import { deadline } from './deadline.js'
import { dialErrorText } from './framed-stream.js'
import { keepIdleDhtConnections, type ProofmeshHost } from './host.js'

export interface DiscoveryDialerInit {
  logger: Logger
  /** Below this many connections, every newly discovered peer is dialled */
  minConnections?: number
  dialTimeoutMs?: number
  /** Dials in flight at once */
  concurrency?: number
  /** Re-dialled while the node has no connection at all */
  bootstrap?: string[]
  /** First retry delay for the bootstrap list; doubles up to maxRetryMs while the node stays alone */
  retryMs?: number
  maxRetryMs?: number
  /**
   * Above this many connections (and minConnections), idle ones (see trimIdleConnections) are closed until this
   * many remain; 0 = never
   */
  maxIdleConnections?: number
  /** A connection younger than this is never idle: gossipsub has had no heartbeat to graft it into its mesh */
  idleGraceMs?: number
  /** How often idle connections are looked for */
  trimIntervalMs?: number
  /** A discovered peer whose dial failed is not dialled again for this long, doubling per failure */
  failedDialBackoffMs?: number
}

export const discoveryDialerDefaults = {
  // gossipsub keeps a mesh of 6 (at most 12) per topic; a few more connections give it choice and the DHT room
  minConnections: 12,
  dialTimeoutMs: 10_000,
  concurrency: 4,
  retryMs: 1_000,
  maxRetryMs: 30_000,
  /** A peer we lost is dialled again this many times (with backoff) while we are below minConnections */
  redialAttempts: 5,
  // kad-dht queries dial many peers (every one they ask) and libp2p never closes a connection by itself, nor can
  // its pruner close one that carries a gossipsub stream, which all of them do: in a 60-node network each node
  // ended up connected to ~20-35 others, most idle, all of them costing gossip heartbeats, IHAVEs and pings.
  // Above this many, idle ones are closed until this many remain: only the surplus, and the gap to
  // minConnections keeps the two from fighting (a peer we cut rarely falls below its own minimum and dials back).
  maxIdleConnections: 16,
  idleGraceMs: 10_000,
  trimIntervalMs: 5_000,
  failedDialBackoffMs: 30_000,
  maxFailedDialBackoffMs: 600_000,
  /** Peers whose failed dials are remembered; the oldest are forgotten beyond this */
  maxRememberedFailures: 1_000
}

/** Streams that every connection carries or that identify runs by itself: they do not make a connection busy */
const BACKGROUND_PROTOCOLS = ['/ipfs/id/1.0.0', '/ipfs/id/push/1.0.0']

/**
 * kad-dht tags the 20 peers closest to us in XOR distance with this, and libp2p dials a peer so tagged again the
 * moment its connection closes: in a network of tens of nodes that pins most connections open, and a connection
 * closed as idle (by us, or by the peer) would come straight back. The DHT does not need them open: it dials
 * whom it queries. So the tag is taken off as soon as it is put on.
 */
const DHT_KEEP_ALIVE_TAG = `${KEEP_ALIVE}-kad-dht`

/**
 * libp2p 3 has no auto-dialer: peers found by bootstrap and the DHT are only remembered. A proving network
 * wants a well-connected gossip mesh, so this dials newly discovered peers until the node has enough
 * connections. Bounded in concurrency and time; failures are routine (stale DHT records) and logged at debug.
 *
 * It also keeps trying the bootstrap list while the node has no connection: libp2p's bootstrap module dials
 * once at start, so a node whose bootstrap peer was down or busy at that moment would stay alone for good.
 */
export class DiscoveryDialer implements Startable {
  private readonly node: ProofmeshHost
  private readonly log: Logger
  private readonly minConnections: number
  private readonly dialTimeoutMs: number
  private readonly concurrency: number
  private readonly pending = new Set<string>()
  private readonly onDiscovery = (event: CustomEvent<PeerInfo>): void => this.consider(event.detail)
  /**
   * A peer that went away may come back at the same address (a restarted daemon, a link that healed): it is
   * dialled again a few times. Without this a restarted bootstrap node, which has no bootstrap list of its own,
   * would stay cut off from everyone who joined through it.
   */
  private readonly onDisconnect = (event: CustomEvent<PeerId>): void => {
    // a connection we closed as idle is not a peer lost
    if (this.trimmed.delete(event.detail.toString())) return
    this.redial(event.detail, 1)
  }
  /** Peers whose connection trimIdleConnections is closing */
  private readonly trimmed = new Set<string>()
  private readonly onPeerUpdate = (event: CustomEvent<PeerUpdate>): void => {
    const { peer } = event.detail
    if (!peer.tags.has(DHT_KEEP_ALIVE_TAG)) return
    this.node.peerStore
      .merge(peer.id, { tags: { [DHT_KEEP_ALIVE_TAG]: undefined } })
      .catch((err: unknown) =>
        this.log.debug({ peer: peer.id.toString(), err }, 'keep-alive tag not removed')
      )
  }
  private readonly redials = new Map<string, NodeJS.Timeout>()
  /**
   * Discovered peers whose dial failed, and when they may be tried again. Discovery announces the same peers
   * over and over (every DHT query that meets them): without this, a peer that refuses us (its
   * security.deny_peers, another network's swarm key) or a stale DHT address would be dialled, and the
   * handshake paid for on both sides, each time.
   */
  private readonly dialFailures = new Map<string, { failures: number; retryAt: number }>()
  private readonly failedDialBackoffMs: number
  private readonly bootstrap: string[]
  private readonly retryMs: number
  private readonly maxRetryMs: number
  private retryTimer?: NodeJS.Timeout
  private nextRetryMs: number
  private readonly maxIdleConnections: number
  private readonly idleGraceMs: number
  private readonly trimIntervalMs: number
  private trimTimer?: NodeJS.Timeout

  constructor(node: ProofmeshHost, init: DiscoveryDialerInit) {
    this.node = node
    this.log = init.logger.child({ component: 'discovery' })
    this.minConnections = init.minConnections ?? discoveryDialerDefaults.minConnections
    this.dialTimeoutMs = init.dialTimeoutMs ?? discoveryDialerDefaults.dialTimeoutMs
    this.concurrency = init.concurrency ?? discoveryDialerDefaults.concurrency
    this.bootstrap = init.bootstrap ?? []
    this.retryMs = init.retryMs ?? discoveryDialerDefaults.retryMs
    this.maxRetryMs = init.maxRetryMs ?? discoveryDialerDefaults.maxRetryMs
    this.nextRetryMs = this.retryMs
    // PROOFMESH_TEST_IDLE_DHT_CONNECTIONS=keep: the settings before idle connections were closed (benchmarks)
    this.maxIdleConnections = keepIdleDhtConnections()
      ? 0
      : (init.maxIdleConnections ?? discoveryDialerDefaults.maxIdleConnections)
    this.idleGraceMs = init.idleGraceMs ?? discoveryDialerDefaults.idleGraceMs
    this.trimIntervalMs = init.trimIntervalMs ?? discoveryDialerDefaults.trimIntervalMs
    this.failedDialBackoffMs = init.failedDialBackoffMs ?? discoveryDialerDefaults.failedDialBackoffMs
  }

  start(): void {
    this.node.addEventListener('peer:discovery', this.onDiscovery)
    this.node.addEventListener('peer:disconnect', this.onDisconnect)
    if (this.bootstrap.length > 0) this.scheduleBootstrapCheck()
    if (this.maxIdleConnections > 0) {
      this.node.addEventListener('peer:update', this.onPeerUpdate)
      this.trimTimer = setInterval(() => {
        this.trimIdleConnections().catch((err: unknown) =>
          this.log.debug({ err }, 'idle connections not closed')
        )
      }, this.trimIntervalMs)
      this.trimTimer.unref()
    }
  }

  stop(): void {
    this.node.removeEventListener('peer:discovery', this.onDiscovery)
    this.node.removeEventListener('peer:disconnect', this.onDisconnect)
    this.node.removeEventListener('peer:update', this.onPeerUpdate)
    clearInterval(this.trimTimer)
    this.trimTimer = undefined
    for (const timer of this.redials.values()) clearTimeout(timer)
    this.redials.clear()
    this.dialFailures.clear()
    clearTimeout(this.retryTimer)
    this.retryTimer = undefined
  }

  private scheduleBootstrapCheck(): void {
    this.retryTimer = setTimeout(() => {
      if (this.node.getConnections().length > 0) {
        this.nextRetryMs = this.retryMs
      } else {
        this.log.info({ retryInMs: this.nextRetryMs }, 'no connections; dialling the bootstrap peers again')
        for (const address of this.bootstrap) {
          this.node
            .dial(multiaddr(address), {
              signal: deadline(`dialling bootstrap peer ${address}`, this.dialTimeoutMs)
            })
            .catch((err: unknown) =>
              this.log.debug({ address, err: dialErrorText(err) }, 'bootstrap peer not reachable')
            )
        }
        this.nextRetryMs = Math.min(this.nextRetryMs * 2, this.maxRetryMs)
      }
      if (this.retryTimer !== undefined) this.scheduleBootstrapCheck()
    }, this.nextRetryMs)
    this.retryTimer.unref()
  }

  private redial(peer: PeerId, attempt: number): void {
    const id = peer.toString()
    if (attempt > discoveryDialerDefaults.redialAttempts || this.redials.has(id)) return
    const timer = setTimeout(
      () => {
        this.redials.delete(id)
        if (this.node.getConnections(peer).length > 0) return
        if (this.node.getConnections().length >= this.minConnections) return
        this.node
          .dial(peer, { signal: deadline(`redialling lost peer ${id}`, this.dialTimeoutMs) })
          .then(() => this.log.debug({ peer: id }, 'reconnected to a lost peer'))
          .catch(() => this.redial(peer, attempt + 1))
      },
      Math.min(this.retryMs * 2 ** attempt, this.maxRetryMs)
    )
    timer.unref()
    this.redials.set(id, timer)
  }

  private consider(peer: PeerInfo): void {
    const id = peer.id.toString()
    if (peer.id.equals(this.node.peerId) || this.pending.has(id)) return
    if (this.pending.size >= this.concurrency) return
    if (this.node.getConnections().length >= this.minConnections) return
    if (this.node.getConnections(peer.id).length > 0) return
    if ((this.dialFailures.get(id)?.retryAt ?? 0) > Date.now()) return
    this.pending.add(id)
    const target = peer.multiaddrs.length > 0 ? peer.multiaddrs : peer.id
    this.node
      .dial(target, { signal: deadline(`dialling discovered peer ${id}`, this.dialTimeoutMs) })
      .then(() => {
        this.dialFailures.delete(id)
        this.log.debug({ peer: id }, 'dialled discovered peer')
      })
      .catch((err: unknown) => {
        const failures = (this.dialFailures.get(id)?.failures ?? 0) + 1
        const backoffMs = Math.min(
          this.failedDialBackoffMs * 2 ** (failures - 1),
          discoveryDialerDefaults.maxFailedDialBackoffMs
        )
        // re-inserted, so that the Map's order is by last failure and the oldest go first
        this.dialFailures.delete(id)
        this.dialFailures.set(id, { failures, retryAt: Date.now() + backoffMs })
        if (this.dialFailures.size > discoveryDialerDefaults.maxRememberedFailures) {
          const oldest = this.dialFailures.keys().next().value
          if (oldest !== undefined) this.dialFailures.delete(oldest)
        }
        // once a peer until it is dialled again: each retry of a peer that cannot be reached says the same
        if (failures === 1)
          this.log.debug({ peer: id, err: dialErrorText(err) }, 'could not dial discovered peer')
      })
      .finally(() => this.pending.delete(id))
  }

  /**
   * Above maxIdleConnections, closes idle connections until that many remain. Idle: open for longer than the
   * grace period, no stream but gossipsub's and identify's (a DHT query, a job, a status request in flight all
   * keep it), and the peer in none of gossipsub's meshes (those carry the adverts). Mostly these are what kad-dht
   * queries left behind; the DHT keeps the peers in its routing table and dials them when it asks. Oldest first:
   * the bootstrap peers, which every node dialled, go before the rest.
   *
   * Connections we dialled first: the side that opened a connection knows why, and closes it. Closing the ones
   * peers opened to us, down to the cap, made them dial us straight back when that left them below their
   * minConnections (measured: the same pairs cut and re-made every 10-20 s). So idle inbound connections are
   * closed only above twice the cap, and only down to twice the cap. That is a seed, which every node dialled
   * at start (35-40 connections each in a 60-node network, everyone in a larger one); the peers it cuts hold
   * enough other connections by then.
   */
  async trimIdleConnections(): Promise<number> {
    const connections = this.node.getConnections().filter((connection) => connection.status === 'open')
    const cap = Math.max(this.maxIdleConnections, this.minConnections)
    const surplus = connections.length - cap
    if (this.maxIdleConnections <= 0 || surplus <= 0) return 0
    const pubsub = this.node.services.pubsub
    // on the GossipSub class, not on its exported interface
    const meshOf = (pubsub as Partial<{ getMeshPeers: (topic: string) => string[] }>).getMeshPeers?.bind(
      pubsub
    )
    if (meshOf === undefined) return 0
    const mesh = new Set(pubsub.getTopics().flatMap((topic) => meshOf(topic)))
    const background = new Set([...BACKGROUND_PROTOCOLS, ...pubsub.protocols])
    const now = Date.now()
    const idle = connections
      .filter(
        (connection) =>
          now - connection.timeline.open > this.idleGraceMs &&
          !mesh.has(connection.remotePeer.toString()) &&
          connection.streams.every((stream) => background.has(stream.protocol ?? ''))
      )
      .sort((a, b) => a.timeline.open - b.timeline.open)
    const outbound = idle.filter((connection) => connection.direction === 'outbound').slice(0, surplus)
    const inboundSurplus = surplus - outbound.length - cap
    const inbound =
      inboundSurplus > 0
        ? idle.filter((connection) => connection.direction === 'inbound').slice(0, inboundSurplus)
        : []
    const toClose = [...outbound, ...inbound]
    if (toClose.length === 0) return 0
    this.log.debug(
      { connections: connections.length, closing: toClose.length, mesh: mesh.size },
      'closing idle connections'
    )
    await Promise.all(
      toClose.map(async (connection) => {
        const peer = connection.remotePeer
        this.trimmed.add(peer.toString())
        await connection
          .close({ signal: deadline(`closing an idle connection to ${peer.toString()}`, this.dialTimeoutMs) })
          .catch((err: unknown) => connection.abort(err instanceof Error ? err : new Error(String(err))))
        // another connection to the peer remains: no disconnect event will clear the mark
        if (this.node.getConnections(peer).length > 0) this.trimmed.delete(peer.toString())
      })
    )
    return toClose.length
  }
}
