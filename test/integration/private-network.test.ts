import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { noise } from '@libp2p/noise'
import { preSharedKey } from '@libp2p/pnet'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import type { PeerId } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr'
import { createLibp2p, type Libp2p } from 'libp2p'
import type { InputsHeader } from '../../protocols/inputs/pb/inputs.js'
import { writeRandomFile } from '../../node/random-file.js'
import type { Daemon } from '../../src/daemon/daemon.js'
import { FramedStream } from '../../src/net/framed-stream.js'
import { createHost, type ProofmeshHost } from '../../src/net/host.js'
import { readSwarmKey, SwarmKeyError, writeSwarmKey } from '../../src/net/swarm-key.js'
import { readSliceHeader, receiveSlice, sendSlice } from '../../protocols/inputs/codec.js'
import { INPUTS_PROTOCOL } from '../../protocols/inputs/constants.js'
import { hashFileRange } from '../../src/files/file-range.js'
import { openFileSink } from '../../src/files/file-sink.js'
import { multiaddrOf, startTestNode, stopAll, testLogger, waitFor } from '../helpers/network.js'

const MIB = 1024 * 1024
/** What the load test moves in all (≥ 256 MiB by default; PROOFMESH_TEST_PNET_MIB for a bigger run) */
const LOAD_MIB = Number(process.env.PROOFMESH_TEST_PNET_MIB ?? 256)
/** Connections opened and closed after the bytes (PROOFMESH_TEST_PNET_CONNECTIONS) */
const LOAD_CONNECTIONS = Number(process.env.PROOFMESH_TEST_PNET_CONNECTIONS ?? 1000)
const SLICE_MIB = 16
const SENDERS = 4

/** A leak of 32 KiB per connection over the connections opened and closed would pass this */
const MAX_HEAP_GROWTH_MIB = 32

// The V8 heap after a full collection, so that what the connections leave behind is told from garbage not yet
// collected (RSS alone moved by ±80 MiB between runs of the same code)
setFlagsFromString('--expose-gc')
const collectGarbage = runInNewContext('gc') as () => void
const heapMiB = (): number => {
  collectGarbage()
  return Math.round(process.memoryUsage().heapUsed / MIB)
}
const rssMiB = (): number => Math.round(process.memoryUsage().rss / MIB)

/**
 * A one-message echo, so that every connection carries bytes both ways through the protector. Not ping:
 * libp2p's connection monitor pings on its own, and a second ping stream on a connection aborts it.
 */
const ECHO_PROTOCOL = '/proofmesh-test/echo/1.0.0'

async function serveEcho(node: Libp2p): Promise<void> {
  await node.handle(
    ECHO_PROTOCOL,
    async (stream) => {
      const lp = lpStream(stream, { maxDataLength: 1024 })
      const signal = AbortSignal.timeout(30_000)
      await lp.write(await lp.read({ signal }), { signal })
      await stream.close({ signal })
    },
    { maxInboundStreams: 64 }
  )
}

async function echo(node: Libp2p, target: Multiaddr | PeerId): Promise<void> {
  const signal = AbortSignal.timeout(30_000)
  const lp = lpStream(await node.dialProtocol(target, ECHO_PROTOCOL, { signal }), { maxDataLength: 1024 })
  const sent = randomBytes(64)
  await lp.write(sent, { signal })
  assert.ok(sent.equals((await lp.read({ signal })).subarray()), 'the echo carries the same bytes back')
  await lp.unwrap().close({ signal })
}

