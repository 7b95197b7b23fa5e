import type { Connection, PeerId, Startable, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { pbStream } from '@libp2p/utils'
import { Counter, type Registry } from 'prom-client'
import { toString } from 'uint8arrays/to-string'
import { PullRequest, PullResponse, type SignedAdvert } from '../../protocols/capacity/pb/pull.js'
import {
  MAX_INBOUND_STREAMS,
  MAX_OUTBOUND_STREAMS,
  MAX_PULL_ADVERTS,
  MAX_PULL_EXCLUDE,
  MAX_PULL_REQUEST_BYTES,
  MAX_PULL_RESPONSE_BYTES,
  MAX_PULLS_SERVING,
  PULL_BURST,
  PULL_FANOUT,
  PULL_PROTOCOL,
  PULL_RATE_WINDOW_MS,
  PULL_SERVE_TIMEOUT_MS,
  PULL_TIMEOUT_MS
} from '../../protocols/capacity/pull-constants.js'
import type { Logger } from '../log/index.js'
import { deadline } from '../net/deadline.js'
import type { ProtocolComponents } from '../net/protocol-components.js'
import { reachablePeersDefaults } from '../net/reachable-peers.js'
import { toError } from '../net/framed-stream.js'
import type { IntakeOutcome } from './intake.js'
import type { PeerEntry } from './peer-table.js'
import { answerPull } from './pull-answer.js'
import { OriginRateLimiter } from './rate-limit.js'
import { SignedAdvertError, verifySignedAdvert } from './signed-advert.js'

/** Adverts of one answer in the intake at once: no more than reachable-peers queues checks for from one relay */
const PULLED_ADMISSIONS_PER_RELAY = reachablePeersDefaults.maxQueuedPerRelay

export interface CapacityPullComponents extends ProtocolComponents {
  /** Peers this node is connected to: those a pull asks */
  getPeers(): PeerId[]
}

export interface CapacityPullInit {
  logger: Logger
  /** The gossip topic whose envelopes are handed on (its name is part of what each origin signed) */
  topic: string
  /** The table's fresh entries, most free units first (PeerTable.list) */
  entries: () => readonly PeerEntry[]
  /** Whether the table could list a peer it lacks: when it is full, a pull would fetch adverts only to turn them away */
  hasRoom: () => boolean
  /** Takes one verified advert into the table, as gossip's would be (CapacityService.admitPulled) */
  admit: (origin: PeerId, signed: SignedAdvert, via: string) => Promise<IntakeOutcome>
  /** Refuses a peer for a while: one that handed over an advert its origin did not sign */
  ban?: (peerId: string, ms: number) => void
  metricsRegistry?: Registry
  /** Deadline of one round on the asking side: the exchanges, and the checks of origins not reached yet */
  timeoutMs?: number
  serveTimeoutMs?: number
  fanout?: number
}

export interface PullWish {
  program: string
  /** Units still missing */
  units: number
  /** Peers the asker lists already (sent as exclusions, at most MAX_PULL_EXCLUDE) */
  known: readonly string[]
  /** Peers asked in earlier rounds of the same job: not asked again. This round's are added. */
  asked: Set<string>
  signal?: AbortSignal
}

export interface PullRound {
  /** Peers asked */
  asked: number
  /** Adverts handed over, all answers together */
  adverts: number
  /** Of those, listed now (verified, through the intake, origin reached) */
  listed: number
  /** Free units of the adverts listed */
  units: number
}

/** A peer that handed over an advert its origin did not sign is not trusted with anything for this long */
const FORGER_BAN_MS = 10 * 60_000

/** A request's program that any program matches (PULL.md): a warm-up wants the neighbourhood, not one job's peers */
const ANY_PROGRAM = ''

/** A warm-up asks for as many units as there are: each answer stops at its advert and byte caps */
const WARM_UP_UNITS = 0xffff_ffff

interface Verified {
  origin: PeerId
  signed: SignedAdvert
}

/**
 * Capacity pulled on demand (`/proofmesh/capacity-pull/1.0.0`, protocols/capacity/PULL.md). Adverts travel two hops
 * and the table is bounded, so in a large sparse network a submitter's table can lack the units a job needs while
 * peers a hop further have them: its neighbours hold those (their own two hops). A round asks a few neighbours at
 * once for adverts of the job's program; each answer is a list of gossip envelopes exactly as their origins signed
 * them, verified here one by one and taken through the same intake as gossip's (decode and checks, reachability,
 * room, origin rate). A peer can thus leave adverts out, never make one up: one whose answer holds an advert its
 * origin did not sign is banned, and nothing of its answer is used.
 */
export class CapacityPull implements Startable {
  private readonly components: CapacityPullComponents
  private readonly log: Logger
  private readonly init: CapacityPullInit
  private readonly timeoutMs: number
  private readonly serveTimeoutMs: number
  private readonly fanout: number
  private readonly askers: OriginRateLimiter
  /** Peers whose pull is being answered now: one at a time each, whatever its connections */
  private readonly serving = new Set<string>()
  /** Peers this node is asking now (one exchange each at a time) */
  private readonly asking = new Set<string>()
  private readonly pulls?: Counter<'side' | 'result'>
  private readonly pulledAdverts?: Counter<'result' | 'reason'>

  constructor(components: CapacityPullComponents, init: CapacityPullInit) {
    this.components = components
    this.init = init
    this.log = init.logger.child({ component: 'capacity-pull' })
    this.timeoutMs = init.timeoutMs ?? PULL_TIMEOUT_MS
    this.serveTimeoutMs = init.serveTimeoutMs ?? PULL_SERVE_TIMEOUT_MS
    this.fanout = init.fanout ?? PULL_FANOUT
    this.askers = new OriginRateLimiter({
      burst: PULL_BURST,
      perInterval: PULL_BURST,
      intervalMs: PULL_RATE_WINDOW_MS,
      maxOrigins: 4_096
    })
    const registry = init.metricsRegistry
    if (registry !== undefined) {
      this.pulls = new Counter({
        name: 'proofmesh_capacity_pulls_total',
        help: 'Capacity pulls: asked of a neighbour (side=asked) or answered (side=served), by result',
        labelNames: ['side', 'result'],
        registers: [registry]
      })
      this.pulledAdverts = new Counter({
        name: 'proofmesh_pulled_adverts_total',
        help: 'Adverts handed over by pulls, by what became of them',
        labelNames: ['result', 'reason'],
        registers: [registry]
      })
    }
  }

  async start(): Promise<void> {
    await this.components.handle(PULL_PROTOCOL, (stream, connection) => this.serve(stream, connection), {
      maxInboundStreams: MAX_INBOUND_STREAMS,
      maxOutboundStreams: MAX_OUTBOUND_STREAMS
    })
  }

  async stop(): Promise<void> {
    await this.components.unhandle(PULL_PROTOCOL)
  }

  /**
   * One round: up to `fanout` connected peers not asked before, chosen at random (a neighbourhood's best-connected
   * peers overlap the most with our own table), asked at once; every advert they hand over verified and taken
   * in. Settles by the round's deadline with what was listed.
   */
  async pull(wish: PullWish): Promise<PullRound> {
    if (!this.init.hasRoom()) {
      this.log.debug({ program: wish.program }, 'no capacity pull: the peer table is full')
      return { asked: 0, adverts: 0, listed: 0, units: 0 }
    }
    const peers = shuffled(this.idleNeighbours().filter((peer) => !wish.asked.has(peer.toString())))
    const chosen = peers.slice(0, this.fanout)
    for (const peer of chosen) wish.asked.add(peer.toString())
    const round: PullRound = { asked: chosen.length, adverts: 0, listed: 0, units: 0 }
    if (chosen.length === 0) return round
    const timeout = deadline(`a capacity pull round for ${wish.units} units`, this.timeoutMs)
    const signal = wish.signal === undefined ? timeout : AbortSignal.any([timeout, wish.signal])
    const request = this.request(wish.program, wish.units, wish.known)
    const untilAborted = new Promise<void>((resolve) => {
      if (signal.aborted) resolve()
      signal.addEventListener('abort', () => resolve(), { once: true })
    })
    const work = Promise.all(chosen.map(async (peer) => this.pullFrom(peer, request, signal, round)))
    await Promise.race([work, untilAborted])
    this.log.info(
      { program: wish.program, wanted: wish.units, ...round, timedOut: signal.aborted },
      'capacity pulled from neighbours'
    )
    return round
  }

  /**
   * A fresh node's table, filled from its neighbours' tables rather than over a heartbeat: its neighbours' own
   * adverts come only with their next one (up to an advert interval), a table of the neighbourhood's only with
   * theirs. Neighbours asked one after another, for adverts of any program, until `fanout` have answered; one that
   * gives no answer (it failed, ran out its deadline, does not speak the protocol or handed over a forged advert)
   * gives way to the next, at most twice `fanout` in all: one busy neighbour past its deadline (a machine starting
   * many daemons) must not leave a fresh table to the heartbeat (15 s), and silent peers cost at most that many.
   * Each request leaves out the peers listed and those handed over by the answers before it, so the answers do not
   * repeat each other. Every advert verified and taken through the intake as a job's pull would be. Settles once
   * enough neighbours have answered or every one asked has failed or run out its deadline (the reachability checks
   * of origins handed over go on, within their own bounds).
   */
  async warmUp(known: () => readonly string[]): Promise<PullRound> {
    if (!this.init.hasRoom()) return { asked: 0, adverts: 0, listed: 0, units: 0 }
    const candidates = shuffled(this.idleNeighbours()).slice(0, 2 * this.fanout)
    const round: PullRound = { asked: 0, adverts: 0, listed: 0, units: 0 }
    const handedOver = new Set<string>()
    const admissions: Array<Promise<void>> = []
    let answered = 0
    for (const peer of candidates) {
      if (answered >= this.fanout) break
      round.asked++
      const signal = deadline('a warm-up capacity pull', this.timeoutMs)
      const request = this.request(ANY_PROGRAM, WARM_UP_UNITS, [...handedOver, ...known()])
      const verified = await this.fetch(peer, request, signal)
      if (verified === undefined) continue
      answered++
      for (const { origin } of verified) handedOver.add(origin.toString())
      round.adverts += verified.length
      admissions.push(this.admitAll(verified, peer.toString(), signal, round))
    }
    await Promise.all(admissions)
    this.log.info({ ...round, answered }, 'capacity pulled from neighbours to warm the table up')
    return round
  }

  private request(program: string, units: number, known: readonly string[]): PullRequest {
    return {
      topic: this.init.topic,
      program,
      units: Math.max(0, Math.min(units, WARM_UP_UNITS)),
      exclude: known.slice(0, MAX_PULL_EXCLUDE).flatMap((peer) => {
        try {
          return [peerIdFromString(peer).toMultihash().bytes]
        } catch {
          return []
        }
      })
    }
  }

  private async pullFrom(
    peer: PeerId,
    request: PullRequest,
    signal: AbortSignal,
    round: PullRound
  ): Promise<void> {
    const verified = (await this.fetch(peer, request, signal)) ?? []
    round.adverts += verified.length
    await this.admitAll(verified, peer.toString(), signal, round)
  }

  /**
   * One neighbour's answer, every advert in it verified; undefined, no answer, from a peer that failed, does not
   * speak the protocol, or handed over a forged advert (it is banned)
   */
  private async fetch(
    peer: PeerId,
    request: PullRequest,
    signal: AbortSignal
  ): Promise<Verified[] | undefined> {
    const via = peer.toString()
    let adverts: SignedAdvert[]
    try {
      adverts = await this.ask(peer, request, signal)
    } catch (err) {
      const result = toError(err).name === 'UnsupportedProtocolError' ? 'unsupported' : 'failed'
      this.pulls?.inc({ side: 'asked', result })
      // a peer of a version before pulls is no failure worth a log line; neither gives an answer
      if (result === 'failed') this.log.debug({ err, peer: via }, 'capacity pull failed')
      return undefined
    }
    const verified: Verified[] = []
    for (const signed of adverts) {
      try {
        verified.push({ origin: await verifySignedAdvert(signed, this.init.topic), signed })
      } catch (err) {
        if (!(err instanceof SignedAdvertError)) throw err
        this.pulls?.inc({ side: 'asked', result: 'forged' })
        this.pulledAdverts?.inc({ result: 'reject', reason: 'forged' }, adverts.length)
        this.log.warn(
          { peer: via, err: err.message, banMs: FORGER_BAN_MS },
          'a pull answer held a forged advert'
        )
        this.init.ban?.(via, FORGER_BAN_MS)
        return undefined
      }
    }
    this.pulls?.inc({ side: 'asked', result: 'answered' })
    return verified
  }

  /**
   * Takes verified adverts through the intake; those listed before `signal` aborts count in `round`. At most
   * `PULLED_ADMISSIONS_PER_RELAY` at once: an origin not reached yet waits for a reachability check, and
   * reachable-peers drops (rather than queues) any beyond the relay's share of its queue, so an answer of
   * MAX_PULL_ADVERTS taken all at once would lose half its strangers until their next advert.
   */
  private async admitAll(
    verified: readonly Verified[],
    via: string,
    signal: AbortSignal,
    round: PullRound
  ): Promise<void> {
    const pending = [...verified]
    const admitNext = async (): Promise<void> => {
      for (let next = pending.shift(); next !== undefined; next = pending.shift()) {
        const { origin, signed } = next
        const outcome = await this.init.admit(origin, signed, via)
        if (outcome.kind === 'listed') {
          this.pulledAdverts?.inc({ result: 'accept', reason: 'listed' })
          if (!signal.aborted) {
            round.listed++
            round.units += outcome.advert.unitsFree
          }
        } else if (outcome.kind === 'unreached') {
          this.pulledAdverts?.inc({ result: 'ignore', reason: 'unreached' })
        } else {
          this.pulledAdverts?.inc({ result: outcome.verdict, reason: outcome.reason })
        }
      }
    }
    await Promise.all(Array.from({ length: PULLED_ADMISSIONS_PER_RELAY }, admitNext))
  }

  /**
   * Connected peers this node is not asking now: a neighbour answers one pull of ours at a time (one stream per
   * connection, one pull served per peer), so a second one at once would be refused and wasted
   */
  private idleNeighbours(): PeerId[] {
    return this.components.getPeers().filter((peer) => !this.asking.has(peer.toString()))
  }

  /** One exchange with one peer: the request, then its answer within the caps; [] from a peer that has none */
  async ask(peer: PeerId, request: PullRequest, signal: AbortSignal): Promise<SignedAdvert[]> {
    const id = peer.toString()
    this.asking.add(id)
    try {
      const stream = await this.components.dialProtocol(peer, PULL_PROTOCOL, { signal })
      try {
        const messages = pbStream(stream, { maxDataLength: MAX_PULL_RESPONSE_BYTES })
        await messages.write(request, PullRequest, { signal })
        const answer = await messages.read(PullResponse, { signal, limits: { adverts: MAX_PULL_ADVERTS } })
        await stream.close({ signal })
        return answer.adverts
      } catch (err) {
        stream.abort(toError(err))
        throw err
      }
    } finally {
      this.asking.delete(id)
    }
  }

  private async serve(stream: Stream, connection: Connection): Promise<void> {
    const asker = connection.remotePeer.toString()
    // built before any await, so that no byte of the request is missed
    const messages = pbStream(stream, { maxDataLength: MAX_PULL_REQUEST_BYTES })
    if (this.serving.has(asker) || this.serving.size >= MAX_PULLS_SERVING) {
      this.pulls?.inc({ side: 'served', result: 'busy' })
      stream.abort(new Error('a pull is being answered already'))
      return
    }
    this.serving.add(asker)
    const signal = deadline(`the capacity pull from ${asker} and its answer`, this.serveTimeoutMs)
    try {
      const request = await messages.read(PullRequest, { signal, limits: { exclude: MAX_PULL_EXCLUDE } })
      let adverts: SignedAdvert[] = []
      // over its rate, or of another topic version (whose signatures it could not check): an empty answer, no scan
      if (!this.askers.take(asker)) {
        this.pulls?.inc({ side: 'served', result: 'rate_limited' })
      } else if (request.topic !== this.init.topic) {
        this.pulls?.inc({ side: 'served', result: 'other_topic' })
      } else {
        const exclude = new Set(request.exclude.map((peer) => toString(peer, 'base58btc')))
        exclude.add(asker)
        adverts = answerPull(this.init.entries(), { program: request.program, units: request.units, exclude })
        this.pulls?.inc({ side: 'served', result: 'answered' })
      }
      await messages.write({ adverts }, PullResponse, { signal })
      await stream.close({ signal })
    } catch (err) {
      this.pulls?.inc({ side: 'served', result: 'failed' })
      this.log.debug({ err, peer: asker }, 'capacity pull not answered')
      stream.abort(toError(err))
    } finally {
      this.serving.delete(asker)
    }
  }
}

function shuffled<T>(items: T[]): T[] {
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    ;[out[i], out[j]] = [out[j] as T, out[i] as T]
  }
  return out
}
