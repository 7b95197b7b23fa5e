import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { type GossipSub, gossipsub } from '@libp2p/gossipsub'
import type { Connection, PeerId } from '@libp2p/interface'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p, type Libp2p } from 'libp2p'
import { CapacityAdvert } from '../../protocols/capacity/pb/capacity.js'
import { ADVERTS_PER_INTERVAL, capacityTopic, MAX_ADVERT_BYTES } from '../../src/capacity/constants.js'
import type { PeerEntry } from '../../src/capacity/peer-table.js'
import type { Daemon } from '../../src/daemon/daemon.js'
import { createHost } from '../../src/net/host.js'
import { PeerBans } from '../../src/net/peer-bans.js'
import { relay, sybilMessages } from '../chaos/hostile/peer.js'
import { makeAdvert } from '../helpers/adverts.js'
import { multiaddrOf, startTestNode, stopAll, testLogger, waitFor } from '../helpers/network.js'

type Attacker = Libp2p<{ pubsub: GossipSub }>

const topic = capacityTopic()

async function counter(daemon: Daemon, result: string, reason: string): Promise<number> {
  const { body } = await daemon.metrics()
  const line = body
    .split('\n')
    .find((l) => l.startsWith(`proofmesh_adverts_received_total{result="${result}",reason="${reason}"}`))
  return line === undefined ? 0 : Number(line.split(' ').pop())
}

/**
 * A peer that speaks the protocols but not honestly; StrictNoSign makes it publish unsigned messages. `bans`: peers
 * it refuses itself.
 */
async function attacker(
  target: Daemon,
  signaturePolicy: 'StrictSign' | 'StrictNoSign',
  bans?: PeerBans
): Promise<Attacker> {
  const host =
    signaturePolicy === 'StrictSign'
      ? await createHost({
          privateKey: await generateKeyPair('Ed25519'),
          listen: ['/ip4/127.0.0.1/tcp/0'],
          dht: false,
          bans,
          logger: testLogger
        })
      : await createLibp2p({
          addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
          transports: [tcp()],
          connectionEncrypters: [noise()],
          streamMuxers: [yamux()],
          services: {
            identify: identify(),
            pubsub: gossipsub({ globalSignaturePolicy: 'StrictNoSign', allowPublishToZeroTopicPeers: true })
          }
        })
  host.services.pubsub.subscribe(topic)
  await host.dial(multiaddr(multiaddrOf(target)))
  await waitFor(
    () => host.services.pubsub.getSubscribers(topic).some((peer) => peer.equals(target.node.peerId)),
    'the attacker to see the daemon on the topic'
  )
  return host
}

