import { type CapacityAdvert, encodeAdvert } from '../../src/capacity/advert.js'
import { advertRateWindowMs, capacityTopic } from '../../src/capacity/constants.js'
import { capacityDefaults } from '../../src/capacity/service.js'
import { AdvertIntake } from '../../src/capacity/intake.js'
import { answerPull } from '../../src/capacity/pull-answer.js'
import { PullRequest, PullResponse } from '../../protocols/capacity/pb/pull.js'
import { PULL_FANOUT } from '../../protocols/capacity/pull-constants.js'
import { PeerTable } from '../../src/capacity/peer-table.js'
import { OriginRateLimiter } from '../../src/capacity/rate-limit.js'
import { type Candidate, rankCandidates } from '../../src/job/link.js'
import { reserveDefaults, reserveInWaves } from '../../src/job/reserve.js'
import type { MessageCosts } from './costs.js'
import { pullForJob, type PullTally, type PullWorld, simEnvelope } from './pull.js'
import { makeAdvert } from '../../test/helpers/adverts.js'
import { Rng } from '../../test/helpers/rng.js'
import { type Reach, reachOf, Topology } from './topology.js'

export interface SimOptions {
  peers: number
  seed: number
  /** Simulated time measured, after the warm-up */
  measureS: number
  warmupS: number
  /** Peers whose every received message runs the real intake and is counted (all peers are alike) */
  observers: number
  degree: number
  meshDegree: number
  lazyDegree: number
  advertIntervalMs: number
  peerTtlIntervals: number
  unitsPerPeer: number
  /** Each peer alternates between busy (no free units) and free, for exponentially distributed times */
  busyMeanS: number
  freeMeanS: number
  /** Share of the peers that leave, and as many that join, per minute */
  churnPerMinute: number
  /**
   * Share of the leaving peers that stop gracefully (their farewell advert offers no units); the others crash
   * and stay listed until their TTL ends, or until a neighbour sees their connection close
   */
  gracefulShare: number
  /** One way, between two peers */
  latencyMs: number
  /** A reachability check of an origin heard through a neighbour: a dial and identify */
  checkMs: number
  jobUnits: number
  jobs: number
  maxPeersPerJob: number
  /** Peers a capacity table holds at most (capacity.MAX_PEERS in the daemon) */
  tableCap: number
  /** 1: a submitter whose table is short of a job's units pulls capacity from its neighbours first (pull.ts) */
  pull: number
  /** 1: a peer that joins pulls once from its neighbours (capacity/warm-up.ts); its cost to them is counted */
  warmUp: number
  costs: MessageCosts
}

export const simDefaults = {
  seed: 1,
  measureS: 120,
  warmupS: 60,
  observers: 32,
  // the discovery dialer's minimum connections, gossipsub's mesh degree
  degree: 12,
  meshDegree: 6,
  lazyDegree: 6,
  advertIntervalMs: capacityDefaults.advertIntervalMs,
  peerTtlIntervals: capacityDefaults.peerTtlIntervals,
  unitsPerPeer: 10,
  busyMeanS: 60,
  freeMeanS: 60,
  churnPerMinute: 0.1,
  gracefulShare: 0.5,
  latencyMs: 25,
  checkMs: 200,
  jobUnits: 64,
  jobs: 40,
  maxPeersPerJob: 16,
  tableCap: capacityDefaults.maxPeers,
  pull: 1,
  warmUp: 1
}

export interface SimResult {
  peers: number
  observers: number
  perPeer: {
    messagesPerS: number
    /** Warm-up pulls of joining peers answered per minute (in messagesPerS, bytesPerS and cpuPercent) */
    warmUpsServedPerMin: number
    firstCopiesPerS: number
    bytesPerS: number
    cpuPercent: number
    /** Fresh entries of the capacity table at the end */
    tableSize: number
  }
  gather: {
    jobs: number
    filled: number
    msMedian: number
    msP95: number
    msMax: number
    asks: number
    refusedStale: number
    refusedDeparted: number
    staleShare: number
    /** Jobs that pulled, their rounds, neighbours asked, adverts handed over and listed, and the CPU of verifying them */
    pulls: PullTally & { jobs: number; verifyMs: number }
  }
  costs: MessageCosts & { intakeMs: number }
}

