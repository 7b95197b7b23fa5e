import '../../src/polyfill.js'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import type { ConnectionProtector, MessageStream, MultiaddrConnection } from '@libp2p/interface'
import { preSharedKey } from '@libp2p/pnet'
import { multiaddrConnectionPair } from '@libp2p/utils'
import { xsalsa20 } from '@noble/ciphers/salsa.js'
import { Uint8ArrayList } from 'uint8arraylist'
import {
  KEY_BYTES,
  NonceExchangeError,
  NONCE_BYTES,
  privateNetwork,
  XSalsa20Stream
} from '../../src/net/private-network.js'

const MIB = 1024 * 1024

function newKey(): Uint8Array {
  return new Uint8Array(randomBytes(KEY_BYTES))
}

/** The same key as @libp2p/pnet takes it: a swarm.key file's bytes */
function swarmKeyFile(key: Uint8Array): Uint8Array {
  return new TextEncoder().encode(`/key/swarm/psk/1.0.0/\n/base16/\n${Buffer.from(key).toString('hex')}`)
}

const ours = (key: Uint8Array): ConnectionProtector => privateNetwork({ key })()
const upstream = (key: Uint8Array): ConnectionProtector => preSharedKey({ psk: swarmKeyFile(key) })()

/** Message sizes around the 64-byte block and the 64 KiB the old cipher's memory started with */
const SIZES = [1, 2, 63, 64, 65, 127, 1000, 4096, 65535, 65536, 65537, 200_000]

/** Everything a stream delivers until `count` bytes have come, or what it had when it closed early */
async function receive(stream: MessageStream, count: number): Promise<Uint8Array> {
  const received = new Uint8ArrayList()
  return new Promise((resolve, reject) => {
    const finish = (): void => {
      if (received.byteLength >= count) resolve(received.subarray())
    }
    stream.addEventListener('message', (event) => {
      received.append(event.data)
      finish()
    })
    stream.addEventListener('close', (event) => {
      if (received.byteLength < count) {
        reject(
          new Error(
            `closed after ${received.byteLength} of ${count} bytes (${event.error?.message ?? 'clean'})`
          )
        )
      }
    })
    finish()
  })
}

/** Sends each message in turn, waiting for drain when the stream asks to */
async function sendAll(stream: MessageStream, messages: Uint8Array[]): Promise<void> {
  for (const message of messages) {
    if (!stream.send(message)) await stream.onDrain({ signal: AbortSignal.timeout(30_000) })
  }
}

function messagesOf(sizes: number[]): Uint8Array[] {
  return sizes.map((size) => new Uint8Array(randomBytes(size)))
}

function concat(messages: Uint8Array[]): Uint8Array {
  return new Uint8ArrayList(...messages).subarray()
}

async function protectPair(
  outboundProtector: ConnectionProtector,
  inboundProtector: ConnectionProtector,
  pair: [MultiaddrConnection, MultiaddrConnection] = multiaddrConnectionPair()
): Promise<[MessageStream, MessageStream]> {
  const [outbound, inbound] = pair
  return Promise.all([outboundProtector.protect(outbound), inboundProtector.protect(inbound)])
}

/** Both sides send their messages at once; each must receive exactly the other's bytes */
async function exchange(a: MessageStream, b: MessageStream, sizes: number[]): Promise<void> {
  const fromA = messagesOf(sizes)
  const fromB = messagesOf([...sizes].reverse())
  const [atB, atA] = await Promise.all([
    receive(b, concat(fromA).byteLength),
    receive(a, concat(fromB).byteLength),
    sendAll(a, fromA),
    sendAll(b, fromB)
  ])
  assert.deepEqual(atB, concat(fromA), 'what the first side sent arrives intact')
  assert.deepEqual(atA, concat(fromB), 'what the second side sent arrives intact')
}

