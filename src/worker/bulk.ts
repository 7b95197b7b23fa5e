import { createHash } from 'node:crypto'
import { open, rename, rm } from 'node:fs/promises'
import { HintsChunk, HintsDone, HintsKind } from '../../protocols/hints/pb/hints.js'
import { InputsAccept, InputsDone, InputsHeader } from '../../protocols/inputs/pb/inputs.js'
import { ProofHeader } from '../../protocols/proof/pb/proof.js'
import type { Uint8ArrayList } from 'uint8arraylist'
import type { FramedStream } from '../net/framed-stream.js'
import {
  BULK_CHUNK_BYTES,
  BULK_SEND_CHUNK_BYTES,
  MAX_HEADER_BYTES,
  MAX_HINTS_BYTES,
  MAX_HINTS_CHUNK_BYTES,
  MAX_HINTS_CHUNKS_PER_SECOND
} from './constants.js'
import { peerText } from './peer-text.js'

export class TransferError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'TransferError'
  }
}

/** Where received bytes go: a file written as they arrive, checked, then renamed into place */
export interface ByteSink {
  /** A list is written as it is, without first copying it into one buffer */
  write(chunk: Uint8Array | Uint8ArrayList, signal: AbortSignal): Promise<void>
  /** Checks the length and SHA-256 of everything written and makes the file visible */
  finish(total: number, sha256: Uint8Array, signal: AbortSignal): Promise<void>
  /** Drops what was written (the partial file stays only where the sink resumes) */
  abort(err: Error): Promise<void>
}

export interface FileSinkInit {
  /** Final path; bytes go to `<path>.part` first */
  path: string
  /** Keep an existing `.part` and append to it (resumable inputs) */
  resume?: boolean
  maxBytes?: number
}

export interface FileSink extends ByteSink {
  /** Bytes already in the partial file when the sink opened */
  readonly resumedFrom: number
}

/** A ByteSink into a file: appended as chunks arrive (memory stays bounded), hashed on the way */
export async function openFileSink(init: FileSinkInit): Promise<FileSink> {
  const partial = `${init.path}.part`
  const handle = await open(partial, init.resume === true ? 'a+' : 'w')
  const hash = createHash('sha256')
  let written = 0
  if (init.resume === true) {
    // A resumed file's hash covers the bytes already there
    const { size } = await handle.stat()
    const buffer = Buffer.allocUnsafe(BULK_CHUNK_BYTES)
    while (written < size) {
      const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, size - written), written)
      if (bytesRead === 0) break
      hash.update(buffer.subarray(0, bytesRead))
      written += bytesRead
    }
  }
  const resumedFrom = written
  let closed = false
  const close = async (): Promise<void> => {
    if (closed) return
    closed = true
    await handle.close()
  }
  return {
    resumedFrom,
    async write(chunk) {
      written += chunk.byteLength
      if (init.maxBytes !== undefined && written > init.maxBytes) {
        throw new TransferError(`more than the ${init.maxBytes} bytes announced`)
      }
      const buffers = chunk instanceof Uint8Array ? [chunk] : [...chunk]
      for (const buffer of buffers) hash.update(buffer)
      // one system call for all of them
      const { bytesWritten } = await handle.writev(buffers)
      if (bytesWritten !== chunk.byteLength)
        throw new TransferError(`${partial}: ${bytesWritten} of ${chunk.byteLength} bytes written`)
    },
    async finish(total, sha256) {
      await handle.sync()
      await close()
      const digest = hash.digest()
      if (written !== total) {
        await rm(partial, { force: true })
        throw new TransferError(`received ${written} bytes, ${total} were announced`)
      }
      if (!digest.equals(Buffer.from(sha256))) {
        await rm(partial, { force: true })
        throw new TransferError('the SHA-256 of the received bytes does not match the announced one')
      }
      await rename(partial, init.path)
    },
    async abort() {
      await close().catch(() => undefined)
      if (init.resume !== true) await rm(partial, { force: true })
    }
  }
}

/** Reads [start, end) of a file in chunks of BULK_SEND_CHUNK_BYTES; the last chunk may be shorter */
export async function* readFileRange(path: string, start: number, end: number): AsyncGenerator<Uint8Array> {
  const handle = await open(path, 'r')
  try {
    let position = start
    while (position < end) {
      const buffer = Buffer.allocUnsafe(Math.min(BULK_SEND_CHUNK_BYTES, end - position))
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, position)
      if (bytesRead === 0) throw new TransferError(`${path} ended at byte ${position}, before ${end}`)
      position += bytesRead
      yield buffer.subarray(0, bytesRead)
    }
  } finally {
    await handle.close()
  }
}

