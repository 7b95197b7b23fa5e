import { join } from 'node:path'
import { equals } from 'uint8arrays'
import { type Assign, FailCode, InputMode, type SegmentSpec } from '../../../protocols/job/pb/job.js'
import type { InputsHeader } from '../../../protocols/inputs/pb/inputs.js'
import { TransferError } from '../../files/errors.js'
import { hashFileRange } from '../../files/file-range.js'
import { type ByteSink, type FileSink, openFileSink } from '../../files/file-sink.js'
import { resolveInputName } from '../../files/inputs-folder.js'
import { toError } from '../../net/framed-stream.js'
import { raceSignal } from '../../prover/signals.js'
import type { InputRef } from '../../prover/types.js'
import type { Assignments } from './assignment.js'
import type { SessionContext } from './context.js'
import { SessionError, WithdrawnError } from './failure.js'

/** What the inputs of a session need of it: a whole-job session (whole-session.ts) has no segment prover */
export type InputsContext = Pick<SessionContext, 'jobId' | 'inputSize' | 'workDir' | 'signal'>

/** The wait for one segment's slice: settled once the slice is here, or once the segment is withdrawn */
interface SliceWait {
  /** Whether the slice is here */
  settled: boolean
  /**
   * Made when a contribute or prove first waits for the slice: most segments of an Assign wait unawaited (12,000
   * promises per flooded Assign), and only a waiter needs to hear of the arrival or a withdrawal
   */
  arrived?: PromiseWithResolvers<void>
}

/**
 * Where each segment's input comes from and when it is here: data-mode slices and the hints arrive as files
 * through the sinks this hands the inputs and hints protocols, checked against the assignment; a path-mode input
 * is this peer's own copy in its inputs folder, checked against each segment's SHA-256.
 */
export class SegmentInputs {
  private readonly ctx: InputsContext
  private readonly assignments: Assignments
  private readonly inputsFolder: string
  private readonly assignWaitMs: number
  private readonly slices = new Map<number, SliceWait>()
  private readonly hintsArrived = Promise.withResolvers<string>()
  private hintsHere = false

  /** `assignWaitMs`: how long a slice or the hints wait for the Assign they belong to */
  constructor(
    ctx: InputsContext,
    assignments: Assignments,
    init: { inputsFolder: string; assignWaitMs: number }
  ) {
    this.ctx = ctx
    this.assignments = assignments
    this.inputsFolder = init.inputsFolder
    this.assignWaitMs = init.assignWaitMs
  }

  /** A segment was assigned (again): its slice is awaited afresh */
  expect(index: number): void {
    this.slices.set(index, { settled: false })
  }

  /**
   * A segment withdrawn (Forget): its slice may never come now (the submitter skips a withdrawn copy's). Its wait
   * is dropped, and an error made only for a waiter: an Assign flood of 12,000 segments, each then forgotten, kept
   * 12,000 waits and 12,000 errors with their stacks for the session's life.
   */
  withdraw(index: number): void {
    const slice = this.slices.get(index)
    if (slice === undefined) return
    this.slices.delete(index)
    if (!slice.settled) slice.arrived?.reject(new WithdrawnError(index))
  }

  /** A file sink for one segment's input slice, checked against the assignment (the inputs protocol) */
  async sliceSink(header: InputsHeader): Promise<FileSink> {
    if (header.jobId !== this.ctx.jobId) throw new TransferError('the slice is for another job')
    const spec = await this.assignments.specWithin(header.segment, this.assignWaitMs)
    if ((await this.assignments.firstAssign()).inputMode !== InputMode.DATA)
      throw new TransferError('this job reads its input in path mode')
    if (
      header.offset !== spec.inputOffset ||
      header.length !== spec.inputLength ||
      Number(header.total) !== this.ctx.inputSize ||
      !equals(header.sha256, spec.inputSha256)
    ) {
      throw new TransferError(`the slice header does not match segment ${spec.index}'s assignment`)
    }
    const slice = this.slices.get(spec.index)
    if (slice?.settled === true) throw new TransferError(`segment ${spec.index}'s slice is already here`)
    const sink = await openFileSink({
      path: this.slicePath(spec.index),
      resume: true,
      maxBytes: Number(spec.inputLength)
    })
    return {
      ...sink,
      finish: async (total, sha256, signal) => {
        await sink.finish(total, sha256, signal)
        if (slice !== undefined && !slice.settled) {
          slice.settled = true
          slice.arrived?.resolve()
        }
      }
    }
  }

  /** A file sink for the job's hints (the hints protocol) */
  async hintsSink(): Promise<ByteSink> {
    const assign = await this.assignments.firstWithin(this.assignWaitMs)
    if (!assign.hints) throw new TransferError('this job has no hints')
    if (this.hintsHere) throw new TransferError('the hints are already here')
    const path = join(this.ctx.workDir, 'hints')
    const sink = await openFileSink({ path })
    return {
      ...sink,
      finish: async (total, sha256, signal) => {
        await sink.finish(total, sha256, signal)
        this.hintsHere = true
        this.hintsArrived.resolve(path)
      }
    }
  }

  /** Where a segment's input is, once it is here: its slice (data mode), or this peer's checked copy (path mode) */
  async inputOf(spec: SegmentSpec): Promise<InputRef> {
    const assign = await this.assignments.firstAssign()
    if (assign.inputMode !== InputMode.PATH) {
      // every Assign expects its segments' slices: none here means withdrawn since
      const slice = this.slices.get(spec.index)
      if (slice === undefined) throw new WithdrawnError(spec.index)
      if (!slice.settled) {
        if (slice.arrived === undefined) {
          slice.arrived = Promise.withResolvers<void>()
          // a withdrawal after its waiter gave up (the session ended) is no unhandled rejection
          slice.arrived.promise.catch(() => undefined)
        }
        await raceSignal(slice.arrived.promise, this.ctx.signal)
      }
      return { path: this.slicePath(spec.index), offset: Number(spec.inputOffset) }
    }
    const input = await this.resolvePathInput(assign)
    await this.checkSlice(input, spec, assign.inputName)
    return input
  }

  /** The hints file once it is here, when the job has hints */
  async hints(): Promise<string | undefined> {
    const assign = await this.assignments.firstAssign()
    return assign.hints ? raceSignal(this.hintsArrived.promise, this.ctx.signal) : undefined
  }

  private async resolvePathInput(assign: Assign): Promise<InputRef> {
    try {
      const file = await resolveInputName(this.inputsFolder, assign.inputName)
      if (file.size !== this.ctx.inputSize) {
        throw new SessionError(
          FailCode.INPUT,
          `input "${assign.inputName}" here has ${file.size} bytes, the submitter's has ${this.ctx.inputSize}`
        )
      }
      return { path: file.path, offset: 0 }
    } catch (err) {
      if (err instanceof SessionError) throw err
      throw new SessionError(FailCode.INPUT, toError(err).message)
    }
  }

  /** Path mode: this peer's copy of the input must hold the same bytes as the submitter's */
  private async checkSlice(input: InputRef, spec: SegmentSpec, name: string): Promise<void> {
    const start = Number(spec.inputOffset)
    const digest = await hashFileRange(input.path, start, start + Number(spec.inputLength))
    if (!equals(digest, spec.inputSha256)) {
      throw new SessionError(
        FailCode.INPUT,
        `input "${name}" here differs from the submitter's in segment ${spec.index} (bytes ${start}+${spec.inputLength})`,
        spec.index
      )
    }
  }

  private slicePath(index: number): string {
    return join(this.ctx.workDir, `slice-${index}`)
  }
}
