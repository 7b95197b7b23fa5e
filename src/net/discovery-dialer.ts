import type { PeerId, PeerInfo, Startable } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import type { Logger } from '../log/index.js'
import type { ProofmeshHost } from './host.js'

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
}

export const discoveryDialerDefaults = {
  // gossipsub keeps a mesh of 6 (at most 12) per topic; a few more connections give it choice and the DHT room
  minConnections: 12,
  dialTimeoutMs: 10_000,
  concurrency: 4,
  retryMs: 1_000,
  maxRetryMs: 30_000,
  /** A peer we lost is dialled again this many times (with backoff) while we are below minConnections */
  redialAttempts: 5
}

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
  }

  start(): void {
    this.node.addEventListener('peer:discovery', this.onDiscovery)
    this.node.addEventListener('peer:disconnect', this.onDisconnect)
    if (this.bootstrap.length > 0) this.scheduleBootstrapCheck()
  }

  stop(): void {
    this.node.removeEventListener('peer:discovery', this.onDiscovery)
    this.node.removeEventListener('peer:disconnect', this.onDisconnect)
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
}
