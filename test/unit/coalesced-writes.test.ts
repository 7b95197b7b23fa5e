import '../../src/polyfill.js'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import type { Socket } from 'node:net'
import { describe, it } from 'node:test'
import type { Connection, MultiaddrConnection, Upgrader } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { Uint8ArrayList } from 'uint8arraylist'
import { createLogger } from '../../src/log/index.js'
import { coalescingTransport } from '../../src/net/coalesced-writes.js'
import { pinoComponentLogger } from '../../src/net/libp2p-logger.js'

const logger = pinoComponentLogger(createLogger({ level: 'silent' }))

interface Pair {
  /** The dialling end's connection, as the upgrader received it */
  outbound: MultiaddrConnection
  /** The accepting end's */
  inbound: MultiaddrConnection
  close: () => Promise<void>
}

/** The socket under a connection of @libp2p/tcp */
function socketOf(connection: MultiaddrConnection): Socket {
  return (connection as unknown as { socket: Socket }).socket
}

/**
 * Two connections of a real TCP transport on 127.0.0.1 (coalescing or tcp() as it is), each taken from the
 * upgrader as libp2p's would receive it, before any encryption
 */
async function connectedPair(coalescing: boolean): Promise<Pair> {
  const factory = tcp()
  const transport = (coalescing ? coalescingTransport(factory) : factory)({ logger })
  const accepted = Promise.withResolvers<MultiaddrConnection>()
  const upgrader = (onInbound: (c: MultiaddrConnection) => void): Upgrader =>
    ({
      upgradeInbound: async (connection: MultiaddrConnection) => {
        onInbound(connection)
      },
      upgradeOutbound: async (connection: MultiaddrConnection) => connection as unknown as Connection
    }) as unknown as Upgrader
  const listener = transport.createListener({ upgrader: upgrader(accepted.resolve) })
  await listener.listen(multiaddr('/ip4/127.0.0.1/tcp/0'))
  const address = listener.getAddrs()[0]
  assert.ok(address !== undefined)
  const outbound = (await transport.dial(address, {
    upgrader: upgrader(() => undefined),
    signal: AbortSignal.timeout(10_000)
  })) as unknown as MultiaddrConnection
  const inbound = await accepted.promise
  return {
    outbound,
    inbound,
    close: async () => {
      outbound.abort(new Error('test over'))
      inbound.abort(new Error('test over'))
      await listener.close()
    }
  }
}

/** Everything a connection receives, as one buffer once `bytes` have arrived */
async function receive(connection: MultiaddrConnection, bytes: number): Promise<Buffer> {
  const received = new Uint8ArrayList()
  const done = Promise.withResolvers<Buffer>()
  connection.addEventListener('message', (event) => {
    received.append(event.data)
    if (received.byteLength >= bytes) done.resolve(Buffer.from(received.subarray()))
  })
  connection.addEventListener('close', () => {
    done.reject(new Error(`closed after ${received.byteLength} of ${bytes} bytes`))
  })
  return done.promise
}

/** Sends every list, waiting for 'drain' whenever the connection asks to */
async function sendAll(connection: MultiaddrConnection, lists: Uint8ArrayList[]): Promise<void> {
  for (const list of lists) if (!connection.send(list)) await connection.onDrain()
}

const digest = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')

describe('coalesced socket writes', () => {
  it('delivers interleaved small and large writes intact and in order', async () => {
    const pair = await connectedPair(true)
    try {
      // Noise's shape (a 2-byte length, then a frame) and bulk pieces, sent in bursts within one tick and alone
      const sizes = [1, 2, 17, 1_000, 65_535, 3, 300_000, 2, 40, 1_048_576, 5, 16_384, 16_385, 7]
      const lists = sizes.map((size) => new Uint8ArrayList(randomBytes(2), randomBytes(size)))
      const expected = Buffer.concat(lists.map((list) => list.subarray()))
      const arrived = receive(pair.inbound, expected.byteLength)
      for (let burst = 0; burst < lists.length; burst += 3) {
        await sendAll(pair.outbound, lists.slice(burst, burst + 3))
        await new Promise((resolve) => setImmediate(resolve))
      }
      const bytes = await arrived
      assert.equal(bytes.byteLength, expected.byteLength)
      assert.equal(digest(bytes), digest(expected))
    } finally {
      await pair.close()
    }
  })

  it("writes one tick's buffers in one system call, where tcp() made one each", async () => {
    const frames = Array.from({ length: 10 }, () => new Uint8ArrayList(randomBytes(2), randomBytes(200)))
    const bytes = frames.reduce((sum, list) => sum + list.byteLength, 0)
    const calls = async (coalescing: boolean): Promise<{ write: number; writev: number }> => {
      const pair = await connectedPair(coalescing)
      try {
        // Node's Writable calls _write for one buffer and _writev for several: one system call each
        const socket = socketOf(pair.outbound) as Socket & {
          _write: (...args: unknown[]) => void
          _writev: (...args: unknown[]) => void
        }
        const counted = { write: 0, writev: 0 }
        const write = socket._write.bind(socket)
        const writev = socket._writev.bind(socket)
        socket._write = (...args) => {
          counted.write++
          write(...args)
        }
        socket._writev = (...args) => {
          counted.writev++
          writev(...args)
        }
        const arrived = receive(pair.inbound, bytes)
        for (const frame of frames) assert.equal(pair.outbound.send(frame), true)
        await arrived
        return counted
      } finally {
        await pair.close()
      }
    }
    assert.deepEqual(await calls(false), { write: 20, writev: 0 })
    assert.deepEqual(await calls(true), { write: 0, writev: 1 })
  })

  it('stops a sender whose reader stalls, and loses nothing once it reads again', async () => {
    const pair = await connectedPair(true)
    try {
      const socket = socketOf(pair.outbound)
      pair.inbound.pause()
      const piece = randomBytes(64 * 1024)
      const cap = 1_000
      let sent = 0
      while (sent < cap && pair.outbound.send(new Uint8ArrayList(piece))) sent++
      assert.ok(sent < cap, 'send() asked the sender to wait')
      // What the corked socket holds stays within its high-water mark and the piece that crossed it
      assert.ok(socket.writableLength <= socket.writableHighWaterMark + piece.byteLength)
      const total = (sent + 1) * piece.byteLength
      const arrived = receive(pair.inbound, total)
      pair.inbound.resume()
      await pair.outbound.onDrain()
      const bytes = await arrived
      assert.equal(bytes.byteLength, total)
      for (let offset = 0; offset < total; offset += piece.byteLength)
        assert.ok(bytes.subarray(offset, offset + piece.byteLength).equals(piece), `piece at ${offset}`)
    } finally {
      await pair.close()
    }
  })

  it('fails a connection whose peer reset it, instead of holding what it writes', async () => {
    const pair = await connectedPair(true)
    try {
      const closed = Promise.withResolvers<Error | undefined>()
      pair.outbound.addEventListener('close', (event) => {
        closed.resolve(event.error)
      })
      socketOf(pair.inbound).resetAndDestroy()
      // writes into a reset socket: the error surfaces on the connection once a write reaches the kernel
      const writes = setInterval(() => {
        if (pair.outbound.status === 'open') pair.outbound.send(new Uint8ArrayList(randomBytes(1_000)))
      }, 10)
      try {
        const error = await closed.promise
        assert.notEqual(pair.outbound.status, 'open')
        assert.ok(error instanceof Error, `closed with ${String(error)}`)
      } finally {
        clearInterval(writes)
      }
    } finally {
      await pair.close()
    }
  })
})
