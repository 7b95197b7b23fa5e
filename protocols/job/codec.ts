/** `/proofmesh/job/1.0.0` on the wire, both ends: length-prefixed envelopes of at most MAX_JOB_FRAME_BYTES */
import { type FrameDuplex, streamDuplex } from '../../src/net/frame-duplex.js'
import type { FramedStream } from '../../src/net/framed-stream.js'
import { MAX_ADDRS_PER_PEER, MAX_JOB_FRAME_BYTES, MAX_SEGMENTS_PER_JOB } from './constants.js'
import { PeerFrame, SubmitterFrame } from './pb/job.js'

/** The submitter's end of a job stream: it reads PeerFrames (no repeated fields), writes SubmitterFrames */
export function submitterJobChannel(framed: FramedStream): FrameDuplex<PeerFrame, SubmitterFrame> {
  return streamDuplex(framed, { in: PeerFrame, out: SubmitterFrame }, MAX_JOB_FRAME_BYTES)
}

/** The peer's end: SubmitterFrames' repeated fields are capped while they decode, before anything is held */
export function peerJobChannel(framed: FramedStream): FrameDuplex<SubmitterFrame, PeerFrame> {
  return streamDuplex(framed, { in: SubmitterFrame, out: PeerFrame }, MAX_JOB_FRAME_BYTES, {
    limits: {
      assign: { segments: MAX_SEGMENTS_PER_JOB },
      aggregate: { contributions: MAX_SEGMENTS_PER_JOB },
      fetch: { addrs: MAX_ADDRS_PER_PEER },
      forget: { segments: MAX_SEGMENTS_PER_JOB }
    }
  })
}
