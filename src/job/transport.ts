import { submitterJobChannel } from '../../protocols/job/codec.js'
import { JOB_PROTOCOL } from '../../protocols/job/constants.js'
import type { PeerFrame, SubmitterFrame } from '../../protocols/job/pb/job.js'
import { hintsStreamSink } from '../../protocols/hints/codec.js'
import { HINTS_PROTOCOL } from '../../protocols/hints/constants.js'
import { sendSlice } from '../../protocols/inputs/codec.js'
import { INPUTS_PROTOCOL } from '../../protocols/inputs/constants.js'
import type { InputsHeader } from '../../protocols/inputs/pb/inputs.js'
import { type ProofFile, requestProof } from '../../protocols/proof/codec.js'
import { MAX_PROOF_BYTES, PROOF_PROTOCOL } from '../../protocols/proof/constants.js'
import { TransferError } from '../files/errors.js'
import { readFileRange } from '../files/file-range.js'
import { type ByteSink, countedSink, openFileSink, pump } from '../files/file-sink.js'
import { type DialComponents, dialPeer } from '../net/dial-peer.js'
import type { FrameDuplex } from '../net/frame-duplex.js'
import { FramedStream } from '../net/framed-stream.js'

/** A peer the submitter can reach: a remote one by id and addresses, or this daemon itself */
export interface PeerAddress {
  peerId: string
  local: boolean
  addrs: Uint8Array[]
}

/**
 * This daemon's own peer side, reached in-process: the same frames over an in-memory pair, and the same sinks
 * its session gives the inputs and hints protocols (the daemon's WorkerService)
 */
export interface LocalPeer {
  openLocal(): FrameDuplex<PeerFrame, SubmitterFrame>
  localSliceSink(header: InputsHeader): Promise<ByteSink>
  localHintsSink(jobId: string): Promise<ByteSink>
  /** The final proof this daemon aggregated for the job, if it did */
  localFinalProof(jobId: string): ProofFile | undefined
}

/**
 * How the submitter reaches the peers of its job. A remote peer is reached over the job, inputs, hints and proof
 * protocols; this daemon's own peer side in-process, over the same frames and sinks, so both take one path.
 */
export class SubmitterTransport {
  private readonly components: DialComponents
  private readonly local: LocalPeer

  constructor(components: DialComponents, local: LocalPeer) {
    this.components = components
    this.local = local
  }

  async openJob(peer: PeerAddress, signal: AbortSignal): Promise<FrameDuplex<PeerFrame, SubmitterFrame>> {
    if (peer.local) return this.local.openLocal()
    return submitterJobChannel(new FramedStream(await dialPeer(this.components, peer, JOB_PROTOCOL, signal)))
  }

  /** Sends one segment's slice of `file`; `onSent` hears of the bytes that cross the network as they do */
  async pushSlice(
    peer: PeerAddress,
    header: InputsHeader,
    file: string,
    signal: AbortSignal,
    onSent: (bytes: number) => void
  ): Promise<void> {
    const start = Number(header.offset)
    if (peer.local) {
      const sink = await this.local.localSliceSink(header)
      const length = Number(header.length)
      await pump(readFileRange(file, start, start + length), sink, length, header.sha256, signal)
      return
    }
    const framed = new FramedStream(await dialPeer(this.components, peer, INPUTS_PROTOCOL, signal))
    try {
      await sendSlice(framed, header, { path: file, offset: start }, signal, onSent)
    } catch (err) {
      framed.abort(err)
      throw err
    }
  }

  async hintsSink(peer: PeerAddress, jobId: string, signal: AbortSignal): Promise<ByteSink> {
    if (peer.local) return this.local.localHintsSink(jobId)
    const framed = new FramedStream(await dialPeer(this.components, peer, HINTS_PROTOCOL, signal))
    return hintsStreamSink(framed, jobId, signal)
  }

  /**
   * Pulls the final proof from the aggregator into `dest` (a copy of the file when this daemon aggregated);
   * `onReceived` hears of the bytes as they arrive
   */
  async fetchFinalProof(
    peer: PeerAddress,
    jobId: string,
    dest: string,
    signal: AbortSignal,
    onReceived: (bytes: number) => void
  ): Promise<{ size: number; sha256: Uint8Array }> {
    if (peer.local) {
      const held = this.local.localFinalProof(jobId)
      if (held === undefined) throw new TransferError(`no final proof of job ${jobId} here`)
      const sink = countedSink(await openFileSink({ path: dest, maxBytes: MAX_PROOF_BYTES }), onReceived)
      await pump(readFileRange(held.path, 0, held.size), sink, held.size, held.sha256, signal)
      return { size: held.size, sha256: held.sha256 }
    }
    const framed = new FramedStream(await dialPeer(this.components, peer, PROOF_PROTOCOL, signal))
    return requestProof(framed, { jobId }, dest, signal, onReceived)
  }
}
