/** `/proofmesh/inputs/1.0.0` on the wire, both ends: the submitter pushes a slice, the peer takes it into a file */
import type { FileSink } from '../../src/files/file-sink.js'
import { TransferError } from '../../src/files/errors.js'
import { readFileRange } from '../../src/files/file-range.js'
import type { FramedStream } from '../../src/net/framed-stream.js'
import { peerText } from '../../src/net/peer-text.js'
import { MAX_HEADER_BYTES } from '../bulk/constants.js'
import { receiveInto, withVerdict } from '../bulk/framing.js'
import { InputsAccept, InputsDone, InputsHeader } from './pb/inputs.js'

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

/** Peer side: the slice's header, the stream's first frame */
export async function readSliceHeader(framed: FramedStream, signal: AbortSignal): Promise<InputsHeader> {
  return framed.read(InputsHeader, MAX_HEADER_BYTES, signal)
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
