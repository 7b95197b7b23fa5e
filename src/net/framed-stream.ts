import type { Stream, StreamCloseEvent, StreamMessageEvent } from '@libp2p/interface'
import type { DecodeOptions } from 'protons-runtime'
import { Uint8ArrayList } from 'uint8arraylist'
import * as varint from 'uint8-varint'
import './uint64-wire.js'

export class FrameError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'FrameError'
  }
}

export class StreamEndedError extends Error {
  constructor(message = 'the stream ended') {
    super(message)
    this.name = 'StreamEndedError'
  }
}

export interface FramedStreamInit {
  /**
   * Above this many unread bytes the stream is paused (yamux then stops granting the sender window), and it
   * resumes below half of it: what bounds a reader's memory whatever the sender does.
   */
  highWaterMark?: number
}

export const framedStreamDefaults = {
  // twice a bulk read (BULK_CHUNK_BYTES): a reader finds a whole chunk waiting, and a receiving peer's memory
  // stays small (test/bench/rss-stream: 4 MiB here added ~12 MiB to its peak)
  highWaterMark: 2 * 1024 * 1024
}

/** Closing a stream waits this long for what was written to be delivered; then it is reset */
export const STREAM_CLOSE_TIMEOUT_MS = 5_000

/** A varint length prefix can never be longer than this for the frame sizes we accept */
const MAX_PREFIX_BYTES = 5

/**
 * Length-prefixed protobuf frames and raw bytes over one libp2p 3 stream, with real backpressure both ways.
 *
 * js-libp2p 3 streams apply no backpressure to a `for await` reader and lose data on pause/resume inside one
 * (docs/architecture.md, "Streams in js-libp2p 3"). So this collects `message` events into its own buffer from
 * the moment it is built (build it before the first await of a handler, or the first bytes can be missed),
 * pauses the stream above a high-water mark and resumes it below half; writes wait for `drain` when `send` says
 * the stream is full.
 */
export class FramedStream {
  readonly stream: Stream
  private readonly buffer = new Uint8ArrayList()
  private readonly highWaterMark: number
  private ended = false
  private failure?: Error
  private paused = false
  /** Inside stream.resume(), which delivers the data buffered while paused before it tells yamux to resume */
  private resuming = false
  private wake?: () => void

  constructor(stream: Stream, init: FramedStreamInit = {}) {
    this.stream = stream
    this.highWaterMark = init.highWaterMark ?? framedStreamDefaults.highWaterMark
    // Paused data waits in the stream's own buffer; it must hold at least one yamux window beyond ours
    stream.maxReadBufferLength = Math.max(stream.maxReadBufferLength, this.highWaterMark * 8)
    stream.addEventListener('message', (event: StreamMessageEvent) => {
      this.buffer.append(event.data)
      // a pause inside resume() would be undone by the resume's own last step: resumeIfDrained pauses after it
      if (!this.resuming) this.pauseIfFull()
      this.notify()
    })
    stream.addEventListener('end', () => {
      this.ended = true
      this.notify()
    })
    stream.addEventListener('close', (event: StreamCloseEvent) => {
      this.ended = true
      if (event.error !== undefined) this.failure ??= toError(event.error)
      this.notify()
    })
    if (stream.readableEnded) this.ended = true
  }

  /** Bytes received and not read yet */
  get buffered(): number {
    return this.buffer.byteLength
  }

  /** The next frame, or undefined when the stream ended cleanly between frames */
  async readFrame(maxLength: number, signal: AbortSignal): Promise<Uint8ArrayList | undefined> {
    for (;;) {
      const frame = this.takeFrame(maxLength)
      if (frame !== undefined) return frame
      if (this.ended) {
        if (this.failure !== undefined) throw this.failure
        if (this.buffer.byteLength === 0) return undefined
        throw new FrameError(`the stream ended inside a frame (${this.buffer.byteLength} bytes left over)`)
      }
      await this.waitForData(signal)
    }
  }

  /** Reads and decodes one message; a stream that ends first is a StreamEndedError */
  async read<T>(
    codec: { decode(buf: Uint8ArrayList, opts?: DecodeOptions<T>): T },
    maxLength: number,
    signal: AbortSignal,
    opts?: DecodeOptions<T>
  ): Promise<T> {
    const message = await this.readOptional(codec, maxLength, signal, opts)
    if (message === undefined) throw new StreamEndedError()
    return message
  }

  /** Like read, but undefined when the stream ended cleanly instead of a next message */
  async readOptional<T>(
    codec: { decode(buf: Uint8ArrayList, opts?: DecodeOptions<T>): T },
    maxLength: number,
    signal: AbortSignal,
    opts?: DecodeOptions<T>
  ): Promise<T | undefined> {
    const frame = await this.readFrame(maxLength, signal)
    if (frame === undefined) return undefined
    try {
      return codec.decode(frame, opts)
    } catch (err) {
      throw new FrameError(`malformed frame: ${toError(err).message}`)
    }
  }

