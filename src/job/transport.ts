import type { InputsHeader } from '../../protocols/inputs/pb/inputs.js'
import { PeerFrame, SubmitterFrame } from '../../protocols/job/pb/job.js'
import { type FrameDuplex, streamDuplex } from '../net/frame-duplex.js'
import { FramedStream } from '../net/framed-stream.js'
import { type ByteSink, hintsStreamSink, readFileRange, sendSlice } from '../worker/bulk.js'
import { HINTS_PROTOCOL, INPUTS_PROTOCOL, JOB_PROTOCOL, MAX_JOB_FRAME_BYTES } from '../worker/constants.js'
import type { WorkerService } from '../worker/service.js'

/** A peer the submitter can reach: a remote one by id and addresses, or this daemon itself */
export interface PeerAddress {
  peerId: string
  local: boolean
  addrs: Uint8Array[]
}

/**
 * How the submitter reaches the peers of its job. A remote peer is reached over the job, inputs and hints
 * protocols; this daemon's own worker in-process, over the same frames and sinks, so both take one path.
 */
export class SubmitterTransport {
  private readonly worker: WorkerService

  constructor(worker: WorkerService) {
    this.worker = worker
  }

  async openJob(peer: PeerAddress, signal: AbortSignal): Promise<FrameDuplex<PeerFrame, SubmitterFrame>> {
    if (peer.local) return this.worker.openLocal()
    const stream = await this.worker.dial(peer, JOB_PROTOCOL, signal)
    return streamDuplex(new FramedStream(stream), { in: PeerFrame, out: SubmitterFrame }, MAX_JOB_FRAME_BYTES)
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
      await this.worker.deliverLocalSlice(
        header,
        readFileRange(file, start, start + Number(header.length)),
        signal
      )
      return
    }
    const framed = new FramedStream(await this.worker.dial(peer, INPUTS_PROTOCOL, signal))
    try {
      await sendSlice(framed, header, { path: file, offset: start }, signal, onSent)
    } catch (err) {
      framed.abort(err)
      throw err
    }
  }

  async hintsSink(peer: PeerAddress, jobId: string, signal: AbortSignal): Promise<ByteSink> {
    if (peer.local) return this.worker.localHintsSink(jobId)
    const framed = new FramedStream(await this.worker.dial(peer, HINTS_PROTOCOL, signal))
    return hintsStreamSink(framed, jobId, signal)
  }

  async fetchFinalProof(
    peer: PeerAddress,
    jobId: string,
    dest: string,
    signal: AbortSignal
  ): Promise<{ size: number; sha256: Uint8Array }> {
    return this.worker.fetchProof(peer, { jobId }, dest, signal)
  }
}