describe('capacity advert validation on a live daemon', () => {
  let daemon: Daemon
  let honest: Daemon
  const hosts: Attacker[] = []

  before(async () => {
    daemon = await startTestNode({ daemon: { metrics: true } })
    honest = await startTestNode({ overrides: { net: { bootstrap: [multiaddrOf(daemon)] } } })
    await waitFor(() => daemon.capacity.peers.size === 1, 'the honest peer to appear')
  })

  after(async () => {
    await Promise.allSettled(hosts.map(async (host) => host.stop()))
    await stopAll([daemon, honest])
  })

  it('rejects a malformed advert and keeps serving', async () => {
    const host = await attacker(daemon, 'StrictSign')
    hosts.push(host)
    const before = await counter(daemon, 'reject', 'malformed')
    await host.services.pubsub.publish(topic, new Uint8Array([0xff, 0xff, 0xff, 0x0f, 0x12]))
    await waitFor(
      async () => (await counter(daemon, 'reject', 'malformed')) > before,
      'the malformed advert to be rejected'
    )
    assert.equal(daemon.capacity.peers.get(host.peerId.toString()), undefined)
    assert.ok(daemon.capacity.peers.get(honest.node.peerId.toString()), 'the honest peer is still listed')
    const status = await honest.statusClient.request(daemon.node.peerId)
    assert.equal(status.peerId, daemon.node.peerId.toString())
  })

  it('rejects an oversize advert', async () => {
    const host = hosts[0]
    assert.ok(host)
    const before = await counter(daemon, 'reject', 'oversize')
    const big = CapacityAdvert.encode(makeAdvert({ version: 'x'.repeat(MAX_ADVERT_BYTES) }))
    await host.services.pubsub.publish(topic, big)
    await waitFor(
      async () => (await counter(daemon, 'reject', 'oversize')) > before,
      'the oversize advert to be rejected'
    )
    assert.equal(daemon.capacity.peers.get(host.peerId.toString()), undefined)
  })

  it('rejects an advert with fields out of range', async () => {
    const host = hosts[0]
    assert.ok(host)
    const before = await counter(daemon, 'reject', 'range')
    await host.services.pubsub.publish(
      topic,
      CapacityAdvert.encode(makeAdvert({ unitsTotal: 4, unitsFree: 9 }))
    )
    await waitFor(
      async () => (await counter(daemon, 'reject', 'range')) > before,
      'the out-of-range advert to be rejected'
    )
    assert.equal(daemon.capacity.peers.get(host.peerId.toString()), undefined)
  })

  it('accepts a good advert, then ignores a stale one', async () => {
    const host = await attacker(daemon, 'StrictSign')
    hosts.push(host)
    const seq = BigInt(Date.now())
    await host.services.pubsub.publish(
      topic,
      CapacityAdvert.encode(makeAdvert({ seq, unitsTotal: 7, unitsFree: 7 }))
    )
    await waitFor(
      () => daemon.capacity.peers.get(host.peerId.toString()) !== undefined,
      'the good advert to be accepted'
    )
    const before = await counter(daemon, 'ignore', 'stale')
    await host.services.pubsub.publish(
      topic,
      CapacityAdvert.encode(makeAdvert({ seq: seq - 10n, unitsTotal: 1, unitsFree: 1 }))
    )
    await waitFor(
      async () => (await counter(daemon, 'ignore', 'stale')) > before,
      'the stale advert to be ignored'
    )
    assert.equal(daemon.capacity.peers.get(host.peerId.toString())?.advert.unitsTotal, 7)
  })

  it('drops an unsigned advert (no sender to hold to account)', async () => {
    const host = await attacker(daemon, 'StrictNoSign')
    hosts.push(host)
    await host.services.pubsub.publish(topic, CapacityAdvert.encode(makeAdvert()))
    // Give gossip time to deliver it if it were going to be accepted
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    assert.equal(daemon.capacity.peers.get(host.peerId.toString()), undefined)
    const known = new Set([honest.node.peerId.toString(), ...hosts.map((other) => other.peerId.toString())])
    for (const entry of daemon.capacity.peers.list())
      assert.ok(known.has(entry.peerId), `${entry.peerId} is listed`)
  })

  it('rejects an advert whose address names another peer', async () => {
    const host = await attacker(daemon, 'StrictSign')
    hosts.push(host)
    const before = await counter(daemon, 'reject', 'address')
    const stolen = multiaddr(`/ip4/127.0.0.1/tcp/4001/p2p/${honest.node.peerId.toString()}`).bytes
    await host.services.pubsub.publish(topic, CapacityAdvert.encode(makeAdvert({ addrs: [stolen] })))
    await waitFor(
      async () => (await counter(daemon, 'reject', 'address')) > before,
      "the advert claiming the honest peer's address to be rejected"
    )
    assert.equal(daemon.capacity.peers.get(host.peerId.toString()), undefined)
  })

  it('graylists and bans a peer that keeps sending invalid adverts: its connection closed, its dials refused', async () => {
    const host = await attacker(daemon, 'StrictSign')
    hosts.push(host)
    const before = await counter(daemon, 'reject', 'range')
    for (let i = 0; i < 5; i++) {
      await host.services.pubsub.publish(
        topic,
        CapacityAdvert.encode(makeAdvert({ unitsTotal: 1, unitsFree: 2 }))
      )
    }
    await waitFor(
      async () => (await counter(daemon, 'reject', 'range')) >= before + 3,
      'three invalid adverts to be rejected'
    )
    await waitFor(
      () =>
        daemon.node.getConnections(host.peerId).length === 0 &&
        host.getConnections(daemon.node.peerId).length === 0,
      'the daemon to hang up on the graylisted peer'
    )
    // a banned peer's handshake is cut once the daemon knows who it is: it never gets a connection there
    const opened: string[] = []
    const onOpen = (event: CustomEvent<Connection>): void => {
      if (event.detail.remotePeer.equals(host.peerId)) opened.push(event.detail.id)
    }
    daemon.node.addEventListener('connection:open', onOpen)
    try {
      await host
        .dial(multiaddr(multiaddrOf(daemon)), { signal: AbortSignal.timeout(10_000) })
        .catch(() => undefined)
      await waitFor(
        () => host.getConnections(daemon.node.peerId).length === 0,
        'the new connection to be cut'
      )
    } finally {
      daemon.node.removeEventListener('connection:open', onOpen)
    }
    assert.deepEqual(opened, [], 'the daemon opened no connection to the banned peer')
    assert.equal(daemon.capacity.peers.get(host.peerId.toString()), undefined)
    assert.ok(daemon.capacity.peers.get(honest.node.peerId.toString()), 'the honest peer is still listed')
  })

  it('lists no origin it cannot reach, and does not blame the peer that relayed them', async () => {
    const host = await attacker(daemon, 'StrictSign')
    hosts.push(host)
    const before = await counter(daemon, 'ignore', 'unreached')
    // fresh keys, one advert each, with an address where nobody listens (port 1) or none at all
    const sybils = await sybilMessages(40, (peerId) =>
      CapacityAdvert.encode(
        makeAdvert({
          unitsTotal: 1_000_000,
          unitsFree: 1_000_000,
          addrs: peerId.toString().endsWith('a')
            ? []
            : [multiaddr(`/ip4/127.0.0.1/tcp/1/p2p/${peerId.toString()}`).bytes]
        })
      )
    )
    assert.ok(
      relay(
        host,
        daemon.node.peerId,
        sybils.map((sybil) => sybil.message)
      )
    )
    await waitFor(
      async () => (await counter(daemon, 'ignore', 'unreached')) >= before + sybils.length,
      'every forged advert to be judged'
    )
    // every check the daemon queued has ended (refused at once on 127.0.0.1:1)
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    for (const sybil of sybils) {
      assert.equal(
        daemon.capacity.peers.get(sybil.peerId.toString()),
        undefined,
        'a forged origin is not listed'
      )
      // the dials that checked some of them left nothing behind in libp2p's peer store
      assert.equal(await daemon.node.peerStore.has(sybil.peerId), false, 'no peer store record')
    }
    assert.ok(daemon.node.getConnections(host.peerId).length > 0, 'the relay is still connected')
    const score = (daemon.node.services.pubsub as unknown as { getScore(id: string): number }).getScore(
      host.peerId.toString()
    )
    assert.ok(score >= 0, `the relay's gossip score is ${score}`)
  })
})

