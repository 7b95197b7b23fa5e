/** The receiving end's framing that the inputs, hints and proof protocols share */
import type { ByteSink } from '../../src/files/file-sink.js'
import { TransferError } from '../../src/files/errors.js'
import type { FramedStream } from '../../src/net/framed-stream.js'
import { peerText } from '../../src/net/peer-text.js'
import { BULK_CHUNK_BYTES } from './constants.js'

/**
 * Copies `count` raw bytes from the stream into the sink (memory stays bounded: the stream pauses while the
 * sink writes); a stream that ends early aborts the sink
 */
export async function receiveInto(
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
export async function withVerdict(
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
