import { MAX_PULL_EXCLUDE, MAX_PULL_ROUNDS, PULL_FANOUT } from '../../protocols/capacity/pull-constants.js'
import { capacityDefaults } from '../../src/capacity/service.js'
import { AdvertIntake } from '../../src/capacity/intake.js'
import { PeerTable } from '../../src/capacity/peer-table.js'
import { answerPull } from '../../src/capacity/pull-answer.js'
import { OriginRateLimiter } from '../../src/capacity/rate-limit.js'
import type { SignedAdvert } from '../../src/capacity/signed-advert.js'
import type { Rng } from '../../test/helpers/rng.js'
import { reachOf, type Topology } from './topology.js'

export interface PullSubmitter {
  id: number
  table: PeerTable
  intake: AdvertIntake
  /** Origins it has dialled and identified (a reachability check) */
  reached: Set<number>
}

export interface PullWorld {
  topology: Topology
  /** Each live peer's last advert, as it published it (what its neighbourhood's tables hold) */
  lastAdvert: (peer: number) => Uint8Array | undefined
  peerName: (peer: number) => string
  peerOf: (name: string) => number
  now: () => number
  rng: Rng
  latencyMs: number
  checkMs: number
  tableCap: number
  wait: (ms: number) => Promise<void>
}

export interface PullTally {
  rounds: number
  asked: number
  adverts: number
  listed: number
}

/**
 * Capacity pulled before a job starts (the scheduler's PullRounds, job/pull-rounds.ts), over the simulated
 * network: while the submitter's table holds fewer free units than the job needs, up to MAX_PULL_ROUNDS rounds each
 * ask PULL_FANOUT random neighbours not asked before. Each answerer's table is the daemon's own PeerTable filled
 * through AdvertIntake with the last adverts of its two-hop neighbourhood, and it answers with answerPull (the
 * daemon's answer); the submitter takes each advert through its own AdvertIntake, and one whose origin it has not
 * reached after a reachability check (checkMs). Signatures are not made here: their check is counted as CPU
 * (costs.verifyMs per advert) by the caller.
 */
export async function pullForJob(
  world: PullWorld,
  submitter: PullSubmitter,
  program: string,
  need: number,
  tally: PullTally
): Promise<void> {
  const asked = new Set<number>()
  const free = (): number =>
    submitter.table
      .list()
      .filter((entry) => entry.advert.programs.includes(program))
      .reduce((sum, entry) => sum + entry.advert.unitsFree, 0)
  // a full table would turn every pulled advert away (CapacityPull asks nobody then)
  for (let round = 0; round < MAX_PULL_ROUNDS && free() < need && submitter.table.hasRoom(); round++) {
    const neighbours = [...world.topology.neighbours(submitter.id)].filter((peer) => !asked.has(peer))
    const chosen: number[] = []
    while (chosen.length < PULL_FANOUT && neighbours.length > 0) {
      chosen.push(neighbours.splice(world.rng.int(neighbours.length), 1)[0] as number)
    }
    if (chosen.length === 0) return
    for (const peer of chosen) asked.add(peer)
    tally.rounds++
    tally.asked += chosen.length
    const known = submitter.table
      .list()
      .filter((entry) => entry.advert.unitsFree > 0)
      .map((entry) => entry.peerId)
      .slice(0, MAX_PULL_EXCLUDE)
    const exclude = new Set([...known, world.peerName(submitter.id)])
    const answers = chosen.map((peer) =>
      answerPull(tableOf(world, peer).list(), { program, units: need - free(), exclude })
    )
    // the answers come back together, one round trip on open connections
    await world.wait(2 * world.latencyMs)
    const unreached: SignedAdvert[] = []
    for (const signed of answers.flat()) {
      tally.adverts++
      const origin = world.peerOf(new TextDecoder().decode(signed.from))
      const reachable = (): boolean => submitter.reached.has(origin)
      const outcome = submitter.intake.admit(world.peerName(origin), signed.data, false, reachable, signed)
      if (outcome.kind === 'listed') tally.listed++
      else if (outcome.kind === 'unreached') unreached.push(signed)
    }
    if (unreached.length === 0) continue
    // the reachability checks run at once (a dial and identify each)
    await world.wait(world.checkMs)
    for (const signed of unreached) {
      const origin = world.peerOf(new TextDecoder().decode(signed.from))
      if (!world.topology.has(origin)) continue
      submitter.reached.add(origin)
      const outcome = submitter.intake.admit(world.peerName(origin), signed.data, false, () => true, signed)
      if (outcome.kind === 'listed') tally.listed++
    }
  }
}

/** A neighbour's table: its two hops' last adverts, through the daemon's intake (all of them reached) */
function tableOf(world: PullWorld, peer: number): PeerTable {
  const table = new PeerTable({ maxPeers: world.tableCap, now: world.now })
  const intake = new AdvertIntake({
    peers: table,
    rateLimiter: new OriginRateLimiter({
      burst: capacityDefaults.advertsPerInterval,
      perInterval: capacityDefaults.advertsPerInterval,
      intervalMs: capacityDefaults.advertIntervalMs,
      maxOrigins: capacityDefaults.maxRateLimitedOrigins
    }),
    now: world.now
  })
  for (const origin of reachOf(world.topology, peer).keys()) {
    const data = world.lastAdvert(origin)
    if (data === undefined) continue
    const name = world.peerName(origin)
    intake.admit(name, data, false, () => true, simEnvelope(name, data))
  }
  return table
}

/** gossip's envelope of an advert as the simulation keeps it: the sizes of a real one, no real signature */
export function simEnvelope(name: string, data: Uint8Array): SignedAdvert {
  return {
    from: new TextEncoder().encode(name),
    data: new Uint8Array(data),
    seqno: new Uint8Array(8),
    signature: new Uint8Array(64),
    key: new Uint8Array()
  }
}
