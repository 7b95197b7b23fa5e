import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import {
  type Assign,
  type FetchProof,
  FailCode,
  InputMode,
  type PeerFrame,
  type SegmentSpec,
  type SubmitterFrame
} from '../../protocols/job/pb/job.js'
import { equals, fromString, toString } from 'uint8arrays'
import type { InputsHeader } from '../../protocols/inputs/pb/inputs.js'
import { makeDirectory } from '../config/directories.js'
import type { Logger } from '../log/index.js'
import { deadline } from '../net/deadline.js'
import type { FrameDuplex } from '../net/frame-duplex.js'
import { toError } from '../net/framed-stream.js'
import { ProverRpcError } from '../prover/errors.js'
import {
  type InputRef,
  NppErrorCode,
  type ProgressNotification,
  type Segment,
  type SegmentedProver
} from '../prover/types.js'
import { ASSIGN_WAIT_MS } from '../../protocols/job/constants.js'
import type { ProofFile } from '../../protocols/proof/codec.js'
import { TransferError } from '../files/errors.js'
import { hashFileRange } from '../files/file-range.js'
import { type ByteSink, type FileSink, openFileSink } from '../files/file-sink.js'
import { resolveInputName } from '../files/inputs-folder.js'
import type { Lease } from './leases.js'
import { peerText } from '../net/peer-text.js'

/** Pulls a proof from the peer that holds it (or from this daemon) into `dest` */
export interface ProofFetcher {
  fetchProof(
    source: { peerId: string; addrs: Uint8Array[] },
    request: { jobId: string; segment: number },
    dest: string,
    signal: AbortSignal
  ): Promise<{ size: number; sha256: Uint8Array }>
}

export interface WorkerSessionInit {
  jobId: string
  selfId: string
  lease: Lease
  program: string
  inputSize: number
  workDir: string
  inputsFolder: string
  prover: SegmentedProver
  channel: FrameDuplex<SubmitterFrame, PeerFrame>
  fetcher: ProofFetcher
  logger: Logger
  /** Called once, when the session is over, with why */
  onEnd: (reason: string) => void
  /** Any frame from the submitter renews the lease */
  renewLease: () => void
  /** How often this peer sends the submitter a frame (KeepAlive when it has nothing else to say) */
  keepAliveMs: number
}

class Deferred<T> {
  readonly promise: Promise<T>
  resolve!: (value: T) => void
  reject!: (err: Error) => void
  settled = false
  constructor() {
    this.promise = new Promise<T>((resolve, reject) => {
      this.resolve = (value) => {
        this.settled = true
        resolve(value)
      }
      this.reject = (err) => {
        this.settled = true
        reject(err)
      }
    })
    // a rejection nobody waits for yet is not an unhandled one: the session reports it through fail()
    this.promise.catch(() => undefined)
  }
}

/** A segment's wait for its input ended by a Forget: not a failure, nothing is reported */
class WithdrawnError extends Error {
  constructor(segment: number) {
    super(`segment ${segment} was withdrawn`)
    this.name = 'WithdrawnError'
  }
}

/** A failure of this peer's share, reported to the submitter as Failed(code, message, segment) */
export class SessionError extends Error {
  readonly code: FailCode
  readonly segment?: number
  /** The aggregator blaming a proof: which proof (its SHA-256) */
  proofSha256?: Uint8Array
  constructor(code: FailCode, message: string, segment?: number) {
    super(message)
    this.name = 'SessionError'
    this.code = code
    this.segment = segment
  }
}

function toSegment(spec: SegmentSpec): Segment {
  return {
    index: spec.index,
    startBlock: Number(spec.startBlock),
    blockCount: Number(spec.blockCount),
    inputOffset: Number(spec.inputOffset),
    inputLength: Number(spec.inputLength)
  }
}

