/**
 * Inbound connections still in their handshake (private-network nonce, Noise, muxer negotiation), bounded per
 * remote address and in all, so that sockets that connect and then stall cannot lock honest peers out.
 *
 * libp2p 3 holds at most `maxIncomingPendingConnections` (default 10) inbound upgrades at once and refuses every
 * connection beyond them, each for up to the inbound upgrade timeout (10 s): measured, 10 silent sockets reopened
 * as they timed out kept a new daemon at 0 peers for 38-57 s. Here a connection that arrives when its address
 * already holds its share of handshakes is refused (the staller's own address pays), and one that arrives when
 * all the slots are taken evicts the oldest handshake of the address holding the most: a handshake that has not
 * finished while newer ones arrived is the likeliest staller, and an honest peer's handshake takes milliseconds.
 * libp2p's own pending limit is set above ours (hostDefaults), so that it never refuses first.
 */
import type { MultiaddrConnection } from '@libp2p/interface'
import { tryGetNetConfig } from '@libp2p/utils'
import { Gauge, type Registry } from 'prom-client'
import type { Logger } from '../log/index.js'

export interface InboundGuardInit {
  /** Handshakes in progress at once, all addresses together */
  maxPending: number
  /** Handshakes in progress at once from one address (an IPv4 address, or an IPv6 /64) */
  maxPendingPerAddress: number
  logger: Logger
}

export const inboundGuardDefaults = {
  // A pending connection is a socket and a few KiB of handshake state: 512 of them cost a few MiB. Many slots
  // make eviction rare: a staller needs more than this many sockets in flight to evict anyone at all.
  maxPending: 512,
  // Provers behind one NAT (and every local testnet) share an address; 50 of them dialling one bootstrap peer
  // at the same moment must all get in (with libp2p's 10, 40 of 50 were reset). An address over this is refused
  // until its handshakes finish or time out.
  maxPendingPerAddress: 64
}

export class InboundGuardError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'InboundGuardError'
  }
}

/**
 * The address whose handshakes are counted together: an IPv4 address, or the /64 prefix of an IPv6 one (one
 * host usually holds a whole /64). Undefined for connections without an IP (unix sockets, memory transports).
 */
export function addressGroup(connection: Pick<MultiaddrConnection, 'remoteAddr'>): string | undefined {
  const config = tryGetNetConfig(connection.remoteAddr)
  if (config === null) return undefined
  if (config.type === 'ip4') return config.host
  if (config.type !== 'ip6') return undefined
  // an IPv4 client of a dual-stack socket: ::ffff:10.1.2.3, which multiaddr writes ::ffff:a01:203
  const dotted = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(config.host)
  if (dotted?.[1] !== undefined) return dotted[1]
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(config.host)
  if (hex?.[1] !== undefined && hex[2] !== undefined) {
    const [high, low] = [parseInt(hex[1], 16), parseInt(hex[2], 16)]
    return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.')
  }
  const [head = '', tail = ''] = config.host.split('%')[0]?.split('::') ?? []
  const headGroups = head === '' ? [] : head.split(':')
  const tailGroups = tail === '' ? [] : tail.split(':')
  const groups = [
    ...headGroups,
    ...Array<string>(8 - headGroups.length - tailGroups.length).fill('0'),
    ...tailGroups
  ]
  return `${groups
    .slice(0, 4)
    .map((group) => group.toLowerCase().replace(/^0+(?=.)/, ''))
    .join(':')}::/64`
}

interface Pending {
  connection: MultiaddrConnection
  group: string
}

export class InboundGuard {
  private readonly maxPending: number
  private readonly maxPendingPerAddress: number
  private readonly log: Logger
  /** Insertion order is arrival order: the first entry of a group is its oldest handshake */
  private readonly pending = new Map<MultiaddrConnection, Pending>()
  private readonly perGroup = new Map<string, Set<MultiaddrConnection>>()
  private refusedCount = 0
  private evictedCount = 0

  constructor(init: InboundGuardInit) {
    if (init.maxPending < 1 || init.maxPendingPerAddress < 1) {
      throw new RangeError('the inbound handshake limits must be at least 1')
    }
    this.maxPending = init.maxPending
    this.maxPendingPerAddress = Math.min(init.maxPendingPerAddress, init.maxPending)
    this.log = init.logger.child({ component: 'inbound-guard' })
  }

  /**
   * A new inbound connection, before its handshake: true = refuse it (the connection gater's answer). Admitting it
   * may evict another address's oldest handshake.
   */
  refuse(connection: MultiaddrConnection): boolean {
    const group = addressGroup(connection)
    if (group === undefined) return false
    const ofGroup = this.perGroup.get(group)
    if (ofGroup !== undefined && ofGroup.size >= this.maxPendingPerAddress) {
      this.refusedCount++
      this.log.debug(
        { address: group, pending: ofGroup.size },
        'inbound connection refused: its address has too many handshakes in progress'
      )
      return true
    }
    if (this.pending.size >= this.maxPending) this.evictFromLargestGroup()
    const members = ofGroup ?? new Set<MultiaddrConnection>()
    members.add(connection)
    this.perGroup.set(group, members)
    this.pending.set(connection, { connection, group })
    connection.addEventListener('close', () => this.settled(connection), { once: true })
    return false
  }

  /** The handshake finished (or failed): the connection no longer holds a slot */
  settled(connection: MultiaddrConnection): void {
    const entry = this.pending.get(connection)
    if (entry === undefined) return
    this.pending.delete(connection)
    const members = this.perGroup.get(entry.group)
    members?.delete(connection)
    if (members?.size === 0) this.perGroup.delete(entry.group)
  }

  /** Handshakes in progress, all addresses together */
  get size(): number {
    return this.pending.size
  }

  /** Connections refused and handshakes evicted since start */
  get counts(): { refused: number; evicted: number } {
    return { refused: this.refusedCount, evicted: this.evictedCount }
  }

  /** `proofmesh_inbound_handshakes{kind}`: in progress now; refused and evicted since start */
  registerMetrics(registry: Registry): void {
    const now = (): { pending: number; refused: number; evicted: number } => ({
      pending: this.size,
      ...this.counts
    })
    new Gauge({
      name: 'proofmesh_inbound_handshakes',
      help: 'Inbound connections in their handshake now (pending), and since start refused (their address had too many) or evicted (all slots were taken)',
      labelNames: ['kind'],
      registers: [registry],
      collect() {
        for (const [kind, value] of Object.entries(now())) this.set({ kind }, value)
      }
    })
  }

  private evictFromLargestGroup(): void {
    let largest: Set<MultiaddrConnection> | undefined
    for (const members of this.perGroup.values()) {
      if (largest === undefined || members.size > largest.size) largest = members
    }
    const oldest = largest?.values().next().value
    if (oldest === undefined) return
    const entry = this.pending.get(oldest)
    this.settled(oldest)
    this.evictedCount++
    this.log.debug(
      { address: entry?.group, pending: this.pending.size },
      'oldest inbound handshake evicted: all slots taken'
    )
    oldest.abort(new InboundGuardError('evicted: too many inbound handshakes in progress'))
  }
}
