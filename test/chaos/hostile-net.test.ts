/**
 * The hostile suite, network half: strangers that open sockets and stall, and gossip peers that lie. Each attack
 * runs from this process against real daemon processes on 127.0.0.1; the test checks that honest peers still
 * join and an honest job still proves and verifies, and prints its figures (join and job times next to clean
 * ones, the victim's RSS, /v1/status time and peer table). `HOSTILE=full` (npm run test:chaos) runs the attacks
 * at the sizes; `npm test` runs shorter ones.
 */
import '../../src/polyfill.js'
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { noise } from '@libp2p/noise'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { CapacityAdvert } from '../../protocols/capacity/pb/capacity.js'
import { capacityTopic } from '../../src/capacity/constants.js'
import type { PeerRow } from '../../src/daemon/daemon.js'
import type { LocalNetwork, LocalNode } from '../../src/testnet/local-network.js'
import { makeAdvert } from '../helpers/adverts.js'
import { api } from '../helpers/api.js'
import { advertCounters } from './fuzz/gossip.js'
import {
  figures,
  FULL,
  peakFigures,
  type HostileNetwork,
  joinNetwork,
  type Joined,
  metric,
  type ProvedJob,
  provedJob,
  report,
  startNetwork,
  tcpAddress,
  UNITS
} from './hostile/harness.js'
import { attackerHost, FakePeer, joinTopic, relay, sybilMessages } from './hostile/peer.js'
import { SocketStaller, type StallInit, tarpit } from './hostile/sockets.js'

/** A generous bound for a join, only to tell "joined" from "locked out"; the figure printed is the result */
const JOIN_BOUND_MS = 60_000

describe('hostile: sockets that stall a daemon', () => {
  let net: HostileNetwork
  let victim: LocalNode
  const joiners: LocalNetwork[] = []
  let clean: Joined

  before(async () => {
    net = await startNetwork('sockets', { nodes: 1, converge: false })
    victim = net.network.nodes[0] as LocalNode
    const first = await joinNetwork(victim, net.root, 'clean', JOIN_BOUND_MS)
    joiners.push(first.network)
    clean = first.joined
    await report('a new peer joins with no attack', {
      'started ms': clean.startedMs,
      'connected ms': clean.connectedMs,
      'listed ms': clean.listedMs
    })
  })

  after(async () => {
    for (const joiner of joiners) {
      await joiner.stop()
      await joiner.remove()
    }
    await net.stop()
  })

  async function underAttack(name: string, attack: Omit<StallInit, 'host' | 'port'>): Promise<void> {
    const { host, port } = tcpAddress(victim)
    const before = await figures(victim)
    const staller = new SocketStaller({ host, port, ...attack })
    staller.start()
    try {
      // the sockets are in, and libp2p's pending slots (10 by default) would be full by now
      await new Promise((resolve) => setTimeout(resolve, 2_000))
      const { joined, network } = await joinNetwork(victim, net.root, name, JOIN_BOUND_MS).catch(
        (err: unknown) => {
          throw new Error(`${(err as Error).message}; attack sockets: ${JSON.stringify(staller.counts)}`)
        }
      )
      joiners.push(network)
      const during = await figures(victim)
      const guard = await metric(victim, 'proofmesh_inbound_handshakes')
      await report(
        `a new peer joins while ${attack.count} ${attack.mode} sockets from ${sources(attack)} stall`,
        {
          'started ms': joined.startedMs,
          'connected ms': joined.connectedMs,
          'listed ms': joined.listedMs,
          'clean listed ms': clean.listedMs,
          'sockets opened': staller.counts.opened,
          'closed by the daemon': staller.counts.closedByDaemon,
          'refused (address full)': guard.get('kind="refused"') ?? 0,
          'evicted (all slots taken)': guard.get('kind="evicted"') ?? 0,
          'victim RSS MiB': during.rssMiB,
          'RSS before MiB': before.rssMiB,
          'status ms': during.statusMs
        }
      )
      assert.ok(joined.listedMs < JOIN_BOUND_MS)
      await network.stop()
    } finally {
      staller.stop()
    }
    const health = await fetch(new URL('/v1/health', victim.api.url), { signal: AbortSignal.timeout(5_000) })
    assert.equal(health.status, 200, 'the victim is still up')
  }

  it('lets a new peer join while 100 silent sockets from another address stall its bootstrap peer', async () => {
    await underAttack('silent', { count: 100, mode: 'silent', from: ['127.0.0.2'] })
  })

  it('lets a new peer join while 100 sockets trickle garbage', async () => {
    await underAttack('garbage', { count: 100, mode: 'garbage', from: ['127.0.0.3'], trickleMs: 500 })
  })

  it('takes 50 peers dialling it at the same moment from one address', async () => {
    const dialers = await Promise.all(
      Array.from({ length: 50 }, async () =>
        createLibp2p({ transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()] })
      )
    )
    try {
      const target = multiaddr(tcpAddress(victim).multiaddr)
      const started = Date.now()
      const dials = await Promise.allSettled(
        dialers.map(async (dialer) => dialer.dial(target, { signal: AbortSignal.timeout(30_000) }))
      )
      const failed = dials.flatMap((dial) => (dial.status === 'rejected' ? [String(dial.reason)] : []))
      await report('50 simultaneous dials from one address', {
        connected: 50 - failed.length,
        'all in ms': Date.now() - started
      })
      assert.deepEqual(failed, [], 'every dial connected')
    } finally {
      await Promise.all(dialers.map(async (dialer) => dialer.stop()))
    }
  })

  it('lets a new peer join while more sockets than all the handshake slots stall, from many addresses', async () => {
    const count = FULL ? 1_000 : 600
    const from = Array.from({ length: 200 }, (_, i) => `127.0.1.${i + 1}`)
    await underAttack('many', { count, mode: 'silent', from })
  })
})