interface PeerState {
  busy: boolean
  nextToggleMs: number
  nextBeatMs: number
  seq: bigint
  changed: boolean
  /** Its last advert as published: what its neighbourhood's tables hold of it */
  lastAdvert?: Uint8Array
}

interface Observer {
  id: number
  table: PeerTable
  intake: AdvertIntake
  reached: Set<number>
  reach: Map<number, Reach>
  copies: number
  firstCopies: number
  bytes: number
  intakeMs: number
  /** Warm-up pulls of joining neighbours it answered (a request and an answer each), and their CPU */
  warmUpsServed: number
  warmUpMs: number
}

const STEP_MS = 100
/** A message id in an IHAVE or IWANT (gossipsub's default id: the signer's peer id and the seqno, ~46 bytes) */
const GOSSIP_ID_BYTES = 48
const CHURN_BATCHES_PER_MINUTE = 10
/** Unix ms at simulated time 0: adverts carry real-looking timestamps */
const EPOCH_MS = 1_800_000_000_000

const peerName = (id: number): string => `sim-${id}`

/** Exponentially distributed with this mean */
const exponential = (rng: Rng, mean: number): number => -Math.log(1 - rng.next()) * mean

/** A one-GPU peer's advert, as the daemon fills it in (every other field as the tests' valid advert has it) */
export function simAdvert(
  unitsTotal: number,
  unitsFree: number,
  seq: bigint,
  timestampMs: bigint,
  ttlMs: number
): CapacityAdvert {
  return makeAdvert({
    seq,
    timestampMs,
    ttlMs,
    unitsTotal,
    unitsFree,
    gpus: [
      {
        index: 0,
        name: 'NVIDIA H100 80GB HBM3',
        memoryTotalMib: 81_559,
        memoryUsedMib: 0,
        utilizationPercent: 0
      }
    ],
    cpuCores: 32,
    memoryBytes: 256n * 2n ** 30n,
    proverName: 'proofmesh-prover',
    proverVersion: '0.1.0',
    programs: ['rescue-sponge'],
    activeJobs: unitsFree < unitsTotal ? 1 : 0,
    version: '0.1.0'
  })
}

/**
 * Runs the capacity layer of `peers` peers over a simulated transport and clock: the topology and gossip's two
 * hops are modelled, while each observer's table, validation (AdvertIntake, PeerTable, OriginRateLimiter: the
 * daemon's own classes) and a submitter's choice and reserve (rankCandidates, reserveInWaves) are the real code.
 */
