import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { KEEP_ALIVE, type PeerInfo, type Stream } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { DiscoveryDialer } from '../../src/net/discovery-dialer.js'
import { createHost, type ProofmeshHost } from '../../src/net/host.js'
import { testLogger, waitFor } from '../helpers/network.js'

const BUSY_PROTOCOL = '/proofmesh-test/busy/1.0.0'

async function host(): Promise<ProofmeshHost> {
  const node = await createHost({
    privateKey: await generateKeyPair('Ed25519'),
    listen: ['/ip4/127.0.0.1/tcp/0'],
    dht: false,
    logger: testLogger
  })
  await node.handle(BUSY_PROTOCOL, () => undefined)
  return node
}

/** gossipsub opens a stream on every new connection; one still negotiating has no protocol yet and counts as busy */
async function streamsSettled(node: ProofmeshHost): Promise<void> {
  await waitFor(
    () => node.getConnections().every((c) => c.streams.every((stream) => (stream.protocol ?? '') !== '')),
    'streams to settle',
    5_000
  )
}

describe('closing idle connections (the DiscoveryDialer)', () => {
  let hub: ProofmeshHost
  let others: ProofmeshHost[]
  let dialer: DiscoveryDialer

  before(async () => {
    hub = await host()
    others = await Promise.all(Array.from({ length: 6 }, async () => host()))
    // no trimming on a timer: the test calls it; redials come fast, so one would show within the test
    dialer = new DiscoveryDialer(hub, {
      logger: testLogger,
      minConnections: 1,
      maxIdleConnections: 2,
      idleGraceMs: 0,
      trimIntervalMs: 3_600_000,
      retryMs: 20
    })
    dialer.start()
  })

  after(async () => {
    dialer.stop()
    await Promise.all([hub, ...others].map(async (node) => node.stop()))
  })

  const connected = (): number => hub.getConnections().filter((c) => c.status === 'open').length

  it('closes only the surplus of idle connections it dialled, and does not dial them again', async () => {
    const [inbound, busy, ...rest] = others as [ProofmeshHost, ProofmeshHost, ...ProofmeshHost[]]
    // one connection the peer opened, one carrying a stream of a real protocol, four idle ones the hub opened
    await inbound.dial(hub.getMultiaddrs())
    const busyStream: Stream = await hub.dialProtocol(busy.getMultiaddrs(), BUSY_PROTOCOL)
    for (const node of rest) await hub.dial(node.getMultiaddrs())
    await waitFor(() => connected() === 6, 'six connections', 5_000)
    await streamsSettled(hub)

    const closed = await dialer.trimIdleConnections()
    assert.equal(closed, 4, 'six connections, two allowed: four closed')
    await waitFor(() => connected() === 2, 'two connections left', 5_000)
    assert.equal(hub.getConnections(inbound.peerId).length, 1, 'the connection the peer opened stays')
    assert.equal(hub.getConnections(busy.peerId).length, 1, 'the connection with a stream in use stays')
    // wait past several redial delays (20, 40, 80 ms...): none of the closed peers comes back
    await new Promise((resolve) => setTimeout(resolve, 500))
    for (const node of rest) assert.equal(hub.getConnections(node.peerId).length, 0)
    assert.equal(await dialer.trimIdleConnections(), 0, 'nothing over the cap: nothing closed')
    await busyStream.close()
  })

  it('takes kad-dht\u2019s keep-alive tag off a peer, so that closing its connection does not re-dial it', async () => {
    const peer = others[2]!
    await hub.peerStore.merge(peer.peerId, { tags: { [`${KEEP_ALIVE}-kad-dht`]: { value: 1 } } })
    await waitFor(
      async () => !(await hub.peerStore.get(peer.peerId)).tags.has(`${KEEP_ALIVE}-kad-dht`),
      'the keep-alive tag to be removed',
      5_000
    )
  })

  it('closes idle connections peers opened only above twice the cap, oldest first, down to twice the cap', async () => {
    // a seed: everyone dialled it
    const seed = await host()
    const seedDialer = new DiscoveryDialer(seed, {
      logger: testLogger,
      minConnections: 1,
      maxIdleConnections: 2,
      idleGraceMs: 0,
      trimIntervalMs: 3_600_000
    })
    try {
      for (const node of others) {
        await node.dial(seed.getMultiaddrs())
        await new Promise((resolve) => setTimeout(resolve, 5))
      }
      const open = (): number => seed.getConnections().filter((c) => c.status === 'open').length
      await waitFor(() => open() === 6, 'six connections to the seed', 5_000)
      await streamsSettled(seed)
      assert.equal(
        await seedDialer.trimIdleConnections(),
        2,
        'six inbound, twice the cap is four: two closed'
      )
      await waitFor(() => open() === 4, 'four connections left', 5_000)
      for (const node of others.slice(0, 2)) assert.equal(seed.getConnections(node.peerId).length, 0)
      assert.equal(await seedDialer.trimIdleConnections(), 0, 'at twice the cap: nothing closed')
    } finally {
      await seed.stop()
    }
  })

  it('closes nothing at or under the cap', async () => {
    const fresh = new DiscoveryDialer(hub, {
      logger: testLogger,
      minConnections: 1,
      maxIdleConnections: 8,
      idleGraceMs: 0
    })
    for (const node of others.slice(2)) await hub.dial(node.getMultiaddrs())
    assert.equal(await fresh.trimIdleConnections(), 0)
    assert.ok(connected() >= 5)
  })
})

describe('dialling discovered peers (the DiscoveryDialer)', () => {
  let hub: ProofmeshHost
  let dialer: DiscoveryDialer
  let refuser: Server
  let accepted = 0

  before(async () => {
    hub = await host()
    dialer = new DiscoveryDialer(hub, { logger: testLogger, failedDialBackoffMs: 400 })
    dialer.start()
    // a "peer" whose every connection is cut at once, as a peer that denies us or a stale address does
    refuser = createServer((socket) => {
      accepted++
      socket.destroy()
    })
    await new Promise<void>((resolve) => refuser.listen(0, '127.0.0.1', resolve))
  })

  after(async () => {
    dialer.stop()
    await hub.stop()
    await new Promise((resolve) => refuser.close(resolve))
  })

  it('does not dial a peer again while its last dial failure is recent, then tries once more', async () => {
    const id = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const address = refuser.address()
    assert.ok(address !== null && typeof address === 'object')
    const found: PeerInfo = {
      id,
      multiaddrs: [multiaddr(`/ip4/127.0.0.1/tcp/${address.port}/p2p/${id.toString()}`)]
    }
    const discover = (): boolean => hub.dispatchEvent(new CustomEvent('peer:discovery', { detail: found }))

    discover()
    await waitFor(() => accepted === 1, 'the first dial', 5_000)
    // the DHT announces the same peer again and again: within the backoff, no new dial
    for (let i = 0; i < 5; i++) {
      await new Promise((resolve) => setTimeout(resolve, 40))
      discover()
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
    assert.equal(accepted, 1, 'one dial within the backoff')
    // past it (400 ms after the failure), one more try; then the backoff doubles
    await new Promise((resolve) => setTimeout(resolve, 400))
    discover()
    await waitFor(() => accepted === 2, 'the dial after the backoff', 5_000)
    await new Promise((resolve) => setTimeout(resolve, 500))
    discover()
    await new Promise((resolve) => setTimeout(resolve, 100))
    assert.equal(accepted, 2, 'the second backoff is 800 ms')
  })
})