function sources(attack: Omit<StallInit, 'host' | 'port'>): string {
  const from = attack.from ?? []
  return from.length === 1 ? (from[0] as string) : `${from.length} addresses`
}

/** Adverts judged by a daemon so far, whatever the verdict */
async function judged(node: LocalNode): Promise<number> {
  return [...(await advertCounters(node)).values()].reduce((sum, count) => sum + count, 0)
}

async function within<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

describe('hostile: gossip peers that lie', () => {
  const JOB_BYTES = 400_000
  let net: HostileNetwork
  let victim: LocalNode
  let clean: ProvedJob

  before(async () => {
    net = await startNetwork('gossip', { nodes: 3 })
    victim = net.network.nodes[0] as LocalNode
    clean = await provedJob(victim, JOB_BYTES, 3 * UNITS)
    await report('a clean job', { 'job ms': clean.ms, phases: clean.phases })
  })

  after(async () => net.stop())

  it('keeps the peer table bounded and the API quick while one relay floods adverts of fresh keys', async () => {
    const count = FULL ? 10_000 : 2_000
    const trap = await tarpit()
    const attacker = await attackerHost()
    try {
      // fresh keys claiming a million free units; half at a tarpit, half where nobody listens. Stamped 20 s ahead
      // (the clock rule allows 30 s), so that none is stale by the time the keys are made and the flood is in
      const stamped = BigInt(Date.now() + 20_000)
      const sybils = await sybilMessages(count, (peerId) =>
        CapacityAdvert.encode(
          makeAdvert({
            seq: stamped,
            timestampMs: stamped,
            unitsTotal: 1_000_000,
            unitsFree: 1_000_000,
            programs: ['rescue-sponge'],
            addrs: [
              multiaddr(
                `/ip4/127.0.0.1/tcp/${(peerId.toMultihash().bytes.at(-1) ?? 0) % 2 === 0 ? trap.port : 1}`
              ).bytes
            ]
          })
        )
      )
      // the largest of a few seconds of samples: an idle daemon's RSS saws up and down with its garbage collector
      const before = await peakFigures(victim, 3_000)
      const judgedBefore = await judged(victim)
      const unreachedBefore = (await advertCounters(victim)).get('ignore/unreached') ?? 0
      const victimId = await joinTopic(attacker, tcpAddress(victim).multiaddr)
      const started = Date.now()
      const peak = { statusMs: 0, rssMiB: 0, knownPeers: 0 }
      const sampling = (async () => {
        while (Date.now() - started < 600_000) {
          const now = await figures(victim)
          peak.statusMs = Math.max(peak.statusMs, now.statusMs)
          peak.rssMiB = Math.max(peak.rssMiB, now.rssMiB)
          peak.knownPeers = Math.max(peak.knownPeers, now.knownPeers)
          if ((await judged(victim)) - judgedBefore >= count) return
          await new Promise((resolve) => setTimeout(resolve, 100))
        }
      })()
      for (let i = 0; i < sybils.length; i += 100) {
        assert.ok(
          relay(
            attacker,
            victimId,
            sybils.slice(i, i + 100).map((sybil) => sybil.message)
          )
        )
        await new Promise((resolve) => setImmediate(resolve))
      }
      const sentMs = Date.now() - started
      await within(`the victim to judge all ${count} adverts`, 600_000, async () =>
        (await judged(victim)) - judgedBefore >= count ? true : undefined
      )
      const judgedMs = Date.now() - started
      await sampling
      const after = await figures(victim)
      const peersBody = await fetch(new URL('/v1/peers', victim.api.url), {
        headers: { authorization: `Bearer ${victim.token}` }
      }).then(async (response) => response.text())
      const beyond = await api<PeerRow[]>(net.network.nodes[1] as LocalNode, '/v1/peers')
      const checks = await metric(victim, 'proofmesh_reachability_checks')
      const job = await provedJob(victim, JOB_BYTES, 3 * UNITS)
      // what the flood left behind once gossipsub's caches of seen messages (2 minutes at most) have let go
      if (FULL) await new Promise((resolve) => setTimeout(resolve, 60_000))
      const settled = await figures(victim)
      await report(`${count} adverts of fresh keys relayed by one peer`, {
        'sent in ms': sentMs,
        'judged in ms': judgedMs,
        'victim table': after.knownPeers,
        'table peak': peak.knownPeers,
        'table of a peer beyond it': beyond.length,
        'RSS before MiB': before.rssMiB,
        'RSS peak MiB': peak.rssMiB,
        'RSS after MiB': after.rssMiB,
        [FULL ? 'RSS a minute later MiB' : 'RSS after the job MiB']: settled.rssMiB,
        'status peak ms': peak.statusMs,
        '/v1/peers bytes': peersBody.length,
        'origins checked': checks.get('kind="checked"') ?? 0,
        'checks dropped (queue full)': checks.get('kind="dropped"') ?? 0,
        'job ms': job.ms,
        phases: job.phases,
        'clean job ms': clean.ms
      })
      const unreached = ((await advertCounters(victim)).get('ignore/unreached') ?? 0) - unreachedBefore
      assert.equal(unreached, count, 'every forged advert was judged for what it is: an origin not reached')
      assert.equal(peak.knownPeers, 2, 'the victim lists its two honest peers and nothing else')
      assert.equal(beyond.length, 2, 'so does a peer that hears gossip only through it')
      assert.ok(
        attacker.getConnections(victimId).length > 0,
        'the relay of unreachable origins is not punished'
      )
    } finally {
      await attacker.stop()
      await trap.close()
    }
  })

  it('proves an honest job in one hedge delay more while ten fakes advertise a million units and stall', async () => {
    const fakes: FakePeer[] = []
    try {
      for (let i = 0; i < 10; i++) {
        fakes.push(
          await FakePeer.start({
            target: tcpAddress(victim).multiaddr,
            intervalMs: 1_000,
            advert: {
              unitsTotal: 1_000_000,
              unitsFree: 1_000_000,
              programs: ['rescue-sponge'],
              proverName: 'fake'
            }
          })
        )
      }
      await within('the victim to list the ten fakes', 30_000, async () =>
        (await figures(victim)).knownPeers >= 12 ? true : undefined
      )
      const job = await provedJob(victim, JOB_BYTES, 3 * UNITS)
      const asked = fakes.filter((fake) => fake.stalled > 0).length
      await report('ten fakes listed with 1,000,000 free units each, stalling every job stream', {
        'job ms': job.ms,
        phases: job.phases,
        'clean job ms': clean.ms,
        'fakes asked': asked
      })
      assert.ok(asked >= 1, 'the fakes were ranked first and asked')
      const fakeIds = new Set(fakes.map((fake) => fake.host.peerId.toString()))
      assert.ok(
        job.record.segments.every((segment) => !fakeIds.has(segment.peerId)),
        'no fake got a segment'
      )
    } finally {
      await Promise.all(fakes.map(async (fake) => fake.stop()))
    }
  })

  it('graylists and bans a peer that sends invalid adverts, and reads nothing more from it', async () => {
    const count = FULL ? 1_000 : 200
    const attacker = await attackerHost()
    try {
      const victimId = await joinTopic(attacker, tcpAddress(victim).multiaddr)
      const rejectedBefore = (await advertCounters(victim)).get('reject/range') ?? 0
      const invalid = CapacityAdvert.encode(makeAdvert({ unitsTotal: 1, unitsFree: 2 }))
      // a steady stream, 50 a second: gossipsub's score (cached for a heartbeat) catches up while it flows
      for (let i = 0; i < count && attacker.getConnections(victimId).length > 0; i++) {
        await attacker.services.pubsub.publish(capacityTopic(), invalid).catch(() => undefined)
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      await within('the victim to hang up on the attacker', 30_000, async () =>
        attacker.getConnections(victimId).length === 0 ? true : undefined
      )
      const rejected = ((await advertCounters(victim)).get('reject/range') ?? 0) - rejectedBefore
      const redial = await attacker
        .dial(multiaddr(tcpAddress(victim).multiaddr), { signal: AbortSignal.timeout(10_000) })
        .then(async () => {
          await new Promise((resolve) => setTimeout(resolve, 1_000))
          return attacker.getConnections(victimId).length
        })
        .catch(() => 0)
      const status = await figures(victim)
      await report(`${count} invalid adverts from one peer`, {
        'judged and rejected': rejected,
        'connections after a redial': redial,
        'victim table': status.knownPeers
      })
      assert.ok(
        rejected >= 3 && rejected < count,
        `graylisted after a few: ${rejected} of ${count} were read`
      )
      assert.equal(redial, 0, 'a banned peer cannot connect again')
    } finally {
      await attacker.stop()
    }
  })
})