/** Counts the adverts a daemon accepted from one origin: gossipsub emits `message` only for accepted ones */
/** Adverts of `origin` the daemon listed: accepted and forwarded, or (relayed to it) listed and not forwarded */
function acceptedFrom(daemon: Daemon, origin: PeerId): { count: () => number; stop: () => void } {
  let count = 0
  const onUpdated = (event: CustomEvent<PeerEntry>): void => {
    if (event.detail.peerId === origin.toString()) count++
  }
  daemon.capacity.peers.addEventListener('peer:updated', onUpdated)
  return {
    count: () => count,
    stop: () => daemon.capacity.peers.removeEventListener('peer:updated', onUpdated)
  }
}

describe('replayed and flooded adverts on a live daemon', () => {
  // the production interval: the time window is the peer TTL (15 s), the rate 4 adverts per 5 s
  const intervalMs = 5_000
  let target: Daemon
  let observer: Daemon
  const hosts: Attacker[] = []

  before(async () => {
    target = await startTestNode({
      daemon: { metrics: true },
      overrides: { capacity: { advertIntervalMs: intervalMs } }
    })
    observer = await startTestNode({
      daemon: { metrics: true },
      overrides: { net: { bootstrap: [multiaddrOf(target)] }, capacity: { advertIntervalMs: intervalMs } }
    })
    await waitFor(() => target.capacity.peers.size === 1, 'the observer to appear on the target')
  })

  after(async () => {
    await Promise.allSettled(hosts.map(async (host) => host.stop()))
    await stopAll([target, observer])
  })

  it('ignores an advert stamped 1970, so a replayed advert cannot bring a peer back', async () => {
    const host = await attacker(target, 'StrictSign')
    hosts.push(host)
    const before = await counter(target, 'ignore', 'stale_time')
    await host.services.pubsub.publish(topic, CapacityAdvert.encode(makeAdvert({ seq: 1n, timestampMs: 0n })))
    await waitFor(
      async () => (await counter(target, 'ignore', 'stale_time')) > before,
      'the 1970 advert to be ignored'
    )
    assert.equal(target.capacity.peers.get(host.peerId.toString()), undefined)
    const ahead = await counter(target, 'ignore', 'future')
    await host.services.pubsub.publish(
      topic,
      CapacityAdvert.encode(makeAdvert({ timestampMs: BigInt(Date.now() + 10 * 60_000) }))
    )
    await waitFor(
      async () => (await counter(target, 'ignore', 'future')) > ahead,
      'the advert from the future to be ignored'
    )
    assert.equal(target.capacity.peers.get(host.peerId.toString()), undefined)
    assert.equal(
      observer.capacity.peers.get(host.peerId.toString()),
      undefined,
      'nor relayed to the observer'
    )
  })

  it('accepts a few of 170 adverts a second from one peer, relays no more, and keeps serving', async () => {
    const bans = new PeerBans()
    const host = await attacker(target, 'StrictSign', bans)
    hosts.push(host)
    const origin = host.peerId
    const atTarget = acceptedFrom(target, origin)
    const atObserver = acceptedFrom(observer, origin)
    try {
      // The observer lists an origin only once it has reached it: the flooding peer lets it, once (its advert
      // names its address), then refuses it, so that everything below reaches the observer through the target
      const base = BigInt(Date.now())
      const addrs = host.getMultiaddrs().map((addr) => addr.bytes)
      await host.services.pubsub.publish(topic, CapacityAdvert.encode(makeAdvert({ seq: base, addrs })))
      await waitFor(
        () => observer.capacity.peers.get(origin.toString()) !== undefined,
        'the observer to reach the flooding peer and list it'
      )
      bans.ban(observer.node.peerId.toString(), 10 * 60_000)
      await host.hangUp(observer.node.peerId)
      await waitFor(() => observer.node.getConnections(origin).length === 0, 'the direct link to be gone')
      // one advert at an honest pace: the target relays it to the observer
      const heardDirectly = atObserver.count()
      await host.services.pubsub.publish(topic, CapacityAdvert.encode(makeAdvert({ seq: base + 1n, addrs })))
      await waitFor(
        () => atObserver.count() === heardDirectly + 1,
        'an honest advert to reach the observer through the target'
      )
      const acceptedBefore = atTarget.count()
      const relayedBefore = atObserver.count()
      const limitedBefore = await counter(target, 'ignore', 'rate_limited')
      const observerLimitedBefore = await counter(observer, 'ignore', 'rate_limited')
      const started = Date.now()
      for (let i = 2; i <= 171; i++) {
        const advert = makeAdvert({ seq: base + BigInt(i), unitsTotal: 100 + i, unitsFree: 100 + i })
        await host.services.pubsub.publish(topic, CapacityAdvert.encode(advert))
      }
      // a figure: the bound below counts the refill over however long publishing and judging took
      process.stderr.write(`advert flood: 170 adverts published in ${Date.now() - started} ms\n`)
      const judged = async (): Promise<number> =>
        atTarget.count() - acceptedBefore + (await counter(target, 'ignore', 'rate_limited')) - limitedBefore
      await waitFor(async () => (await judged()) === 170, 'the target to have judged all 170 adverts')
      // a token bucket: at most the burst, plus what refilled while the target was judging them
      const elapsedMs = Date.now() - started
      const bound = ADVERTS_PER_INTERVAL + Math.floor((elapsedMs * ADVERTS_PER_INTERVAL) / intervalMs)
      const accepted = atTarget.count() - acceptedBefore
      assert.ok(accepted >= 1 && accepted <= bound, `the target accepted ${accepted} (at most ${bound})`)
      assert.ok(
        target.capacity.peers.get(origin.toString()),
        'the flooding peer is still listed, with an advert'
      )

      // what the target ignored it did not forward: the observer hears at most what the target accepted
      await waitFor(
        () => atObserver.count() > relayedBefore,
        'the accepted adverts to be relayed to the observer'
      )
      await new Promise((resolve) => setTimeout(resolve, 1_000))
      const heard =
        atObserver.count() -
        relayedBefore +
        (await counter(observer, 'ignore', 'rate_limited')) -
        observerLimitedBefore
      assert.ok(
        heard <= accepted,
        `the observer heard ${heard} adverts of the flood, the target accepted ${accepted}`
      )
      assert.equal(
        observer.node.getConnections(origin).length,
        0,
        'the observer heard the flooding peer only through the target'
      )

      // the daemon keeps serving, and the limit is a rate, not a ban
      const status = await observer.statusClient.request(target.node.peerId)
      assert.equal(status.peerId, target.node.peerId.toString())
      assert.ok(target.capacity.peers.get(observer.node.peerId.toString()), 'the observer is still listed')
      const before = atTarget.count()
      await new Promise((resolve) => setTimeout(resolve, intervalMs / ADVERTS_PER_INTERVAL))
      await host.services.pubsub.publish(
        topic,
        CapacityAdvert.encode(makeAdvert({ seq: base + 1_000n, unitsTotal: 3, unitsFree: 3 }))
      )
      await waitFor(() => atTarget.count() > before, 'an advert at an honest pace to be accepted again')
      assert.equal(target.capacity.peers.get(origin.toString())?.advert.unitsTotal, 3)
    } finally {
      atTarget.stop()
      atObserver.stop()
    }
  })
})
