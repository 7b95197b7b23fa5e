import { MAX_ASSIGNED_PER_SESSION, MAX_SEGMENTS_PER_JOB } from '../../../protocols/job/constants.js'
import { type Assign, InputMode, type SegmentSpec } from '../../../protocols/job/pb/job.js'
import { TransferError } from '../../files/errors.js'
import { deadline } from '../../net/deadline.js'
import { raceSignal } from '../../prover/signals.js'

/**
 * Why an Assign is out of place (a PROTOCOL failure), or undefined: it must name Reserve's input size and, after
 * the first, the same input; every segment once, inside the input, with its slice's SHA-256
 */
export function assignProblem(
  assign: Assign,
  inputSize: number,
  first: Assign | undefined,
  isAssigned: (index: number) => boolean
): string | undefined {
  if (Number(assign.inputSize) !== inputSize) return 'Assign names another input size than Reserve'
  if (assign.segments.length === 0) return 'Assign has no segment'
  if (
    first !== undefined &&
    (first.inputMode !== assign.inputMode ||
      first.inputName !== assign.inputName ||
      first.hints !== assign.hints)
  ) {
    return 'a later Assign names another input than the first'
  }
  const seen = new Set<number>()
  for (const spec of assign.segments) {
    if (spec.index >= MAX_SEGMENTS_PER_JOB)
      return `segment ${spec.index} is past the ${MAX_SEGMENTS_PER_JOB} segments a job may have`
    if (seen.has(spec.index) || isAssigned(spec.index)) return `segment ${spec.index} is assigned twice`
    seen.add(spec.index)
    if (spec.inputOffset + spec.inputLength > assign.inputSize)
      return `segment ${spec.index} lies outside the input`
    if (spec.inputSha256.byteLength !== 32) return `segment ${spec.index} has no SHA-256`
  }
  if (assign.inputMode === InputMode.PATH && assign.inputName === '') return 'path mode without an input name'
  return undefined
}

/**
 * The segments assigned to this peer, by index, and the first Assign, whose input fields hold for every later one.
 * A slice or the hints travel on their own streams and can overtake the Assign that announces their segment on
 * the job stream (a takeover to a peer that already has work): they wait here for it.
 */
export class Assignments {
  private readonly jobId: string
  private readonly inputSize: number
  private readonly signal: AbortSignal
  private first?: Assign
  private readonly firstArrived = Promise.withResolvers<Assign>()
  private readonly specs = new Map<number, SegmentSpec>()
  /** Resolved, then replaced, at every Assign */
  private arrived = Promise.withResolvers<void>()
  /** Segments assigned over the session's life, Forgets not deducted */
  private assignedEver = 0
  /** The input bytes of the segments assigned now */
  private liveBytes = 0

  /** `signal`: the session's; every wait ends with it */
  constructor(init: { jobId: string; inputSize: number; signal: AbortSignal }) {
    this.jobId = init.jobId
    this.inputSize = init.inputSize
    this.signal = init.signal
  }

  /** Records an Assign's segments, or returns why it is out of place (and records nothing) */
  add(assign: Assign): string | undefined {
    const problem = assignProblem(assign, this.inputSize, this.first, (index) => this.specs.has(index))
    if (problem !== undefined) return problem
    for (const spec of assign.segments) {
      this.specs.set(spec.index, spec)
      this.liveBytes += Number(spec.inputLength)
    }
    this.assignedEver += assign.segments.length
    if (this.first === undefined) {
      // its input fields only: its segments live in `specs` while assigned, and not a frame longer
      this.first = { ...assign, segments: [] }
      this.firstArrived.resolve(this.first)
    }
    this.arrived.resolve()
    this.arrived = Promise.withResolvers<void>()
    return undefined
  }

  /**
   * Why an Assign would take the session past its totals, or undefined: the segments assigned over its life
   * (MAX_ASSIGNED_PER_SESSION), and the input bytes of those assigned now, which an honest layout keeps within the
   * input (segments do not overlap). Past them the submitter is not running a job but filling this peer.
   */
  overTotals(assign: Assign): string | undefined {
    const assigned = this.assignedEver + assign.segments.length
    if (assigned > MAX_ASSIGNED_PER_SESSION)
      return `${assigned} segments assigned in one session, over ${MAX_ASSIGNED_PER_SESSION}`
    let bytes = this.liveBytes
    for (const spec of assign.segments) bytes += Number(spec.inputLength)
    if (bytes > this.inputSize)
      return `the segments assigned here would hold ${bytes} input bytes, over the input's ${this.inputSize}`
    return undefined
  }

  /** A segment is no longer this peer's (Forget): a later Assign brings it back as a new assignment */
  forget(index: number): void {
    const spec = this.specs.get(index)
    if (spec === undefined) return
    this.liveBytes -= Number(spec.inputLength)
    this.specs.delete(index)
  }

  /** Whether any Assign came: before one, the session has no work and no phase past the lease */
  get started(): boolean {
    return this.first !== undefined
  }

  /** The first Assign: the job's input mode, input name and whether it has hints */
  async firstAssign(): Promise<Assign> {
    return raceSignal(this.firstArrived.promise, this.signal)
  }

  /** The first Assign, waiting up to `ms` for it */
  async firstWithin(ms: number): Promise<Assign> {
    const signal = AbortSignal.any([this.signal, deadline(`the first Assign of job ${this.jobId}`, ms)])
    return raceSignal(this.firstArrived.promise, signal)
  }

  /** A segment's assignment, waiting up to `ms` for the Assign that brings it */
  async specWithin(index: number, ms: number): Promise<SegmentSpec> {
    const signal = AbortSignal.any([this.signal, deadline(`the Assign of segment ${index}`, ms)])
    for (;;) {
      const spec = this.specs.get(index)
      if (spec !== undefined) return spec
      await raceSignal(this.arrived.promise, signal).catch((err: unknown) => {
        throw this.signal.aborted ? err : new TransferError(`segment ${index} is not assigned to this peer`)
      })
    }
  }
}