describe('a private network (pre-shared swarm key)', () => {
  let keyDir: string
  let keyPath: string
  const daemons: Daemon[] = []

  before(async () => {
    keyDir = await mkdtemp(join(tmpdir(), 'proofmesh-psk-'))
    keyPath = join(keyDir, 'swarm.key')
    await writeSwarmKey(keyPath)
  })

  after(async () => {
    await stopAll(daemons)
    await rm(keyDir, { recursive: true, force: true })
  })

  it('lets a node with the key join and see the others', async () => {
    const first = await startTestNode({ overrides: { net: { swarmKey: keyPath } } })
    daemons.push(first)
    const second = await startTestNode({
      overrides: { net: { swarmKey: keyPath, bootstrap: [multiaddrOf(first)] } }
    })
    daemons.push(second)
    await waitFor(
      () => first.capacity.peers.size === 1 && second.capacity.peers.size === 1,
      'the two keyed nodes to see each other'
    )
  })

  it('keeps out a node without the key', async () => {
    const first = daemons[0]
    assert.ok(first)
    const outsider = await startTestNode()
    daemons.push(outsider)
    await assert.rejects(
      outsider.node.dial(multiaddr(multiaddrOf(first)), { signal: AbortSignal.timeout(5_000) })
    )
    assert.equal(first.node.getConnections(outsider.node.peerId).length, 0)
    assert.equal(first.capacity.peers.get(outsider.node.peerId.toString()), undefined)
  })

  it('keeps out a node with a different key, with an error on the dialling side and nothing lost on ours', async () => {
    const first = daemons[0]
    assert.ok(first)
    const otherKey = join(keyDir, 'other.key')
    await writeSwarmKey(otherKey)
    const outsider = await startTestNode({ overrides: { net: { swarmKey: otherKey } } })
    daemons.push(outsider)
    await assert.rejects(
      outsider.node.dial(multiaddr(multiaddrOf(first)), { signal: AbortSignal.timeout(5_000) })
    )
    assert.equal(first.capacity.peers.get(outsider.node.peerId.toString()), undefined)
    // and the keyed network still works, both ways
    const second = daemons[1]
    assert.ok(second)
    await Promise.all([serveEcho(first.node), serveEcho(second.node)])
    await echo(first.node, second.node.peerId)
    await echo(second.node, first.node.peerId)
  })

  it('talks to a libp2p node that uses @libp2p/pnet with the same key file, either one dialling', async () => {
    const first = daemons[0]
    assert.ok(first)
    const theirs = await createLibp2p({
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionProtector: preSharedKey({ psk: await readFile(keyPath) })
    })
    try {
      await serveEcho(theirs)
      await echo(theirs, multiaddr(multiaddrOf(first)))
      await theirs.hangUp(first.node.peerId)
      await waitFor(
        () => first.node.getConnections(theirs.peerId).length === 0,
        'the connection @libp2p/pnet dialled to close'
      )
      const address = theirs.getMultiaddrs()[0]
      assert.ok(address)
      await echo(first.node, address)
    } finally {
      await theirs.stop()
    }
  })

  it(`moves ${LOAD_MIB} MiB over many connections and opens and closes ${LOAD_CONNECTIONS} more, in bounded memory`, async (t) => {
    const swarmKey = await readSwarmKey(keyPath)
    const startHost = async (): Promise<ProofmeshHost> =>
      createHost({
        privateKey: await generateKeyPair('Ed25519'),
        listen: ['/ip4/127.0.0.1/tcp/0'],
        dht: false,
        swarmKey,
        logger: testLogger
      })
    const receiver = await startHost()
    await serveEcho(receiver)
    const senders = await Promise.all(Array.from({ length: SENDERS }, startHost))
    const source = join(keyDir, 'slice')
    try {
      await writeRandomFile(source, SLICE_MIB * MIB)
      const sha256 = await hashFileRange(source, 0, SLICE_MIB * MIB)
      let received = 0
      let slice = 0
      // the daemon's own inputs path: FramedStream, receiveSlice into a file sink that checks the SHA-256
      await receiver.handle(
        INPUTS_PROTOCOL,
        (stream) => {
          const framed = new FramedStream(stream)
          const dest = join(keyDir, `received-${slice++}`)
          const signal = AbortSignal.timeout(300_000)
          void (async () => {
            const header = await readSliceHeader(framed, signal)
            const sink = await openFileSink({ path: dest, maxBytes: Number(header.length) })
            await receiveSlice(framed, header, sink, signal)
            received += Number(header.length)
            await framed.close(signal).catch(() => undefined)
          })()
            .catch((err: unknown) => stream.abort(err as Error))
            .finally(() => rm(dest, { force: true }))
        },
        { maxInboundStreams: SENDERS, maxOutboundStreams: SENDERS }
      )
      const address = receiver.getMultiaddrs()[0]
      assert.ok(address)
      const rss = { start: rssMiB(), afterBytes: 0, afterConnections: 0, peak: rssMiB() }
      const heap = { afterBytes: 0, afterConnections: 0 }
      const seconds = { bytes: 0, connections: 0 }
      const sampler = setInterval(() => {
        rss.peak = Math.max(rss.peak, rssMiB())
      }, 100)
      try {
        // every sender at once, one new connection per slice: several connections carry megabytes at a time
        const rounds = Math.ceil(LOAD_MIB / SLICE_MIB / SENDERS)
        let started = performance.now()
        await Promise.all(
          senders.map(async (sender, index) => {
            for (let round = 0; round < rounds; round++) {
              const signal = AbortSignal.timeout(300_000)
              const stream = await sender.dialProtocol(address, INPUTS_PROTOCOL, { signal })
              const header: InputsHeader = {
                jobId: `load-${index}`,
                segment: round,
                offset: 0n,
                length: BigInt(SLICE_MIB * MIB),
                total: BigInt(SLICE_MIB * MIB),
                sha256: new Uint8Array(sha256)
              }
              await sendSlice(new FramedStream(stream), header, { path: source, offset: 0 }, signal)
              await sender.hangUp(receiver.peerId)
            }
          })
        )
        seconds.bytes = (performance.now() - started) / 1000
        assert.equal(received, rounds * SENDERS * SLICE_MIB * MIB, 'every byte arrived and was checked')
        rss.afterBytes = rssMiB()
        heap.afterBytes = heapMiB()
        // then many short connections, each carrying an echo
        started = performance.now()
        let opened = 0
        await Promise.all(
          senders.map(async (sender) => {
            while (opened < LOAD_CONNECTIONS) {
              opened++
              await echo(sender, address)
              await sender.hangUp(receiver.peerId)
            }
          })
        )
        await waitFor(
          () => receiver.getConnections().length === 0,
          'the receiver to see every connection closed',
          30_000
        )
        seconds.connections = (performance.now() - started) / 1000
        rss.afterConnections = rssMiB()
        heap.afterConnections = heapMiB()
      } finally {
        clearInterval(sampler)
      }
      t.diagnostic(
        `${received / MIB} MiB over ${received / MIB / SLICE_MIB} connections in ${seconds.bytes.toFixed(1)} s, then ${LOAD_CONNECTIONS} connections in ${seconds.connections.toFixed(1)} s; one process holds all ${SENDERS + 1} hosts`
      )
      t.diagnostic(
        `RSS MiB: start ${rss.start}, after the bytes ${rss.afterBytes}, after the connections ${rss.afterConnections}, peak ${rss.peak}; heap after a full GC: ${heap.afterBytes} then ${heap.afterConnections}`
      )
      assert.ok(
        heap.afterConnections - heap.afterBytes <= MAX_HEAP_GROWTH_MIB,
        `the heap grew by ${heap.afterConnections - heap.afterBytes} MiB over ${LOAD_CONNECTIONS} closed connections`
      )
      // the hosts are still up and talking
      for (const sender of senders) {
        await echo(sender, address)
      }
    } finally {
      await Promise.all([receiver, ...senders].map(async (host) => host.stop()))
      await rm(source, { force: true })
    }
  })

  it('refuses a swarm key file that is not one, naming the file', async () => {
    const bad = join(keyDir, 'bad.key')
    await writeFile(bad, 'not a key\n')
    await assert.rejects(
      readSwarmKey(bad),
      (err: Error) => err instanceof SwarmKeyError && err.message.includes(bad)
    )
    await assert.rejects(writeSwarmKey(keyPath), { code: 'EEXIST' })
  })
})
