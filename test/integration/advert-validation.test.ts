import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { type GossipSub, gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p, type Libp2p } from 'libp2p'
import { CapacityAdvert } from '../../protocols/capacity/pb/capacity.js'
import { capacityTopic, MAX_ADVERT_BYTES } from '../../src/capacity/constants.js'
import type { Daemon } from '../../src/daemon/daemon.js'
import { createHost } from '../../src/net/host.js'

type Attacker = Libp2p<{ pubsub: GossipSub }>

import { makeAdvert } from '../helpers/adverts.js'
import { multiaddrOf, startTestNode, stopAll, testLogger, waitFor } from '../helpers/network.js'

const topic = capacityTopic()

async function counter(daemon: Daemon, result: string, reason: string): Promise<number> {
  const { body } = await daemon.metrics()
  const line = body
    .split('\n')
    .find((l) => l.startsWith(`proofmesh_adverts_received_total{result="${result}",reason="${reason}"}`))
  return line === undefined ? 0 : Number(line.split(' ').pop())
}

/** A peer that speaks the protocols but not honestly; StrictNoSign makes it publish unsigned messages */
async function attacker(target: Daemon, signaturePolicy: 'StrictSign' | 'StrictNoSign'): Promise<Attacker> {
  const host =
    signaturePolicy === 'StrictSign'
      ? await createHost({
          privateKey: await generateKeyPair('Ed25519'),
          listen: ['/ip4/127.0.0.1/tcp/0'],
          dht: false,
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
    assert.equal(daemon.capacity.peers.size, 2, 'only the honest peer and the signed test peer are listed')
  })
})
