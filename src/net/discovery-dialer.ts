import {
  type Connection,
  KEEP_ALIVE,
  type PeerId,
  type PeerInfo,
  type PeerUpdate,
  type Startable
} from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import type { Logger } from '../log/index.js'
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
   * Above this many connections, idle ones (see trimIdleConnections) are closed until minConnections remain;
   * 0 = never
   */
  maxIdleConnections?: number
  /** A connection younger than this is never idle: gossipsub has had no heartbeat to graft it into its mesh */
  idleGraceMs?: number
  /** How often idle connections are looked for */
  trimIntervalMs?: number
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
  // ended up connected to ~20-35 others, most idle, all of them costing gossip heartbeats and IHAVEs. Above
  // this many, the idle ones are closed down to minConnections (the gap keeps the two from fighting: a peer we
  // cut that then finds itself below minConnections dials us again, and we stay under this).
  maxIdleConnections: 16,
  idleGraceMs: 10_000,
  trimIntervalMs: 5_000
}

/** Streams that every connection carries or that identify runs by itself: they do not make a connection busy */
const BACKGROUND_PROTOCOLS = ['/ipfs/id/1.0.0', '/ipfs/id/push/1.0.0']

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
  private readonly onDisconnect = (event: CustomEvent<PeerId>): void => this.redial(event.detail, 1)
  private readonly redials = new Map<string, NodeJS.Timeout>()
  private readonly bootstrap: string[]
  private readonly retryMs: number
  private readonly maxRetryMs: number
  private retryTimer?: NodeJS.Timeout
  private nextRetryMs: number
  private readonly maxIdleConnections: number
  private readonly idleGraceMs: number
  private readonly trimIntervalMs: number
  private trimTimer?: NodeJS.Timeout
  /**
   * kad-dht tags the 20 peers closest to us in XOR distance "keep-alive", and libp2p re-dials a keep-alive peer
   * the moment its connection closes: those connections could never be closed as idle. The DHT does not need
   * them open (it dials whom it queries), so the tag is taken off as soon as it is put on.
   */
  private readonly onPeerUpdate = (event: CustomEvent<PeerUpdate>): void => {
    const { peer } = event.detail
    const keepAlive = [...peer.tags.keys()].filter((tag) => tag === `${KEEP_ALIVE}-kad-dht`)
    if (keepAlive.length === 0) return
    this.node.peerStore
      .merge(peer.id, { tags: Object.fromEntries(keepAlive.map((tag) => [tag, undefined])) })
      .catch((err: unknown) =>
        this.log.debug({ peer: peer.id.toString(), err }, 'keep-alive tag not removed')
      )
  }

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
  }

  start(): void {
    this.node.addEventListener('peer:discovery', this.onDiscovery)
    this.node.addEventListener('peer:disconnect', this.onDisconnect)
    if (this.bootstrap.length > 0) this.scheduleBootstrapCheck()
    if (this.maxIdleConnections > 0) {
      this.node.addEventListener('peer:update', this.onPeerUpdate)
      this.trimTimer = setInterval(() => this.trimIdleConnections(), this.trimIntervalMs)
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
            .dial(multiaddr(address), { signal: AbortSignal.timeout(this.dialTimeoutMs) })
            .catch((err: unknown) => this.log.debug({ address, err }, 'bootstrap peer not reachable'))
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
          .dial(peer, { signal: AbortSignal.timeout(this.dialTimeoutMs) })
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
    this.pending.add(id)
    const target = peer.multiaddrs.length > 0 ? peer.multiaddrs : peer.id
    this.node
      .dial(target, { signal: AbortSignal.timeout(this.dialTimeoutMs) })
      .then(() => this.log.debug({ peer: id }, 'dialled discovered peer'))
      .catch((err: unknown) => this.log.debug({ peer: id, err }, 'could not dial discovered peer'))
      .finally(() => this.pending.delete(id))
  }

  /**
   * Above maxIdleConnections, closes idle connections until minConnections remain, newest first. Idle: open for
   * longer than the grace period, no stream but gossipsub's and identify's (a DHT query, a job, a status request
   * in flight all keep it), and the peer in none of gossipsub's meshes (those carry the adverts). Mostly these are
   * what kad-dht queries left behind. The DHT keeps the peers in its routing table and dials them when it asks.
   */
  trimIdleConnections(): void {
    const connections = this.node.getConnections().filter((connection) => connection.status === 'open')
    if (this.maxIdleConnections <= 0 || connections.length <= this.maxIdleConnections) return
    const pubsub = this.node.services.pubsub
    // on the GossipSub class, not on its exported interface
    const meshOf = (pubsub as Partial<{ getMeshPeers: (topic: string) => string[] }>).getMeshPeers?.bind(
      pubsub
    )
    if (meshOf === undefined) return
    const mesh = new Set(pubsub.getTopics().flatMap((topic) => meshOf(topic)))
    const background = new Set([...BACKGROUND_PROTOCOLS, ...pubsub.protocols])
    const now = Date.now()
    const idle = (connection: Connection): boolean =>
      now - connection.timeline.open > this.idleGraceMs &&
      !mesh.has(connection.remotePeer.toString()) &&
      connection.streams.every((stream) => background.has(stream.protocol ?? ''))
    const candidates = connections.filter(idle).sort((a, b) => b.timeline.open - a.timeline.open)
    const toClose = candidates.slice(0, Math.max(0, connections.length - this.minConnections))
    if (toClose.length === 0) return
    this.log.debug(
      { connections: connections.length, closing: toClose.length, mesh: mesh.size },
      'closing idle connections'
    )
    for (const connection of toClose) {
      connection
        .close({ signal: AbortSignal.timeout(this.dialTimeoutMs) })
        .catch((err: unknown) => connection.abort(err instanceof Error ? err : new Error(String(err))))
    }
  }
}
