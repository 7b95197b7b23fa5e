/** What a peer is sent of its segments: the Assign, and the header of each slice of the input pushed to it */
import { fromString } from 'uint8arrays'
import { type Assign, InputMode, type SegmentSpec } from '../../protocols/job/pb/job.js'
import type { InputsHeader } from '../../protocols/inputs/pb/inputs.js'
import type { JobRecord, SegmentRecord } from '../jobs-model/types.js'

/**
 * The Assign that gives a peer `segments` of the job: the job's input (size, mode, the name a path-mode peer finds
 * it by) and each segment's place in it with its slice's SHA-256. `hints`: whether the peer gets the job's hints
 * (a whole job has none).
 */
export function assignFrame(record: JobRecord, segments: SegmentRecord[], hints: boolean): Assign {
  const { request } = record
  return {
    inputSize: BigInt(record.inputSize ?? 0),
    inputMode: request.inputMode === 'data' ? InputMode.DATA : InputMode.PATH,
    inputName: request.inputMode === 'path' ? request.input : '',
    hints,
    segments: segments.map((segment): SegmentSpec => ({
      index: segment.index,
      startBlock: BigInt(segment.startBlock),
      blockCount: BigInt(segment.blockCount),
      inputOffset: BigInt(segment.inputOffset),
      inputLength: BigInt(segment.inputLength),
      inputSha256: fromString(segment.inputSha256, 'base16')
    }))
  }
}

/** The inputs protocol's header of one segment's slice: where it lies in the job's input, and its SHA-256 */
export function sliceHeader(record: JobRecord, segment: SegmentRecord): InputsHeader {
  return {
    jobId: record.id,
    segment: segment.index,
    offset: BigInt(segment.inputOffset),
    length: BigInt(segment.inputLength),
    total: BigInt(record.inputSize ?? 0),
    sha256: fromString(segment.inputSha256, 'base16')
  }
}
