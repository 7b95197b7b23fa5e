/**
 * A private network's connection protector, wire-compatible with libp2p pnet (go-libp2p, js-libp2p): each side
 * sends a random 24-byte nonce in the clear, then everything it sends is XORed with the XSalsa20 keystream of
 * (swarm key, its own nonce), from byte 0 of the stream. A peer without the key reads noise and the Noise
 * handshake that follows fails.
 *
 * Why our own and not @libp2p/pnet (3.0.27): its cipher, the `xsalsa20` package, keeps every connection's
 * state in one WebAssembly memory per process that grows to the largest message passed and, past 62.5 MiB,
 * throws an uncaught RangeError (a 16 MiB job killed its submitter); a growth also leaves the other ciphers
 * holding a stale view of that memory, and a cipher's slot is never given back (two per connection).
 * js-libp2p pull request 3585 fixes it with 64 KiB windows and finalize() but no release carries it; patching
 * node_modules on every install would keep that fragile shared memory. Here each direction is a position in
 * the stream and nothing else: the keystream comes from @noble/ciphers (audited, pure JS, already installed
 * for Noise), a message costs one buffer of its own size, and a closed connection leaves nothing to release.
 * The price is speed: a pure-JS cipher pass over every byte each way (test/bench/inputs-throughput measures a
 * private-network stream against a public one). It can go once a @libp2p/pnet release carries the fix.
 */
import type { AbortOptions, ConnectionProtector, MessageStream, MultiaddrConnection } from '@libp2p/interface'
import { AbstractMultiaddrConnection, byteStream, type SendResult } from '@libp2p/utils'
import { xsalsa20 } from '@noble/ciphers/salsa.js'
import type { Uint8ArrayList } from 'uint8arraylist'

export const KEY_BYTES = 32
export const NONCE_BYTES = 24
const BLOCK_BYTES = 64
/**
 * @noble/ciphers counts XSalsa20 blocks in 32 bits (pnet's keystream counter is 64 bits wide): 2^32 − 1
 * blocks, 256 GiB, per direction of one connection. Past that the connection ends with an error rather
 * than reuse a keystream; libp2p dials a new one (new nonces) when it is next needed.
 */
const MAX_STREAM_BYTES = (2 ** 32 - 1) * BLOCK_BYTES

export const privateNetworkDefaults = {
  /**
   * Both nonces (24 bytes each way) must cross within this; libp2p's own upgrade deadline usually ends it
   * first. Generous because a saturated host's event loop stalled for 3.4 s; a peer that never
   * sends its nonce holds the socket no longer than this.
   */
  nonceExchangeTimeoutMs: 10_000
}

export class NonceExchangeError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'NonceExchangeError'
  }
}

export class KeystreamExhaustedError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'KeystreamExhaustedError'
  }
}

/**
 * One direction of a protected connection: the XSalsa20 keystream of (key, nonce) from byte 0, applied to
 * each message at the position the stream has reached, so any split of the bytes into messages gives the
 * same ciphertext.
 */
export class XSalsa20Stream {
  private position = 0

  constructor(
    private readonly key: Uint8Array,
    private readonly nonce: Uint8Array
  ) {}

  /** The next bytes of the stream XORed with the keystream, in a new buffer */
  xor(data: Uint8Array | Uint8ArrayList): Uint8Array {
    const length = data.byteLength
    if (length === 0) return new Uint8Array(0)
    if (this.position + length > MAX_STREAM_BYTES) {
      throw new KeystreamExhaustedError(
        `a private-network connection carries at most ${MAX_STREAM_BYTES} bytes each way; this one would pass it`
      )
    }
    // The message goes in at its offset within the current 64-byte block, so the XOR starts on a block (and
    // a 4-byte) boundary: noble takes its word-at-a-time path and no keystream block has to be kept between
    // messages; the bytes before the offset are scratch.
    const skip = this.position % BLOCK_BYTES
    const buffer = new Uint8Array(skip + length)
    if (data instanceof Uint8Array) {
      buffer.set(data, skip)
    } else {
      let at = skip
      for (const chunk of data) {
        buffer.set(chunk, at)
        at += chunk.byteLength
      }
    }
    xsalsa20(this.key, this.nonce, buffer, buffer, (this.position - skip) / BLOCK_BYTES)
    this.position += length
    return buffer.subarray(skip)
  }
}