/** SHA-256 of [start, end) of a file */
export async function hashFileRange(path: string, start: number, end: number): Promise<Buffer> {
  const hash = createHash('sha256')
  for await (const chunk of readFileRange(path, start, end)) hash.update(chunk)
  return hash.digest()
}

/** Copies everything a source yields into a sink, then finishes it */
export async function pump(
  source: AsyncIterable<Uint8Array>,
  sink: ByteSink,
  total: number,
  sha256: Uint8Array,
  signal: AbortSignal
): Promise<void> {
  try {
    for await (const chunk of source) {
      signal.throwIfAborted()
      await sink.write(chunk, signal)
    }
    await sink.finish(total, sha256, signal)
  } catch (err) {
    await sink.abort(err as Error)
    throw err
  }
}

// --- /proofmesh/inputs/1.0.0 -------------------------------------------------------------------------------

/**
 * Submitter side: pushes one slice (header, resume point, bytes, verdict); returns the bytes sent, and tells
 * `onSent` of each chunk as it goes (so a peer's count moves while a large slice streams)
 */
export async function sendSlice(
  framed: FramedStream,
  header: InputsHeader,
  file: { path: string; offset: number },
  signal: AbortSignal,
  onSent?: (bytes: number) => void
): Promise<number> {
  await framed.write(header, InputsHeader, signal)
  const accept = await framed.read(InputsAccept, MAX_HEADER_BYTES, signal)
  const from = Number(accept.from)
  const length = Number(header.length)
  if (from > length) throw new TransferError(`the peer claims ${from} bytes of a ${length}-byte slice`)
  let sent = 0
  for await (const chunk of readFileRange(file.path, file.offset + from, file.offset + length)) {
    await framed.writeBytes(chunk, signal)
    sent += chunk.byteLength
    onSent?.(chunk.byteLength)
  }
  const done = await framed.read(InputsDone, MAX_HEADER_BYTES, signal)
  if (!done.ok) throw new TransferError(peerText(done.message))
  await framed.close(signal)
  return sent
}

/** Peer side, once the header is read and a sink opened: receives the rest of the slice into it */
export async function receiveSlice(
  framed: FramedStream,
  header: InputsHeader,
  sink: FileSink,
  signal: AbortSignal
): Promise<void> {
  const length = Number(header.length)
  await withVerdict(framed, InputsDone, signal, async () => {
    // inside the verdict: a stream reset before the bytes start still aborts (and closes) the sink
    await framed
      .write({ from: BigInt(sink.resumedFrom) }, InputsAccept, signal)
      .catch(async (err: unknown) => {
        await sink.abort(err as Error)
        throw err
      })
    await receiveInto(framed, sink, length - sink.resumedFrom, 'slice', signal)
    await sink.finish(length, header.sha256, signal)
  })
}

/**
 * Copies `count` raw bytes from the stream into the sink (memory stays bounded: the stream pauses while the
 * sink writes); a stream that ends early aborts the sink
 */
async function receiveInto(
  framed: FramedStream,
  sink: ByteSink,
  count: number,
  what: string,
  signal: AbortSignal
): Promise<void> {
  let remaining = count
  try {
    while (remaining > 0) {
      const chunk = await framed.readBytes(Math.min(remaining, BULK_CHUNK_BYTES), signal)
      if (chunk === undefined)
        throw new TransferError(`the stream ended ${remaining} bytes before the ${what} did`)
      remaining -= chunk.byteLength
      await sink.write(chunk, signal)
    }
  } catch (err) {
    await sink.abort(err as Error)
    throw err
  }
}

/** Runs a receive, then tells the sender how it went (ok, or the one-line reason) */
async function withVerdict(
  framed: FramedStream,
  codec: { encode(obj: { ok: boolean; message: string }): Uint8Array },
  signal: AbortSignal,
  receive: () => Promise<void>
): Promise<void> {
  try {
    await receive()
  } catch (err) {
    // a file sink's error names this machine's files: the sender is another machine
    await framed
      .write({ ok: false, message: peerText((err as Error).message) }, codec, signal)
      .catch(() => undefined)
    throw err
  }
  await framed.write({ ok: true, message: '' }, codec, signal)
}

// --- /proofmesh/hints/1.0.0 --------------------------------------------------------------------------------