  /**
   * Up to `maxBytes` raw bytes, as soon as any are there; undefined once the stream has ended and nothing is
   * left. What is returned is no longer counted against the high-water mark.
   */
  async readBytes(maxBytes: number, signal: AbortSignal): Promise<Uint8ArrayList | undefined> {
    for (;;) {
      if (this.buffer.byteLength > 0) {
        const take = Math.min(maxBytes, this.buffer.byteLength)
        const chunk = this.buffer.sublist(0, take)
        this.buffer.consume(take)
        this.resumeIfDrained()
        return chunk
      }
      if (this.ended) {
        if (this.failure !== undefined) throw this.failure
        return undefined
      }
      await this.waitForData(signal)
    }
  }

  /** Writes bytes, waiting for the stream to drain when it says it is full */
  async writeBytes(data: Uint8Array | Uint8ArrayList, signal: AbortSignal): Promise<void> {
    if (!this.stream.send(data)) await this.stream.onDrain({ signal })
  }

  /** Writes one length-prefixed message */
  async write<T>(message: T, codec: { encode(obj: T): Uint8Array }, signal: AbortSignal): Promise<void> {
    const body = codec.encode(message)
    await this.writeBytes(new Uint8ArrayList(varint.encode(body.byteLength), body), signal)
  }

  /** Closes our writing side once what was written is sent */
  async close(signal: AbortSignal): Promise<void> {
    await this.stream.close({ signal })
  }

  abort(err: unknown): void {
    this.stream.abort(toError(err))
  }

  private takeFrame(maxLength: number): Uint8ArrayList | undefined {
    if (this.buffer.byteLength === 0) return undefined
    let length: number
    try {
      length = varint.decode(this.buffer.subarray(0, Math.min(this.buffer.byteLength, MAX_PREFIX_BYTES)))
    } catch (err) {
      if (this.buffer.byteLength < MAX_PREFIX_BYTES) return undefined
      throw new FrameError(`bad frame length prefix: ${toError(err).message}`)
    }
    if (length > maxLength)
      throw new FrameError(`a frame of ${length} bytes is over the limit of ${maxLength}`)
    const prefix = varint.encodingLength(length)
    if (this.buffer.byteLength < prefix + length) return undefined
    const frame = this.buffer.sublist(prefix, prefix + length)
    this.buffer.consume(prefix + length)
    this.resumeIfDrained()
    return frame
  }

  private pauseIfFull(): void {
    if (this.paused || this.buffer.byteLength <= this.highWaterMark) return
    this.paused = true
    try {
      this.stream.pause()
    } catch {
      // a closing stream cannot be paused; what is buffered is all that will come
    }
  }

  /**
   * Resumes below half the high-water mark. libp2p's resume() first delivers what it buffered while paused, then
   * tells yamux to grant window again: a pause asked for during that delivery would be undone, and yamux would
   * keep sending into a paused stream until its buffer overflowed and reset the stream (measured: every slice
   * over ~32 MiB). So the listener does not pause while resume() runs; this pauses after it, if still full.
   */
  private resumeIfDrained(): void {
    if (!this.paused || this.buffer.byteLength > this.highWaterMark / 2) return
    this.paused = false
    this.resuming = true
    try {
      this.stream.resume()
    } catch {
      // closed meanwhile: nothing more will come
    } finally {
      this.resuming = false
    }
    this.pauseIfFull()
  }

  private notify(): void {
    const wake = this.wake
    this.wake = undefined
    wake?.()
  }

  private async waitForData(signal: AbortSignal): Promise<void> {
    signal.throwIfAborted()
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        this.wake = undefined
        reject(toError(signal.reason))
      }
      signal.addEventListener('abort', onAbort, { once: true })
      this.wake = () => {
        signal.removeEventListener('abort', onAbort)
        resolve()
      }
    })
  }
}

/** libp2p sometimes hands over event objects (StreamResetEvent) or strings where an Error is expected */
export function toError(value: unknown): Error {
  if (value instanceof Error) return value
  if (typeof value === 'object' && value !== null && 'error' in value && value.error instanceof Error)
    return value.error
  return new Error(typeof value === 'string' ? value : JSON.stringify(value))
}

/**
 * A failed dial or handshake as one log field, its name and message without the stack: on a live network, and at
 * every start-up on a loaded host (Noise handshakes timing out, EncryptionFailedError), they are routine, and their
 * stacks made up an eighth of a debug log (20 daemons starting at once at load 20)
 */
export function dialErrorText(value: unknown): string {
  const err = toError(value)
  return `${err.name}: ${err.message}`
}