export async function simulate(options: SimOptions): Promise<SimResult> {
  const rng = new Rng(options.seed)
  // the warm-ups' own draws: with or without them (--warm-up), the simulated network is the same
  const warmUpRng = new Rng(options.seed + 0x5eed)
  const topology = new Topology({
    degree: options.degree,
    meshDegree: options.meshDegree,
    lazyDegree: options.lazyDegree,
    rng
  })
  const states: PeerState[] = []
  let clockMs = 0
  const now = (): number => EPOCH_MS + clockMs
  const ttlMs = options.advertIntervalMs * options.peerTtlIntervals

  const addPeer = (): number => {
    const id = states.length
    const busy = rng.next() < options.busyMeanS / (options.busyMeanS + options.freeMeanS)
    states.push({
      busy,
      nextToggleMs: clockMs + exponential(rng, 1000 * (busy ? options.busyMeanS : options.freeMeanS)),
      nextBeatMs: clockMs + rng.next() * options.advertIntervalMs,
      seq: 0n,
      changed: false
    })
    topology.join(id)
    return id
  }
  for (let i = 0; i < options.peers; i++) addPeer()

  const observers: Observer[] = []
  const observerIds = new Set<number>()
  while (observers.length < Math.min(options.observers, options.peers)) {
    const id = topology.randomPeer() as number
    if (observerIds.has(id)) continue
    observerIds.add(id)
    const table = new PeerTable({ maxPeers: options.tableCap, now })
    const rateLimiter = new OriginRateLimiter({
      burst: capacityDefaults.advertsPerInterval,
      perInterval: capacityDefaults.advertsPerInterval,
      intervalMs: advertRateWindowMs(options.advertIntervalMs),
      maxOrigins: capacityDefaults.maxRateLimitedOrigins,
      now
    })
    const intake = new AdvertIntake({ peers: table, rateLimiter, now })
    observers.push({
      id,
      table,
      intake,
      reached: new Set(),
      reach: new Map(),
      copies: 0,
      firstCopies: 0,
      bytes: 0,
      intakeMs: 0,
      warmUpsServed: 0,
      warmUpMs: 0
    })
  }
  /** origin → the observers its adverts reach */
  let audience = new Map<number, Observer[]>()
  const mapReach = (): void => {
    audience = new Map()
    for (const observer of observers) {
      observer.reach = reachOf(topology, observer.id)
      for (const origin of observer.reach.keys()) {
        const list = audience.get(origin) ?? []
        list.push(observer)
        audience.set(origin, list)
      }
    }
  }
  mapReach()

  const measuring = (): boolean => clockMs >= options.warmupS * 1000
  const checks: Array<{ atMs: number; observer: Observer; origin: number; data: Uint8Array }> = []
  const admit = (observer: Observer, origin: number, data: Uint8Array, direct: boolean): void => {
    const before = process.cpuUsage()
    const outcome = observer.intake.admit(
      peerName(origin),
      data,
      direct,
      () => direct || topology.neighbours(observer.id).has(origin) || observer.reached.has(origin),
      simEnvelope(peerName(origin), data)
    )
    if (measuring()) {
      const spent = process.cpuUsage(before)
      observer.intakeMs += (spent.user + spent.system) / 1000
    }
    if (outcome.kind === 'unreached') checks.push({ atMs: clockMs + options.checkMs, observer, origin, data })
  }

  /** `leaving`: the farewell advert of a peer that stops (no free units) */
  const publish = (origin: number, state: PeerState, leaving = false): void => {
    state.seq = state.seq >= BigInt(now()) ? state.seq + 1n : BigInt(now())
    const units = options.unitsPerPeer
    const advert = simAdvert(units, state.busy || leaving ? 0 : units, state.seq, BigInt(now()), ttlMs)
    const data = encodeAdvert(advert)
    state.lastAdvert = data
    const listeners = audience.get(origin)
    if (listeners === undefined) return
    for (const observer of listeners) {
      const reach = observer.reach.get(origin) as Reach
      const pulled = !reach.direct && reach.pushed === 0 ? 1 : 0
      const copies = (reach.direct ? 1 : 0) + reach.pushed + pulled
      if (measuring()) {
        observer.copies += copies
        observer.firstCopies++
        observer.bytes +=
          copies * (data.byteLength + options.costs.overheadBytes) +
          reach.announced * GOSSIP_ID_BYTES +
          pulled * GOSSIP_ID_BYTES
      }
      admit(observer, origin, data, reach.direct)
    }
  }

  const churn = (): void => {
    const count = Math.round((options.churnPerMinute / CHURN_BATCHES_PER_MINUTE) * topology.size)
    for (let left = 0, tries = 0; left < count && tries < 10 * count; tries++) {
      const id = topology.randomPeer() as number
      if (observerIds.has(id)) continue
      if (rng.next() < options.gracefulShare) publish(id, states[id] as PeerState, true)
      // its neighbours see its connections close
      for (const observer of observers)
        if (topology.neighbours(observer.id).has(id)) observer.table.dropDirect(peerName(id))
      topology.leave(id)
      left++
    }
    for (let i = 0; i < count; i++) {
      const joined = addPeer()
      if (options.warmUp > 0) warmUp(joined)
    }
    mapReach()
  }

  const world: PullWorld = {
    topology,
    lastAdvert: (peer: number) => (topology.has(peer) ? states[peer]?.lastAdvert : undefined),
    peerName,
    peerOf: (name: string) => Number(name.slice('sim-'.length)),
    now,
    rng,
    latencyMs: options.latencyMs,
    checkMs: options.checkMs,
    tableCap: options.tableCap,
    wait: async () => undefined
  }
  /**
   * A peer that joins pulls once from PULL_FANOUT of its neighbours (capacity/warm-up.ts): what that costs the
   * observed peers it asks, each answering with the daemon's answerPull over its own table. Every
   * answer is counted as if it were the first (no exclusions but the joiner): the most it can cost.
   */
  const warmUp = (joined: number): void => {
    const neighbours = [...topology.neighbours(joined)]
    for (let asked = 0; asked < PULL_FANOUT && neighbours.length > 0; asked++) {
      const peer = neighbours.splice(warmUpRng.int(neighbours.length), 1)[0] as number
      const observer = observers.find((candidate) => candidate.id === peer)
      if (observer === undefined || !measuring()) continue
      const request = PullRequest.encode({
        topic: capacityTopic(),
        program: '',
        units: 0xffff_ffff,
        exclude: []
      })
      const before = process.cpuUsage()
      const answer = answerPull(observer.table.list(), {
        program: '',
        units: 0xffff_ffff,
        exclude: new Set([peerName(joined)])
      })
      const spent = process.cpuUsage(before)
      observer.warmUpMs += (spent.user + spent.system) / 1000
      observer.warmUpsServed++
      observer.bytes +=
        request.byteLength +
        PullResponse.encode({ adverts: answer }).byteLength +
        2 * options.costs.overheadBytes
    }
  }

  const endMs = (options.warmupS + options.measureS) * 1000
  const churnEveryMs = 60_000 / CHURN_BATCHES_PER_MINUTE
  let nextChurnMs = churnEveryMs
  for (clockMs = 0; clockMs < endMs; clockMs += STEP_MS) {
    if (options.churnPerMinute > 0 && clockMs >= nextChurnMs) {
      churn()
      nextChurnMs += churnEveryMs
    }
    while (checks.length > 0 && (checks[0]?.atMs ?? Infinity) <= clockMs) {
      const check = checks.shift() as (typeof checks)[number]
      if (!topology.has(check.origin)) continue
      check.observer.reached.add(check.origin)
      admit(check.observer, check.origin, check.data, false)
    }
    for (let id = 0; id < states.length; id++) {
      const state = states[id] as PeerState
      if (!topology.has(id)) continue
      while (state.nextToggleMs <= clockMs) {
        state.busy = !state.busy
        state.changed = true
        state.nextToggleMs += exponential(rng, 1000 * (state.busy ? options.busyMeanS : options.freeMeanS))
      }
      const beat = state.nextBeatMs <= clockMs
      if (beat) state.nextBeatMs += options.advertIntervalMs
      if (beat || state.changed) {
        state.changed = false
        publish(id, state)
      }
    }
  }

  const seconds = options.measureS
  const mean = (f: (o: Observer) => number): number =>
    observers.reduce((sum, o) => sum + f(o), 0) / observers.length
  const intakeMs = mean((o) => o.intakeMs / Math.max(1, o.firstCopies))
  const cpuMsPerS = mean(
    (o) =>
      (o.firstCopies * options.costs.verifyMs +
        o.intakeMs +
        o.warmUpMs +
        (o.copies - o.firstCopies) * options.costs.duplicateMs) /
      seconds
  )
  const gather = await gatherJobs(options, observers, states, topology, rng, world)
  return {
    peers: options.peers,
    observers: observers.length,
    perPeer: {
      messagesPerS: mean((o) => o.copies + 2 * o.warmUpsServed) / seconds,
      warmUpsServedPerMin: (mean((o) => o.warmUpsServed) / seconds) * 60,
      firstCopiesPerS: mean((o) => o.firstCopies) / seconds,
      bytesPerS: mean((o) => o.bytes) / seconds,
      cpuPercent: cpuMsPerS / 10,
      tableSize: mean((o) => o.table.size)
    },
    gather,
    costs: { ...options.costs, intakeMs }
  }
}