/** A ByteSink that relays to a peer over a hints stream: START on open, DATA per write, END on finish */
export async function hintsStreamSink(
  framed: FramedStream,
  jobId: string,
  signal: AbortSignal
): Promise<ByteSink> {
  let seq = 0n
  await framed.write(
    { kind: HintsKind.START, seq: seq++, jobId, data: new Uint8Array(), total: 0n, sha256: new Uint8Array() },
    HintsChunk,
    signal
  )
  return {
    async write(chunk, writeSignal) {
      for (let offset = 0; offset < chunk.byteLength; offset += MAX_HINTS_CHUNK_BYTES) {
        // protons types its bytes fields over ArrayBuffer; a subarray of a Buffer is one
        const data = chunk.subarray(offset, offset + MAX_HINTS_CHUNK_BYTES) as Uint8Array<ArrayBuffer>
        await framed.write(
          { kind: HintsKind.DATA, seq: seq++, jobId: '', data, total: 0n, sha256: new Uint8Array() },
          HintsChunk,
          writeSignal
        )
      }
    },
    async finish(total, sha256, finishSignal) {
      await framed.write(
        {
          kind: HintsKind.END,
          seq: seq++,
          jobId: '',
          data: new Uint8Array(),
          total: BigInt(total),
          sha256: new Uint8Array(sha256)
        },
        HintsChunk,
        finishSignal
      )
      const done = await framed.read(HintsDone, MAX_HEADER_BYTES, finishSignal)
      if (!done.ok) throw new TransferError(peerText(done.message))
      await framed.close(finishSignal)
    },
    async abort(err) {
      framed.abort(err)
    }
  }
}

/**
 * Peer side, once START is read: DATA frames in sequence into the sink until END, at most `chunksPerSecond`
 * frames a second (a token bucket holding one second's worth): a stream over that rate is failed
 */
export async function receiveHints(
  framed: FramedStream,
  sink: ByteSink,
  signal: AbortSignal,
  chunksPerSecond = MAX_HINTS_CHUNKS_PER_SECOND
): Promise<void> {
  await withVerdict(framed, HintsDone, signal, async () => {
    let expected = 1n
    let received = 0
    let tokens = chunksPerSecond
    let refilledAt = performance.now()
    try {
      for (;;) {
        const chunk = await framed.read(HintsChunk, MAX_HINTS_CHUNK_BYTES + 256, signal)
        const now = performance.now()
        tokens = Math.min(chunksPerSecond, tokens + ((now - refilledAt) * chunksPerSecond) / 1000)
        refilledAt = now
        if (tokens < 1)
          throw new TransferError(
            `hints arrive faster than this peer takes them: over ${chunksPerSecond} chunks per second`
          )
        tokens--
        if (chunk.seq !== expected) {
          throw new TransferError(`hints chunk ${chunk.seq} arrived where ${expected} was due`)
        }
        expected++
        if (chunk.kind === HintsKind.DATA) {
          received += chunk.data.byteLength
          if (received > MAX_HINTS_BYTES)
            throw new TransferError(`hints over the ${MAX_HINTS_BYTES}-byte limit`)
          await sink.write(chunk.data, signal)
        } else if (chunk.kind === HintsKind.END) {
          await sink.finish(Number(chunk.total), chunk.sha256, signal)
          return
        } else {
          throw new TransferError('a second START in one hints stream')
        }
      }
    } catch (err) {
      await sink.abort(err as Error)
      throw err
    }
  })
}

// --- /proofmesh/proof/1.0.0 --------------------------------------------------------------------------------

/** Holder side: the header, then the file's bytes */
export async function serveProofFile(
  framed: FramedStream,
  file: { path: string; size: number; sha256: Uint8Array },
  signal: AbortSignal
): Promise<void> {
  await framed.write(
    { ok: true, message: '', size: BigInt(file.size), sha256: new Uint8Array(file.sha256) },
    ProofHeader,
    signal
  )
  for await (const chunk of readFileRange(file.path, 0, file.size)) await framed.writeBytes(chunk, signal)
  await framed.close(signal)
}

/** Requester side, after writing the request: the header, then the bytes into `sink` */
export async function receiveProof(
  framed: FramedStream,
  sink: ByteSink,
  maxBytes: number,
  signal: AbortSignal
): Promise<{ size: number; sha256: Uint8Array }> {
  const header = await framed.read(ProofHeader, MAX_HEADER_BYTES, signal)
  if (!header.ok) {
    await sink.abort(new TransferError(peerText(header.message)))
    throw new TransferError(peerText(header.message))
  }
  const size = Number(header.size)
  if (size > maxBytes) throw new TransferError(`a proof of ${size} bytes is over the ${maxBytes}-byte limit`)
  await receiveInto(framed, sink, size, 'proof', signal)
  await sink.finish(size, header.sha256, signal)
  return { size, sha256: header.sha256 }
}
