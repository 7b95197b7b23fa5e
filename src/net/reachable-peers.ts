/**
 * Which peers this node has been connected to and identified, now or lately; and, for a peer it has not, one
 * bounded attempt to become so: a dial to the addresses it gave and an identify exchange.
 *
 * The capacity table lists only such peers. A gossip message proves that its author holds a key, and keys are
 * free: one connected peer relayed adverts signed by 10,000 freshly generated keys in 11 s and put 8,333 of them
 * in a daemon's table. A connection proves more: a live libp2p node that completes a Noise handshake as that key
 * at the addresses it advertises, which is also what a submitter needs of a peer to lease its units. A peer that
 * nobody can dial is listed only by the peers it is connected to itself.
 */
import type { PeerId, Startable } from '@libp2p/interface'
import { CODE_P2P, type Multiaddr, multiaddr } from '@multiformats/multiaddr'
import { Gauge, type Registry } from 'prom-client'
import type { Logger } from '../log/index.js'
import { dialErrorText } from './framed-stream.js'
import type { ProofmeshHost } from './host.js'
import { setRecent } from './recent-map.js'

export interface ReachablePeersInit {
  logger: Logger
  /** An identified peer stays reachable this long after its last connection closed */
  rememberMs?: number
  /** Peers remembered (identified, or failed), each map; the least recently seen are forgotten first */
  maxRemembered?: number
  /** Checks (dial and identify) in flight at once */
  concurrency?: number
  /** Checks waiting at once, in all and from one relaying peer */
  maxQueued?: number
  maxQueuedPerRelay?: number
  /** One check: the dial and the identify exchange */
  checkTimeoutMs?: number
  /** A peer whose check failed is not checked again for this long, doubling per failure up to maxBackoffMs */
  backoffMs?: number
  maxBackoffMs?: number
  /** Addresses tried per check */
  maxAddrs?: number
}

export const reachablePeersDefaults = {
  // A peer's advert keeps arriving while it lives; this only spans a reconnection or an idle connection closed
  rememberMs: 30 * 60_000,
  maxRemembered: 8_192,
  concurrency: 4,
  // A flood of new keys is checked a few at a time and the rest dropped: an honest newcomer advertises again
  // every interval and gets its turn; no one relay may hold more than its share of the queue
  maxQueued: 64,
  maxQueuedPerRelay: 8,
  checkTimeoutMs: 5_000,
  backoffMs: 30_000,
  maxBackoffMs: 10 * 60_000,
  maxAddrs: 8
}

export interface ReachableCounts {
  checked: number
  reached: number
  failed: number
  /** Not queued: the queue, or the relay's share of it, was full */
  dropped: number
}

interface Check {
  peerId: PeerId
  addrs: Multiaddr[]
  via: string
  outcome: PromiseWithResolvers<boolean>
}

export class ReachablePeers implements Startable {
  private readonly host: ProofmeshHost
  private readonly log: Logger
  private readonly settings: typeof reachablePeersDefaults
  /** peer id → when it was last identified (on any connection, either direction) */
  private readonly identifiedAt = new Map<string, number>()
  private readonly failures = new Map<string, { failures: number; retryAt: number }>()
  private readonly queue: Check[] = []
  /** Checks queued or in flight, each settling with whether the peer was reached */
  private readonly outcomes = new Map<string, PromiseWithResolvers<boolean>>()
  private readonly inFlight = new Set<string>()
  private readonly waiters = new Map<string, () => void>()
  private readonly counts: ReachableCounts = { checked: 0, reached: 0, failed: 0, dropped: 0 }
  private controller = new AbortController()
  private readonly onIdentify = (event: CustomEvent<{ peerId: PeerId }>): void => {
    const id = event.detail.peerId.toString()
    setRecent(this.identifiedAt, id, Date.now(), this.settings.maxRemembered)
    this.failures.delete(id)
    this.waiters.get(id)?.()
  }

  constructor(host: ProofmeshHost, init: ReachablePeersInit) {
    this.host = host
    this.log = init.logger.child({ component: 'reachable' })
    this.settings = { ...reachablePeersDefaults, ...definedOnly(init) }
  }

  start(): void {
    this.controller = new AbortController()
    this.host.addEventListener('peer:identify', this.onIdentify)
  }

  stop(): void {
    this.host.removeEventListener('peer:identify', this.onIdentify)
    this.controller.abort()
    for (const check of this.queue.splice(0)) check.outcome.resolve(false)
    this.outcomes.clear()
    this.identifiedAt.clear()
    this.failures.clear()
  }

  /** Identified on a connection that is still open, or on one within rememberMs */
  isReachable(peerId: string): boolean {
    const at = this.identifiedAt.get(peerId)
    if (at === undefined) return false
    if (Date.now() - at <= this.settings.rememberMs) return true
    return this.host.getConnections().some((connection) => connection.remotePeer.toString() === peerId)
  }