describe('XSalsa20Stream', () => {
  it('gives the same bytes as one XSalsa20 pass over the whole stream, however it is split', () => {
    const key = newKey()
    const nonce = new Uint8Array(randomBytes(NONCE_BYTES))
    const plain = new Uint8Array(randomBytes(300_000))
    const expected = xsalsa20(key, nonce, plain)
    // every rotation of these sizes, alternately as one buffer and as a list of chunks (what a muxer hands over)
    const pattern = [0, 1, 3, 63, 64, 65, 1000, 4097, 65536, 70_001]
    for (let rotation = 0; rotation < pattern.length; rotation++) {
      const stream = new XSalsa20Stream(key, nonce)
      const parts: Uint8Array[] = []
      for (let at = 0, i = rotation; at < plain.byteLength; i++) {
        const size = Math.min(plain.byteLength - at, pattern[i % pattern.length] ?? 0)
        const piece = plain.subarray(at, at + size)
        parts.push(
          stream.xor(i % 2 === 0 ? piece : new Uint8ArrayList(piece.subarray(0, 1), piece.subarray(1)))
        )
        at += size
      }
      assert.deepEqual(concat(parts), expected, `sizes from rotation ${rotation}`)
    }
  })

  it('turns its own output back into the input with the same key and nonce', () => {
    const key = newKey()
    const nonce = new Uint8Array(randomBytes(NONCE_BYTES))
    const plain = new Uint8Array(randomBytes(10_000))
    const sealed = new XSalsa20Stream(key, nonce).xor(plain)
    assert.notDeepEqual(sealed, plain)
    assert.deepEqual(new XSalsa20Stream(key, nonce).xor(sealed), plain)
  })
})

describe('the private-network protector', () => {
  it('talks to @libp2p/pnet both ways: ours dialling theirs, and theirs dialling ours', async () => {
    const key = newKey()
    await exchange(...(await protectPair(ours(key), upstream(key))), SIZES)
    await exchange(...(await protectPair(upstream(key), ours(key))), SIZES)
  })

  it('talks to itself with messages split anywhere', async () => {
    const key = newKey()
    await exchange(...(await protectPair(ours(key), ours(key))), [...SIZES, ...SIZES])
  })

  it('carries a 70 MiB message, more than the old cipher memory could ever hold (62.5 MiB)', async () => {
    const key = newKey()
    const [a, b] = await protectPair(ours(key), ours(key))
    const message = new Uint8Array(randomBytes(70 * MIB))
    const [received] = await Promise.all([receive(b, message.byteLength), sendAll(a, [message])])
    assert.equal(received.byteLength, message.byteLength)
    assert.ok(Buffer.from(received).equals(message), 'the bytes themselves arrive, not just their count')
  })

  it('with a wrong key, exchanges nonces and delivers only noise, and neither side throws', async () => {
    const [a, b] = await protectPair(ours(newKey()), ours(newKey()))
    const sent = new Uint8Array(randomBytes(4096))
    const [received] = await Promise.all([receive(b, sent.byteLength), sendAll(a, [sent])])
    assert.equal(received.byteLength, sent.byteLength)
    assert.notDeepEqual(received, sent, 'a peer with another key reads nothing of what was sent')
    const [c, d] = await protectPair(upstream(newKey()), ours(newKey()))
    const [fromUpstream] = await Promise.all([receive(d, sent.byteLength), sendAll(c, [sent])])
    assert.notDeepEqual(fromUpstream, sent)
  })

  it('fails with a NonceExchangeError, not a crash, when the remote closes before its nonce', async () => {
    const [outbound, inbound] = multiaddrConnectionPair()
    const refused = assert.rejects(ours(newKey()).protect(outbound), (err: Error) => {
      assert.ok(err instanceof NonceExchangeError, `${err.name}: ${err.message}`)
      assert.match(err.message, /no nonce from \/ip4\/127\.0\.0\.1/)
      return true
    })
    // 10 of the 24 nonce bytes, then the end of the connection
    inbound.send(new Uint8Array(10))
    await inbound.close()
    await refused
  })

  it('gives up on a remote that never sends its nonce, at its deadline or the caller’s', async () => {
    const [outbound] = multiaddrConnectionPair()
    await assert.rejects(
      privateNetwork({ key: newKey(), nonceExchangeTimeoutMs: 100 })().protect(outbound),
      NonceExchangeError
    )
    const [second] = multiaddrConnectionPair()
    await assert.rejects(
      ours(newKey()).protect(second, { signal: AbortSignal.timeout(100) }),
      NonceExchangeError
    )
  })

  it('refuses a key that is not 32 bytes', () => {
    assert.throws(() => privateNetwork({ key: new Uint8Array(31) }), RangeError)
    assert.throws(() => privateNetwork({ key: swarmKeyFile(newKey()) }), RangeError)
  })
})