/** A connection whose bytes go through the keystreams both ways; events and flow control are the inner one's */
class ProtectedConnection extends AbstractMultiaddrConnection {
  private readonly inner: MultiaddrConnection
  private readonly inbound: XSalsa20Stream
  private readonly outbound: XSalsa20Stream

  constructor(inner: MultiaddrConnection, key: Uint8Array, localNonce: Uint8Array, remoteNonce: Uint8Array) {
    super({ log: inner.log.newScope('pnet'), remoteAddr: inner.remoteAddr, direction: inner.direction })
    this.inner = inner
    this.inbound = new XSalsa20Stream(key, remoteNonce)
    this.outbound = new XSalsa20Stream(key, localNonce)
    inner.addEventListener('message', (event) => {
      let plain: Uint8Array
      try {
        plain = this.inbound.xor(event.data)
      } catch (err) {
        this.abort(err as Error)
        return
      }
      this.onData(plain)
    })
    inner.addEventListener('drain', () => {
      this.onMuxerDrain()
    })
    inner.addEventListener('close', (event) => {
      if (event.error === undefined) this.onTransportClosed()
      else if (event.local === true) this.abort(event.error)
      else this.onRemoteReset()
    })
  }

  sendData(data: Uint8ArrayList): SendResult {
    // A throw here (KeystreamExhaustedError) aborts this connection: AbstractMessageStream catches it
    return { sentBytes: data.byteLength, canSendMore: this.inner.send(this.outbound.xor(data)) }
  }

  async sendClose(options?: AbortOptions): Promise<void> {
    await this.inner.close(options)
  }

  sendReset(err: Error): void {
    this.inner.abort(err)
  }

  sendPause(): void {
    this.inner.pause()
  }

  sendResume(): void {
    this.inner.resume()
  }
}

function isMultiaddrConnection(stream: MessageStream): stream is MultiaddrConnection {
  return 'remoteAddr' in stream
}

export interface PrivateNetworkInit {
  /** The 32-byte pre-shared key (readSwarmKey decodes a swarm.key file) */
  key: Uint8Array
  nonceExchangeTimeoutMs?: number
}

class PrivateNetworkProtector implements ConnectionProtector {
  private readonly key: Uint8Array
  private readonly nonceExchangeTimeoutMs: number

  constructor(init: PrivateNetworkInit) {
    if (init.key.byteLength !== KEY_BYTES) {
      throw new RangeError(`a private network key is ${KEY_BYTES} bytes, not ${init.key.byteLength}`)
    }
    this.key = Uint8Array.from(init.key)
    this.nonceExchangeTimeoutMs = init.nonceExchangeTimeoutMs ?? privateNetworkDefaults.nonceExchangeTimeoutMs
  }

  async protect(connection: MessageStream, options: AbortOptions = {}): Promise<MessageStream> {
    if (!isMultiaddrConnection(connection)) {
      throw new TypeError('a private network protects a transport connection (one with a remote address)')
    }
    const localNonce = crypto.getRandomValues(new Uint8Array(NONCE_BYTES))
    const deadline = new AbortController()
    const timer = setTimeout(() => {
      deadline.abort(new Error(`no nonce within ${this.nonceExchangeTimeoutMs} ms`))
    }, this.nonceExchangeTimeoutMs)
    const signal =
      options.signal === undefined ? deadline.signal : AbortSignal.any([options.signal, deadline.signal])
    const bytes = byteStream(connection)
    let remoteNonce: Uint8Array
    try {
      const [received] = await Promise.all([
        bytes.read({ bytes: NONCE_BYTES, signal }),
        bytes.write(localNonce, { signal })
      ])
      remoteNonce = received.subarray()
    } catch (err) {
      const reason = err instanceof Error ? `${err.name}: ${err.message}` : String(err)
      throw new NonceExchangeError(
        `private network: no nonce from ${connection.remoteAddr.toString()} (${reason})`,
        { cause: err }
      )
    } finally {
      clearTimeout(timer)
    }
    // unwrap hands back whatever arrived after the nonce (the start of the Noise handshake) unread
    return new ProtectedConnection(bytes.unwrap(), this.key, localNonce, remoteNonce)
  }
}

/** libp2p's `connectionProtector`: only peers holding the same key connect */
export function privateNetwork(init: PrivateNetworkInit): () => ConnectionProtector {
  const protector = new PrivateNetworkProtector(init)
  return () => protector
}
