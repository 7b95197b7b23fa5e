/** `/proofmesh/proof/1.0.0` on the wire, both ends: the requester pulls a proof, its holder serves the file */
import { TransferError } from '../../src/files/errors.js'
import { readFileRange } from '../../src/files/file-range.js'
import { type ByteSink, countedSink, openFileSink } from '../../src/files/file-sink.js'
import { type FramedStream, toError } from '../../src/net/framed-stream.js'
import { peerText } from '../../src/net/peer-text.js'
import { MAX_HEADER_BYTES } from '../bulk/constants.js'
import { receiveInto } from '../bulk/framing.js'
import { MAX_PROOF_BYTES } from './constants.js'
import { ProofHeader, ProofRequest } from './pb/proof.js'

/** A proof as its holder keeps it */
export interface ProofFile {
  path: string
  size: number
  sha256: Uint8Array
}

/**
 * Requester side: asks for a proof (a segment's, or the final one without `segment`) and receives it into `dest`,
 * checked against the header's size and SHA-256; `onReceived` hears of the bytes as they arrive. The stream is
 * closed when the proof is in, reset when anything fails.
 */
export async function requestProof(
  framed: FramedStream,
  request: { jobId: string; segment?: number; submitter?: string },
  dest: string,
  signal: AbortSignal,
  onReceived?: (bytes: number) => void
): Promise<{ size: number; sha256: Uint8Array }> {
  let file: ByteSink | undefined
  try {
    await framed.write(
      { jobId: request.jobId, segment: request.segment, submitter: request.submitter ?? '' },
      ProofRequest,
      signal
    )
    file = await openFileSink({ path: dest, maxBytes: MAX_PROOF_BYTES })
    const got = await receiveProof(
      framed,
      onReceived === undefined ? file : countedSink(file, onReceived),
      signal
    )
    await framed.close(signal).catch(() => undefined)
    return got
  } catch (err) {
    framed.abort(err)
    // closes the file's handle on every failure, not at garbage collection (DEP0137); a no-op once aborted
    await file?.abort(toError(err))
    throw err
  }
}

/** Requester side, after writing the request: the header, then the bytes into `sink` */
async function receiveProof(
  framed: FramedStream,
  sink: ByteSink,
  signal: AbortSignal
): Promise<{ size: number; sha256: Uint8Array }> {
  const header = await framed.read(ProofHeader, MAX_HEADER_BYTES, signal).catch(async (err: unknown) => {
    await sink.abort(err as Error)
    throw err
  })
  const size = Number(header.size)
  const refusal = !header.ok
    ? new TransferError(peerText(header.message))
    : size > MAX_PROOF_BYTES
      ? new TransferError(`a proof of ${size} bytes is over the ${MAX_PROOF_BYTES}-byte limit`)
      : undefined
  if (refusal !== undefined) {
    await sink.abort(refusal)
    throw refusal
  }
  await receiveInto(framed, sink, size, 'proof', signal)
  await sink.finish(size, header.sha256, signal)
  return { size, sha256: header.sha256 }
}

/** Holder side: the request, the stream's first frame */
export async function readProofRequest(framed: FramedStream, signal: AbortSignal): Promise<ProofRequest> {
  return framed.read(ProofRequest, MAX_HEADER_BYTES, signal)
}

/** Holder side: the proof is not served here (not held, or not to this requester); a clean close */
export async function refuseProof(framed: FramedStream, message: string, signal: AbortSignal): Promise<void> {
  await framed.write({ ok: false, message, size: 0n, sha256: new Uint8Array() }, ProofHeader, signal)
  await framed.close(signal)
}

/** Holder side: the header, then the file's bytes */
export async function serveProofFile(
  framed: FramedStream,
  file: ProofFile,
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
