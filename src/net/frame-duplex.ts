import type { DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'
import { deadline } from './deadline.js'
import { type FramedStream, STREAM_CLOSE_TIMEOUT_MS, StreamEndedError, toError } from './framed-stream.js'

/**
 * A two-way channel of typed frames. The job protocol runs over one of these whether the other side is a
 * remote peer (a libp2p stream) or this very daemon (an in-memory pair): the submitter works on its own job
 * through exactly the code path it uses with everyone else.
 */
export interface FrameDuplex<In, Out> {
  /** The next frame; undefined when the other side closed cleanly */
  read(signal: AbortSignal): Promise<In | undefined>
  write(frame: Out, signal: AbortSignal): Promise<void>
  /** Ends our side once written frames are delivered */
  close(): Promise<void>
  abort(err: Error): void
}

/**
 * Writes `frame` as the channel's last and closes it (a Refused, a Release, a Cancel): a channel that takes neither
 * before `signal` is aborted with why, so a peer that stops reading holds nothing of ours
 */
export async function closeWithFrame<In, Out>(
  channel: FrameDuplex<In, Out>,
  frame: Out,
  signal: AbortSignal
): Promise<void> {
  try {
    await channel.write(frame, signal)
    await channel.close()
  } catch (err) {
    channel.abort(toError(err))
  }
}

interface FrameCodec<T> {
  encode(obj: T): Uint8Array
  decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<T>): T
}

/** Frames over a libp2p stream, each length-prefixed protobuf of at most maxFrameBytes */
export function streamDuplex<In, Out>(
  framed: FramedStream,
  codecs: { in: FrameCodec<In>; out: FrameCodec<Out> },
  maxFrameBytes: number,
  /** Caps on repeated fields, checked while decoding */
  decodeOptions?: DecodeOptions<In>
): FrameDuplex<In, Out> {
  return {
    read: async (signal) => framed.readOptional(codecs.in, maxFrameBytes, signal, decodeOptions),
    write: async (frame, signal) => framed.write(frame, codecs.out, signal),
    close: async () => {
      await framed
        .close(deadline('closing a job stream', STREAM_CLOSE_TIMEOUT_MS))
        .catch((err: unknown) => framed.abort(err))
    },
    abort: (err) => framed.abort(err)
  }
}

/** One direction of an in-memory pair */
class FrameQueue<T> {
  private readonly items: T[] = []
  private closed = false
  private failure?: Error
  private wake?: () => void

  push(item: T): void {
    if (this.closed) throw this.failure ?? new StreamEndedError('the channel is closed')
    this.items.push(item)
    this.notify()
  }

  end(err?: Error): void {
    if (this.closed) return
    this.closed = true
    this.failure = err
    this.notify()
  }

  async shift(signal: AbortSignal): Promise<T | undefined> {
    for (;;) {
      if (this.items.length > 0) return this.items.shift()
      if (this.closed) {
        if (this.failure !== undefined) throw this.failure
        return undefined
      }
      signal.throwIfAborted()
      await new Promise<void>((resolve, reject) => {
        const onAbort = (): void => reject(toError(signal.reason))
        signal.addEventListener('abort', onAbort, { once: true })
        this.wake = () => {
          signal.removeEventListener('abort', onAbort)
          resolve()
        }
      })
    }
  }

  private notify(): void {
    const wake = this.wake
    this.wake = undefined
    wake?.()
  }
}

/** Two connected in-memory ends: what one writes, the other reads, in order */
export function memoryDuplexPair<A, B>(): [FrameDuplex<A, B>, FrameDuplex<B, A>] {
  const toFirst = new FrameQueue<A>()
  const toSecond = new FrameQueue<B>()
  const end = <In, Out>(incoming: FrameQueue<In>, outgoing: FrameQueue<Out>): FrameDuplex<In, Out> => ({
    read: async (signal) => incoming.shift(signal),
    write: async (frame) => {
      // a copy, so that neither side can change what the other holds (as over a real stream)
      outgoing.push(structuredClone(frame))
    },
    close: async () => outgoing.end(),
    abort: (err) => {
      outgoing.end(err)
      incoming.end(err)
    }
  })
  return [end(toFirst, toSecond), end(toSecond, toFirst)]
}
