import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { fromString } from 'uint8arrays'
import {
  type Assign,
  FailCode,
  type PeerFrame,
  type SegmentSpec,
  type SubmitterFrame
} from '../../protocols/job/pb/job.js'
import type { InputsHeader } from '../../protocols/inputs/pb/inputs.js'
import type { ProofFile } from '../../protocols/proof/codec.js'
import { TransferError } from '../files/errors.js'
import type { ByteSink, FileSink } from '../files/file-sink.js'
import type { Logger } from '../log/index.js'
import type { ProgressNotification, ProverBackend } from '../prover/types.js'
import { failureOf, SessionError } from './session/failure.js'
import type { JobSession } from './session/job-session.js'
import { type SessionInit, type SessionParts, sessionParts } from './session/parts.js'

export interface WholeJobSessionInit extends SessionInit {
  /** The whole-job prover (cli backend): proveJob, then its own verify */
  prover: ProverBackend
}

/**
 * Why an Assign does not fit a whole job, or undefined: exactly one segment, index 0, the whole input, no hints.
 * The rest (input size, SHA-256, path mode's name) is assignProblem's, which Assignments.add applies.
 */
export function wholeAssignProblem(assign: Assign, inputSize: number): string | undefined {
  const [spec, ...more] = assign.segments
  if (spec === undefined || more.length > 0) return 'a whole job is assigned as exactly one segment'
  if (spec.index !== 0 || spec.inputOffset !== 0n || Number(spec.inputLength) !== inputSize)
    return 'a whole job has one segment, 0, covering the whole input'
  if (assign.hints) return 'a whole job has no hints'
  return undefined
}

/**
 * A job this peer proves whole, for one submitter (Reserve with `whole`): what a one-shot command-line prover (the
 * cli backend) can do. One Assign of one segment brings the input (streamed over the inputs protocol, or this peer's
 * own copy in path mode, checked by SHA-256); the prove template runs on it under the session's signal (lease
 * expiry, Cancel, Release, the stream's end, the backend's call timeout: each kills the command's process group),
 * then the verify template; only a proof that passed it is announced (`Final`) and served to the submitter.
 */
export class WholeJobSession implements JobSession {
  private readonly init: WholeJobSessionInit
  private readonly log: Logger
  private readonly parts: SessionParts
  private proving?: Promise<void>
  private final?: ProofFile
  /** The one input stream a whole job has, while open */
  private streamOpen = false

  constructor(init: WholeJobSessionInit) {
    this.init = init
    this.log = init.logger.child({ component: 'worker', job: init.jobId, whole: true })
    this.parts = sessionParts(init, { log: this.log, stop: async (reason) => this.stop(reason) })
  }

  get signal(): AbortSignal {
    return this.parts.signal
  }

  /** Reads the submitter's frames until Release, Cancel or the end of the stream */
  async run(): Promise<void> {
    await mkdir(this.init.workDir, { recursive: true })
    await this.parts.stream.run((frame) => this.handle(frame))
  }

  /** The prove template's progress for this job, relayed (the cli backend names the job id) */
  onProgress(progress: ProgressNotification): void {
    if (progress.job !== this.init.jobId || progress.phase !== 'prove' || this.proving === undefined) return
    this.send({ progress: { phase: 'prove', segment: 0, done: progress.done, total: progress.total } })
  }

  async sliceSink(header: InputsHeader): Promise<FileSink> {
    return this.parts.inputs.sliceSink(header)
  }

  async hintsSink(): Promise<ByteSink> {
    throw new TransferError('a whole job has no hints')
  }

  /** The final proof, once it passed this peer's own verify; a whole job has no segment proofs to hand out */
  heldProof(segment?: number): ProofFile | undefined {
    return segment === undefined ? this.final : undefined
  }

  /** A whole job has one input slice: a second stream at once is refused (the session goes on) */
  openStream(): () => void {
    if (this.streamOpen) throw new TransferError('a whole job takes one input stream at a time')
    this.streamOpen = true
    let released = false
    return () => {
      if (released) return
      released = true
      this.streamOpen = false
    }
  }

  /** Ends the session: kills the running command, frees the work folder; the lease ends with it */
  async stop(reason: string): Promise<void> {
    // the abort kills the command; wait for it, so that the folder it writes into goes after it
    await this.parts.end(reason, async () => this.proving)
  }

  private send(frame: PeerFrame): void {
    this.parts.stream.send(frame)
  }

  /** One frame from the submitter; false when the session is over. Only Assign, Cancel, Release belong here. */
  private handle(frame: SubmitterFrame): boolean {
    if (frame.assign !== undefined) {
      const problem =
        this.proving !== undefined
          ? 'a second Assign in a whole job'
          : (wholeAssignProblem(frame.assign, this.init.inputSize) ??
            this.parts.assignments.add(frame.assign))
      if (problem !== undefined) return this.endOnProtocol(problem)
      const [spec] = frame.assign.segments
      if (spec === undefined) return true
      this.parts.inputs.expect(0)
      this.proving = this.prove(spec).catch((err: unknown) => {
        if (!this.signal.aborted) this.fail(failureOf(err, 0))
      })
    } else if (this.parts.stream.ends(frame)) {
      return false
    } else {
      const name = Object.entries(frame).find(
        ([key, value]) => key !== 'keepAlive' && value !== undefined
      )?.[0]
      if (name !== undefined) return this.endOnProtocol(`${name} has no place in a whole job`)
    }
    return true
  }

  /** Input, prove template, verify template; only then Final */
  private async prove(spec: SegmentSpec): Promise<void> {
    const { prover, jobId, program, workDir } = this.init
    const input = await this.parts.inputs.inputOf(spec)
    const workdir = join(workDir, 'work')
    await mkdir(workdir, { recursive: true })
    const out = join(workDir, 'final.proof')
    const options = { signal: this.signal }
    const proved = await prover.proveJob({ job: jobId, program, input: input.path, out, workdir }, options)
    const verdict = await prover.verify({ program, proof: out, job: jobId, input: input.path }, options)
    if (!verdict.valid) {
      throw new SessionError(
        FailCode.PROOF_INVALID,
        `the proof this peer made failed its own verify: ${verdict.reason ?? 'no reason given'}`,
        0
      )
    }
    const sha256 = fromString(proved.sha256, 'base16')
    this.final = { path: out, size: proved.size, sha256 }
    this.log.info({ size: proved.size, millis: proved.millis }, 'whole job proved and verified')
    const digest = verdict.digest ?? proved.digest
    this.send({
      final: {
        digest: digest === undefined ? new Uint8Array() : fromString(digest, 'base16'),
        size: BigInt(proved.size),
        sha256,
        segments: 1
      }
    })
  }

  /** A frame out of place: the submitter is told why, and the session ends (a whole job has no second chance) */
  private endOnProtocol(problem: string): boolean {
    this.fail(new SessionError(FailCode.PROTOCOL, problem))
    void this.parts.stream.drained.then(async () => this.stop(`protocol: ${problem}`))
    return false
  }

  private fail(error: SessionError): void {
    this.parts.stream.failed(error)
  }
}