/** Maps a prover error to what the submitter is told */
function failureOf(err: unknown, segment?: number): SessionError {
  if (err instanceof SessionError) return err
  if (err instanceof TransferError) return new SessionError(FailCode.TRANSFER, err.message, segment)
  if (err instanceof ProverRpcError) {
    const data = err.data as { segment?: unknown } | undefined
    const blamed = typeof data?.segment === 'number' ? data.segment : segment
    switch (err.code) {
      case NppErrorCode.PROOF_INVALID:
        return new SessionError(FailCode.PROOF_INVALID, err.message, blamed)
      case NppErrorCode.INVALID_HINTS:
        return new SessionError(FailCode.HINTS, err.message, blamed)
      case NppErrorCode.IO_ERROR:
      case NppErrorCode.INVALID_SEGMENT:
        return new SessionError(FailCode.INPUT, err.message, blamed)
      case NppErrorCode.CANCELLED:
        return new SessionError(FailCode.CANCELLED, err.message, blamed)
      default:
        return new SessionError(FailCode.PROVER, err.message, blamed)
    }
  }
  const error = toError(err)
  if (error.name === 'AbortError' || error.name === 'TimeoutError')
    return new SessionError(FailCode.CANCELLED, error.message, segment)
  return new SessionError(FailCode.PROVER, error.message, segment)
}

/**
 * This peer's share of one job, from the lease to the release: receive the segments' inputs and the hints,
 * contribute, prove, and — when chosen — aggregate. The submitter drives it with frames; everything bulky
 * arrives on the side (inputs, hints) or is pulled (proofs) and lives in the job's work folder until Release.
 */
export class WorkerSession {
  readonly jobId: string
  readonly submitter: string
  private readonly init: WorkerSessionInit
  private readonly log: Logger
  private readonly controller = new AbortController()
  /** The first Assign: its input fields hold for every later one */
  private readonly assigned = new Deferred<Assign>()
  private firstAssign?: Assign
  /** Every segment assigned here, by index; a later Assign adds to it */
  private readonly specs = new Map<number, SegmentSpec>()
  /**
   * Settled, then replaced, at every Assign. A slice travels on its own stream and can overtake the Assign that
   * announces its segment on the job stream (a takeover to a peer that already has work): it waits on this.
   */
  private assignArrived = new Deferred<void>()
  private readonly slices = new Map<number, Deferred<void>>()
  private readonly hints = new Deferred<string>()
  private readonly challenge = new Deferred<string>()
  private readonly proofs = new Map<number, ProofFile>()
  /** Segments contribute one after another, and prove one after another once the challenge is known */
  private contributing: Promise<void> = Promise.resolve()
  private proving: Promise<void> = Promise.resolve()
  private readonly contributed: SegmentSpec[] = []
  private readonly proveQueued = new Set<number>()
  /** Segments the submitter no longer wants from this peer (a backup copy elsewhere won) */
  private readonly forgotten = new Set<number>()
  private finalProof?: ProofFile
  private aggregation?: {
    contributions: string[]
    /** Segment → the proof fetched for it (a file, and the SHA-256 its peer reported) */
    fetched: Map<number, { path: string; sha256: Uint8Array }>
    running: boolean
    rerun: boolean
  }
  private sending: Promise<void> = Promise.resolve()
  private keepAlive?: NodeJS.Timeout
  private ended = false

  constructor(init: WorkerSessionInit) {
    this.init = init
    this.jobId = init.jobId
    this.submitter = init.lease.submitter
    this.log = init.logger.child({ component: 'worker', job: init.jobId })
  }

  get signal(): AbortSignal {
    return this.controller.signal
  }

  /** Reads the submitter's frames until Release, Cancel or the end of the stream */
  async run(): Promise<void> {
    makeDirectory(this.init.workDir)
    // The submitter tells a frozen peer (SIGSTOP, a dead link) from a busy one by these
    this.keepAlive = setInterval(() => this.send({ keepAlive: {} }), this.init.keepAliveMs)
    this.keepAlive.unref()
    try {
      for (;;) {
        const frame = await this.init.channel.read(this.signal)
        if (frame === undefined) {
          await this.stop('the submitter closed the job stream')
          return
        }
        this.init.renewLease()
        if (!this.handle(frame)) return
      }
    } catch (err) {
      if (!this.ended) await this.stop(`job stream failed: ${toError(err).message}`)
    }
  }