  /**
   * Queues a check of a peer not (or no longer) reachable: a dial to its advertised addresses, then identify.
   * Settles with whether the peer is reachable: at once for a peer reachable already, failed lately, or not
   * queued (its relay `via` already has its share of the queue, or the queue is full); else when its check ends.
   */
  async check(peerId: PeerId, addrs: Uint8Array[], via: string): Promise<boolean> {
    const id = peerId.toString()
    if (this.isReachable(id)) return true
    const pending = this.outcomes.get(id)
    if (pending !== undefined) return pending.promise
    if ((this.failures.get(id)?.retryAt ?? 0) > Date.now()) return false
    const fromVia = this.queue.filter((queued) => queued.via === via).length
    if (this.queue.length >= this.settings.maxQueued || fromVia >= this.settings.maxQueuedPerRelay) {
      this.counts.dropped++
      return false
    }
    const outcome = Promise.withResolvers<boolean>()
    this.outcomes.set(id, outcome)
    this.queue.push({ peerId, addrs: dialable(peerId, addrs, this.settings.maxAddrs), via, outcome })
    this.drain()
    return outcome.promise
  }

  get stats(): ReachableCounts & { queued: number; remembered: number } {
    return { ...this.counts, queued: this.queue.length, remembered: this.identifiedAt.size }
  }

  /** `proofmesh_reachability_checks{kind}`: checks since start by outcome, and queued now */
  registerMetrics(registry: Registry): void {
    const stats = (): ReachablePeers['stats'] => this.stats
    new Gauge({
      name: 'proofmesh_reachability_checks',
      help: 'Dials and identify exchanges to advert origins not reached yet: since start checked, reached, failed, dropped (the queue was full); queued now',
      labelNames: ['kind'],
      registers: [registry],
      collect() {
        const now = stats()
        for (const kind of ['checked', 'reached', 'failed', 'dropped', 'queued'] as const) {
          this.set({ kind }, now[kind])
        }
      }
    })
  }

  private drain(): void {
    while (this.inFlight.size < this.settings.concurrency && this.queue.length > 0) {
      const next = this.queue.shift() as Check
      const id = next.peerId.toString()
      this.inFlight.add(id)
      this.counts.checked++
      this.run(next)
        .then(() => {
          this.counts.reached++
          this.log.debug({ peer: id }, 'peer reached and identified')
          next.outcome.resolve(true)
        })
        .catch((err: unknown) => {
          this.counts.failed++
          const failures = (this.failures.get(id)?.failures ?? 0) + 1
          const backoff = Math.min(this.settings.backoffMs * 2 ** (failures - 1), this.settings.maxBackoffMs)
          setRecent(
            this.failures,
            id,
            { failures, retryAt: Date.now() + backoff },
            this.settings.maxRemembered
          )
          // once a peer until it is reached again (proofmesh_reachability_checks{kind="failed"} counts each)
          if (failures === 1) this.log.debug({ peer: id, err: dialErrorText(err) }, 'peer not reachable')
          next.outcome.resolve(false)
        })
        .finally(() => {
          this.outcomes.delete(id)
          this.inFlight.delete(id)
          this.drain()
        })
    }
  }

  private async run(check: Check): Promise<void> {
    const id = check.peerId.toString()
    const signal = AbortSignal.any([
      this.controller.signal,
      AbortSignal.timeout(this.settings.checkTimeoutMs)
    ])
    const identified = new Promise<void>((resolve, reject) => {
      const done = (): void => {
        this.waiters.delete(id)
        signal.removeEventListener('abort', fail)
        resolve()
      }
      const fail = (): void => {
        this.waiters.delete(id)
        reject(new Error('no identify within the check deadline'))
      }
      this.waiters.set(id, done)
      signal.addEventListener('abort', fail, { once: true })
    })
    identified.catch(() => undefined)
    const existing = this.host.getConnections(check.peerId)[0]
    // a failed dial must not leave a stranger's record behind: the peer store holds what it is told
    const known = await this.host.peerStore.has(check.peerId)
    try {
      if (existing !== undefined) {
        // identify runs once when a connection opens; one identified long ago (and forgotten) is asked again
        await this.host.services.identify.identify(existing, { signal })
      } else {
        if (check.addrs.length === 0) throw new Error('no address to dial')
        // identify runs by itself on the new connection; its event ends the wait
        await this.host.dial(check.addrs, { signal })
      }
      await identified
    } catch (err) {
      this.waiters.delete(id)
      if (!known && this.host.getConnections(check.peerId).length === 0) {
        await this.host.peerStore.delete(check.peerId).catch(() => undefined)
      }
      throw err
    }
  }
}

/** The addresses to dial for a peer, each ending in its /p2p/ id, at most `max` */
function dialable(peerId: PeerId, addrs: Uint8Array[], max: number): Multiaddr[] {
  const out: Multiaddr[] = []
  for (const bytes of addrs) {
    if (out.length >= max) break
    try {
      const addr = multiaddr(bytes)
      const named = addr.getComponents().some((component) => component.code === CODE_P2P)
      out.push(named ? addr : addr.encapsulate(`/p2p/${peerId.toString()}`))
    } catch {
      // not a multiaddr: the advert's validation rejects these; nothing to dial
    }
  }
  return out
}

function definedOnly<T extends object>(init: T): Partial<T> {
  return Object.fromEntries(Object.entries(init).filter(([, value]) => value !== undefined)) as Partial<T>
}
