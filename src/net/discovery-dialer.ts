import type { PeerInfo, Startable } from '@libp2p/interface'
import type { Logger } from '../log/index.js'
import type { ProofmeshHost } from './host.js'

export interface DiscoveryDialerInit {
  logger: Logger
  /** Below this many connections, every newly discovered peer is dialled */
  minConnections?: number
  dialTimeoutMs?: number
  /** Dials in flight at once */
  concurrency?: number
}

export const discoveryDialerDefaults = {
  minConnections: 25,
  dialTimeoutMs: 10_000,
  concurrency: 4
}

/**
 * libp2p 3 has no auto-dialer: peers found by bootstrap and the DHT are only remembered. A proving network
 * wants a well-connected gossip mesh, so this dials newly discovered peers until the node has enough
 * connections. Bounded in concurrency and time; failures are routine (stale DHT records) and logged at debug.
 */
export class DiscoveryDialer implements Startable {
  private readonly node: ProofmeshHost
  private readonly log: Logger
  private readonly minConnections: number
  private readonly dialTimeoutMs: number
  private readonly concurrency: number
  private readonly pending = new Set<string>()
  private readonly onDiscovery = (event: CustomEvent<PeerInfo>): void => this.consider(event.detail)

  constructor(node: ProofmeshHost, init: DiscoveryDialerInit) {
    this.node = node
    this.log = init.logger.child({ component: 'discovery' })
    this.minConnections = init.minConnections ?? discoveryDialerDefaults.minConnections
    this.dialTimeoutMs = init.dialTimeoutMs ?? discoveryDialerDefaults.dialTimeoutMs
    this.concurrency = init.concurrency ?? discoveryDialerDefaults.concurrency
  }

  start(): void {
    this.node.addEventListener('peer:discovery', this.onDiscovery)
  }

  stop(): void {
    this.node.removeEventListener('peer:discovery', this.onDiscovery)
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