  /** Sends a frame to the submitter, in order with the others */
  send(frame: PeerFrame): void {
    if (this.ended) return
    this.sending = this.sending
      .then(async () => this.init.channel.write(frame, this.signal))
      .catch((err: unknown) => {
        if (!this.ended) this.log.debug({ err }, 'frame not sent')
      })
  }

  /** Prover progress for this job, relayed to the submitter */
  onProgress(progress: ProgressNotification): void {
    if (progress.phase !== 'prove' && progress.phase !== 'contribute' && progress.phase !== 'aggregate')
      return
    this.send({
      progress: {
        phase: progress.phase,
        segment: progress.segment ?? 0,
        done: progress.done,
        total: progress.total
      }
    })
  }

  /** A file sink for one segment's input slice, checked against the assignment (the inputs protocol) */
  async sliceSink(header: InputsHeader): Promise<FileSink> {
    if (header.jobId !== this.jobId) throw new TransferError('the slice is for another job')
    const spec = await this.specWithin(header.segment, ASSIGN_WAIT_MS)
    if ((this.firstAssign as Assign).inputMode !== InputMode.DATA)
      throw new TransferError('this job reads its input in path mode')
    if (
      header.offset !== spec.inputOffset ||
      header.length !== spec.inputLength ||
      Number(header.total) !== this.init.inputSize ||
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
        slice?.resolve()
      }
    }
  }

  /** A file sink for the job's hints (the hints protocol) */
  async hintsSink(): Promise<ByteSink> {
    const assign = await this.assignedWithin(ASSIGN_WAIT_MS)
    if (!assign.hints) throw new TransferError('this job has no hints')
    if (this.hints.settled) throw new TransferError('the hints are already here')
    const path = join(this.init.workDir, 'hints')
    const sink = await openFileSink({ path })
    return {
      ...sink,
      finish: async (total, sha256, signal) => {
        await sink.finish(total, sha256, signal)
        this.hints.resolve(path)
      }
    }
  }

  /** A proof this session can hand out: a segment it proved, or the final proof it aggregated */
  heldProof(segment?: number): ProofFile | undefined {
    return segment === undefined ? this.finalProof : this.proofs.get(segment)
  }

  /** Ends the session: stops the native work, frees the work folder; the lease ends with it */
  async stop(reason: string): Promise<void> {
    if (this.ended) return
    this.ended = true
    clearInterval(this.keepAlive)
    this.log.info({ reason }, 'job session ended')
    this.controller.abort(new SessionError(FailCode.CANCELLED, reason))
    await this.init.prover.cancel(this.jobId).catch(() => undefined)
    await this.init.channel.close().catch(() => undefined)
    await rm(this.init.workDir, { recursive: true, force: true }).catch(() => undefined)
    this.init.onEnd(reason)
  }

  /** false when the session is over */
  private handle(frame: SubmitterFrame): boolean {
    if (frame.assign !== undefined) this.onAssign(frame.assign)
    else if (frame.challenge !== undefined) this.onChallenge(toString(frame.challenge.challenge, 'base16'))
    else if (frame.aggregate !== undefined)
      this.onAggregate(frame.aggregate.contributions.map((c) => toString(c, 'base16')))
    else if (frame.fetch !== undefined) this.onFetch(frame.fetch)
    else if (frame.forget !== undefined) {
      // The segment is no longer this peer's business: as the aggregator, its proof is fetched again from its
      // new peer; as a worker, its copy lost (or moved away) and is not proved if not started. A later Assign
      // brings it back as a new assignment.
      for (const segment of frame.forget.segments) {
        this.aggregation?.fetched.delete(segment)
        this.forgotten.add(segment)
        // its slice may never come now (the submitter skips a withdrawn copy's): the wait for it ends here
        const slice = this.slices.get(segment)
        if (slice !== undefined && !slice.settled) slice.reject(new WithdrawnError(segment))
        this.specs.delete(segment)
        this.proveQueued.delete(segment)
        const at = this.contributed.findIndex((spec) => spec.index === segment)
        if (at >= 0) this.contributed.splice(at, 1)
      }
    } else if (frame.cancel !== undefined) {
      void this.stop(`cancelled by the submitter: ${frame.cancel.reason}`)
      return false
    } else if (frame.release !== undefined) {
      void this.stop('released')
      return false
    } else if (frame.reserve !== undefined) {
      this.fail(new SessionError(FailCode.PROTOCOL, 'a second Reserve on one job stream'))
    }
    // KeepAlive only renews the lease
    return true
  }

  private onAssign(assign: Assign): void {
    const problem = this.checkAssign(assign)
    if (problem !== undefined) {
      this.fail(new SessionError(FailCode.PROTOCOL, problem))
      return
    }
    for (const spec of assign.segments) {
      this.specs.set(spec.index, spec)
      this.slices.set(spec.index, new Deferred<void>())
      this.forgotten.delete(spec.index)
    }
    if (!this.assigned.settled) {
      this.firstAssign = assign
      this.assigned.resolve(assign)
    }
    this.assignArrived.resolve()
    this.assignArrived = new Deferred<void>()
    for (const spec of assign.segments) {
      this.contributing = this.contributing.then(async () => {
        if (this.ended || this.forgotten.has(spec.index)) return
        try {
          await this.contributeOne(spec)
        } catch (err) {
          // withdrawn while it waited for its input or ran: nobody wants this contribution any more
          if (!(err instanceof WithdrawnError) && !this.forgotten.has(spec.index))
            this.fail(failureOf(err, spec.index))
        }
      })
    }
  }

  private checkAssign(assign: Assign): string | undefined {
    if (Number(assign.inputSize) !== this.init.inputSize)
      return 'Assign names another input size than Reserve'
    if (assign.segments.length === 0) return 'Assign has no segment'
    const first = this.firstAssign
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
      if (seen.has(spec.index) || this.specs.has(spec.index)) return `segment ${spec.index} is assigned twice`
      seen.add(spec.index)
      if (spec.inputOffset + spec.inputLength > assign.inputSize)
        return `segment ${spec.index} lies outside the input`
      if (spec.inputSha256.byteLength !== 32) return `segment ${spec.index} has no SHA-256`
    }
    if (assign.inputMode === InputMode.PATH && assign.inputName === '')
      return 'path mode without an input name'
    return undefined
  }

  /** Where a segment's input is: its slice as received (data mode), or this peer's checked copy (path mode) */
  private async inputOf(assign: Assign, spec: SegmentSpec): Promise<InputRef> {
    if (assign.inputMode !== InputMode.PATH) return this.sliceInput(spec)
    const input = await this.resolvePathInput(assign)
    await this.checkSlice(input, spec, assign.inputName)
    return input
  }

  private async contributeOne(spec: SegmentSpec): Promise<void> {
    const { prover, program, inputSize } = this.init
    const assign = await this.waitFor(this.assigned.promise)
    const input = await this.inputOf(assign, spec)
    const hints = assign.hints ? await this.waitFor(this.hints.promise) : undefined
    const { contribution } = await prover.contribute(
      { job: this.jobId, program, inputSize, segment: toSegment(spec), input, hints },
      { signal: this.signal }
    )
    this.send({ contribution: { segment: spec.index, contribution: fromString(contribution, 'base16') } })
    this.contributed.push(spec)
    this.queueProofs()
  }

  private async resolvePathInput(assign: Assign): Promise<InputRef> {
    try {
      const file = await resolveInputName(this.init.inputsFolder, assign.inputName)
      if (file.size !== this.init.inputSize) {
        throw new SessionError(
          FailCode.INPUT,
          `input "${assign.inputName}" here has ${file.size} bytes, the submitter's has ${this.init.inputSize}`
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

  private async sliceInput(spec: SegmentSpec): Promise<InputRef> {
    const slice = this.slices.get(spec.index)
    if (slice !== undefined) await this.waitFor(slice.promise)
    return { path: this.slicePath(spec.index), offset: Number(spec.inputOffset) }
  }

  private onChallenge(challenge: string): void {
    if (this.challenge.settled) {
      this.fail(new SessionError(FailCode.PROTOCOL, 'a second Challenge'))
      return
    }
    if (!/^[0-9a-f]{64}$/.test(challenge)) {
      this.fail(new SessionError(FailCode.PROTOCOL, 'the challenge is not 32 bytes'))
      return
    }
    this.challenge.resolve(challenge)
    this.queueProofs()
  }

  /** Every contributed segment not yet queued joins the prove queue, once the challenge is known */
  private queueProofs(): void {
    if (!this.challenge.settled) return
    for (const spec of this.contributed) {
      if (this.proveQueued.has(spec.index)) continue
      this.proveQueued.add(spec.index)
      this.proving = this.proving.then(async () => {
        if (this.ended || this.forgotten.has(spec.index)) return
        try {
          await this.proveOne(spec)
        } catch (err) {
          this.fail(failureOf(err, spec.index))
        }
      })
    }
  }

  private async proveOne(spec: SegmentSpec): Promise<void> {
    const challenge = await this.waitFor(this.challenge.promise)
    const assign = await this.waitFor(this.assigned.promise)
    const input = await this.inputOf(assign, spec)
    const hints = assign.hints ? await this.waitFor(this.hints.promise) : undefined
    const { prover, program, inputSize } = this.init
    const out = join(this.init.workDir, `proof-${spec.index}`)
    const result = await prover.prove(
      { job: this.jobId, program, inputSize, segment: toSegment(spec), input, hints, challenge, out },
      { signal: this.signal }
    )
    const sha256 = fromString(result.sha256, 'base16')
    this.proofs.set(spec.index, { path: out, size: result.size, sha256 })
    this.send({
      proved: {
        segment: spec.index,
        size: BigInt(result.size),
        sha256,
        millis: Math.min(result.millis, 2 ** 32 - 1)
      }
    })
  }

  private onAggregate(contributions: string[]): void {
    if (this.aggregation !== undefined) {
      this.fail(new SessionError(FailCode.PROTOCOL, 'a second AggregateRole'))
      return
    }
    if (contributions.length === 0 || !this.challenge.settled) {
      this.fail(
        new SessionError(FailCode.PROTOCOL, 'AggregateRole before the challenge, or without contributions')
      )
      return
    }
    this.aggregation = { contributions, fetched: new Map(), running: false, rerun: false }
    this.log.info({ segments: contributions.length }, 'aggregating')
  }

  private onFetch(fetch: FetchProof): void {
    const aggregation = this.aggregation
    if (aggregation === undefined || fetch.segment >= aggregation.contributions.length || this.ended) {
      this.fail(new SessionError(FailCode.PROTOCOL, `FetchProof for segment ${fetch.segment} out of place`))
      return
    }
    this.fetchOne(aggregation, fetch)
      .catch((err: unknown) => {
        // a failed dial, a reset stream or a bad header is the transfer's fault, not the prover's
        throw err instanceof SessionError
          ? err
          : new SessionError(FailCode.TRANSFER, toError(err).message, fetch.segment)
      })
      .then(async () => this.aggregateWhenComplete(aggregation))
      .catch((err: unknown) => this.fail(failureOf(err, fetch.segment)))
  }

  private async fetchOne(
    aggregation: NonNullable<WorkerSession['aggregation']>,
    fetch: FetchProof
  ): Promise<void> {
    if (fetch.peerId === this.init.selfId) {
      // Our own segment: use the file where it is (after waiting for its proof if the frame came early)
      const own = this.proofs.get(fetch.segment)
      if (own === undefined)
        throw new SessionError(FailCode.PROTOCOL, `segment ${fetch.segment} is not proved here`)
      aggregation.fetched.set(fetch.segment, { path: own.path, sha256: own.sha256 })
      return
    }
    const dest = join(this.init.workDir, `fetched-${fetch.segment}`)
    const got = await this.init.fetcher.fetchProof(
      { peerId: fetch.peerId, addrs: fetch.addrs },
      { jobId: this.jobId, segment: fetch.segment },
      dest,
      this.signal
    )
    if (!equals(got.sha256, fetch.sha256)) {
      throw new SessionError(
        FailCode.TRANSFER,
        `segment ${fetch.segment}'s proof is not the one its peer reported`,
        fetch.segment
      )
    }
    aggregation.fetched.set(fetch.segment, { path: dest, sha256: fetch.sha256 })
  }

  /**
   * Aggregates once a proof of every segment is here. A proof that fails is dropped: its segment moves to another
   * peer, and the FetchProof of its replacement runs the aggregation again.
   */
  private async aggregateWhenComplete(aggregation: NonNullable<WorkerSession['aggregation']>): Promise<void> {
    if (aggregation.fetched.size < aggregation.contributions.length) return
    if (aggregation.running) {
      aggregation.rerun = true
      return
    }
    aggregation.running = true
    try {
      const challenge = await this.waitFor(this.challenge.promise)
      const out = join(this.init.workDir, 'final')
      const used = aggregation.contributions.map((_, index) => aggregation.fetched.get(index))
      const proofs = used.map((proof) => proof?.path as string)
      const result = await this.init.prover
        .aggregate(
          {
            job: this.jobId,
            program: this.init.program,
            inputSize: this.init.inputSize,
            challenge,
            contributions: aggregation.contributions,
            proofs,
            out
          },
          { signal: this.signal }
        )
        .catch((err: unknown) => {
          const failure = failureOf(err)
          if (failure.code === FailCode.PROOF_INVALID && failure.segment !== undefined) {
            failure.proofSha256 = used[failure.segment]?.sha256
            // dropped only if it is still the one that failed: a newer FetchProof may have replaced it meanwhile
            if (aggregation.fetched.get(failure.segment) === used[failure.segment]) {
              aggregation.fetched.delete(failure.segment)
            }
          }
          throw failure
        })
      const sha256 = fromString(result.sha256, 'base16')
      this.finalProof = { path: out, size: result.size, sha256 }
      this.send({
        final: {
          digest: fromString(result.digest, 'base16'),
          size: BigInt(result.size),
          sha256,
          segments: result.segments
        }
      })
    } finally {
      aggregation.running = false
    }
    if (aggregation.rerun) {
      aggregation.rerun = false
      await this.aggregateWhenComplete(aggregation)
    }
  }

  private fail(error: SessionError): void {
    if (this.ended) return
    this.log.warn(
      { code: FailCode[error.code], segment: error.segment, err: error.message },
      'job share failed'
    )
    this.send({
      failed: {
        code: error.code,
        // the prover's and the file system's texts name this machine's files: the submitter is another machine
        message: peerText(error.message),
        segment: error.segment,
        proofSha256: new Uint8Array(error.proofSha256 ?? [])
      }
    })
  }

  private slicePath(index: number): string {
    return join(this.init.workDir, `slice-${index}`)
  }

  private async assignedWithin(ms: number): Promise<Assign> {
    return this.waitFor(
      this.assigned.promise,
      AbortSignal.any([this.signal, deadline(`the first Assign of job ${this.jobId}`, ms)])
    )
  }

  /** A segment's assignment, waiting up to `ms` for the Assign that brings it */
  private async specWithin(index: number, ms: number): Promise<SegmentSpec> {
    const signal = AbortSignal.any([this.signal, deadline(`the Assign of segment ${index}`, ms)])
    for (;;) {
      const spec = this.specs.get(index)
      if (spec !== undefined) return spec
      await this.waitFor(this.assignArrived.promise, signal).catch((err: unknown) => {
        throw this.signal.aborted ? err : new TransferError(`segment ${index} is not assigned to this peer`)
      })
    }
  }

  /** A promise, given up when the session ends (or the signal fires) */
  private async waitFor<T>(promise: Promise<T>, signal: AbortSignal = this.signal): Promise<T> {
    signal.throwIfAborted()
    return await new Promise<T>((resolve, reject) => {
      const onAbort = (): void => reject(toError(signal.reason))
      signal.addEventListener('abort', onAbort, { once: true })
      promise.then(
        (value) => {
          signal.removeEventListener('abort', onAbort)
          resolve(value)
        },
        (err: unknown) => {
          signal.removeEventListener('abort', onAbort)
          reject(toError(err))
        }
      )
    })
  }
}