/**
 * Jobs of `jobUnits` submitted by observers at the end of the run: each one ranks its own table's peers and
 * reserves in waves (the submitter's code) against the truth: a peer that left never answers (the ask runs to
 * its deadline), a busy one refuses at once, a free one grants. Asks wait real milliseconds, so the time is the
 * real code's, hedge delay included; jobs run one after another and book nothing (each sees the same network).
 */
async function gatherJobs(
  options: SimOptions,
  observers: Observer[],
  states: PeerState[],
  topology: Topology,
  rng: Rng,
  world: PullWorld
): Promise<SimResult['gather']> {
  const times: number[] = []
  let filled = 0
  let asks = 0
  let refusedStale = 0
  let refusedDeparted = 0
  const wait = async (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
  const pulls = { jobs: 0, rounds: 0, asked: 0, adverts: 0, listed: 0, verifyMs: 0 }
  const pullWorld: PullWorld = { ...world, wait }
  for (let job = 0; job < options.jobs; job++) {
    const submitter = observers[rng.int(observers.length)] as Observer
    const started = performance.now()
    if (options.pull > 0) {
      const rounds = pulls.rounds
      await pullForJob(pullWorld, submitter, 'rescue-sponge', options.jobUnits, pulls)
      if (pulls.rounds > rounds) pulls.jobs++
    }
    const candidates = rankCandidates(
      submitter.table.list().map((entry): Candidate => ({
        peerId: entry.peerId,
        local: false,
        addrs: [],
        programs: entry.advert.programs,
        unitsFree: entry.advert.unitsFree,
        unitsTotal: entry.advert.unitsTotal,
        rttMs: 2 * options.latencyMs
      }))
    ).filter((candidate) => candidate.unitsFree > 0)
    const controller = new AbortController()
    const outcome = await reserveInWaves<Candidate, number>({
      candidates,
      need: options.jobUnits,
      maxPeers: options.maxPeersPerJob,
      hedgeMs: reserveDefaults.hedgeMs,
      signal: controller.signal,
      ask: async (candidate, units) => {
        asks++
        const id = Number(candidate.peerId.slice('sim-'.length))
        const state = states[id]
        if (!topology.has(id) || state === undefined) {
          refusedDeparted++
          await wait(reserveDefaults.peerTimeoutMs)
          return undefined
        }
        // a dial to a peer not connected yet, then the request and its reply
        const connected = topology.neighbours(submitter.id).has(id)
        await wait((connected ? 2 : 4) * options.latencyMs)
        if (state.busy) {
          refusedStale++
          return undefined
        }
        return units
      },
      unitsOf: (units) => units,
      late: () => undefined
    })
    const elapsed = performance.now() - started
    controller.abort()
    const granted = outcome.kept.reduce((sum, units) => sum + units, 0)
    if (granted >= options.jobUnits) filled++
    times.push(elapsed)
  }
  times.sort((a, b) => a - b)
  const at = (q: number): number =>
    times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? Number.NaN
  return {
    jobs: options.jobs,
    filled,
    msMedian: at(0.5),
    msP95: at(0.95),
    msMax: times[times.length - 1] ?? Number.NaN,
    asks,
    refusedStale,
    refusedDeparted,
    staleShare: asks === 0 ? 0 : (refusedStale + refusedDeparted) / asks,
    pulls: { ...pulls, verifyMs: pulls.adverts * options.costs.verifyMs }
  }
}
