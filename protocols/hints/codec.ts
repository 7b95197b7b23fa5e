/** `/proofmesh/hints/1.0.0` on the wire, both ends: the submitter relays the hints, the peer takes them into a file */
import type { ByteSink } from '../../src/files/file-sink.js'
import { TransferError } from '../../src/files/errors.js'
import type { FramedStream } from '../../src/net/framed-stream.js'
import { peerText } from '../../src/net/peer-text.js'
import { MAX_HEADER_BYTES } from '../bulk/constants.js'
import { withVerdict } from '../bulk/framing.js'
import {
  MAX_HINTS_BYTES,
  MAX_HINTS_CHUNK_BYTES,
  MAX_HINTS_CHUNKS_PER_SECOND,
  MAX_HINTS_FRAME_BYTES
} from './constants.js'
import { HintsChunk, HintsDone, HintsKind } from './pb/hints.js'

/** Submitter side: a ByteSink that relays to a peer over a hints stream: START on open, DATA per write, END on finish */
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

/** Peer side: the stream's first frame, which must be START (seq 0); returns the job id it names */
export async function readHintsStart(framed: FramedStream, signal: AbortSignal): Promise<string> {
  const start = await framed.read(HintsChunk, MAX_HINTS_FRAME_BYTES, signal)
  if (start.kind !== HintsKind.START || start.seq !== 0n)
    throw new TransferError('a hints stream must open with START (seq 0)')
  return start.jobId
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
        const chunk = await framed.read(HintsChunk, MAX_HINTS_FRAME_BYTES, signal)
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
