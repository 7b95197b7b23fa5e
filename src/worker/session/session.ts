import { toString } from 'uint8arrays'
import { MAX_SESSION_STREAMS } from '../../../protocols/job/constants.js'
import { FailCode, type PeerFrame, type SubmitterFrame } from '../../../protocols/job/pb/job.js'
import type { InputsHeader } from '../../../protocols/inputs/pb/inputs.js'
import type { ProofFile } from '../../../protocols/proof/codec.js'
import { makeDirectory } from '../../config/directories.js'
import { TransferError } from '../../files/errors.js'
import type { ByteSink, FileSink } from '../../files/file-sink.js'
import type { Logger } from '../../log/index.js'
import type { ProgressNotification, SegmentedProver } from '../../prover/types.js'
import { Aggregation, type ProofFetcher } from './aggregation.js'
import type { SessionContext } from './context.js'
import { SessionError } from './failure.js'
import type { JobSession } from './job-session.js'
import { type SessionInit, type SessionParts, sessionParts } from './parts.js'
import { SegmentPipeline } from './pipeline.js'

/**
 * A session's own name on this peer (its work folder's, and its prover calls' job): one job id may have sessions
 * here for several submitters, each with its own lease. `.` is outside the job id alphabet, so names never clash.
 */
export function sessionName(jobId: string, leaseId: string): string {
  return `${jobId}.${leaseId}`
}

export interface WorkerSessionInit extends SessionInit {
  selfId: string
  prover: SegmentedProver
  fetcher: ProofFetcher
}

/**
 * This peer's share of one job, from the lease to the release: receive the segments' inputs and the hints,
 * contribute, prove, and — when chosen — aggregate. The submitter drives it with frames, which this dispatches to
 * the parts that do each job (assignment.ts, inputs.ts, pipeline.ts, aggregation.ts); everything bulky arrives on
 * the side (inputs, hints) or is pulled (proofs) and lives in the job's work folder until Release.
 */
export class WorkerSession implements JobSession {
  readonly jobId: string
  readonly submitter: string
  /** The session's job name for the prover's contribute, prove and cancel (sessionName) */
  readonly proverJob: string
  private readonly init: WorkerSessionInit
  private readonly log: Logger
  private readonly parts: SessionParts
  private readonly pipeline: SegmentPipeline
  private aggregation?: Aggregation
  private readonly ctx: SessionContext
  /** Inputs and hints streams open now */
  private streams = 0

  constructor(init: WorkerSessionInit) {
    this.init = init
    this.jobId = init.jobId
    this.submitter = init.lease.submitter
    this.proverJob = sessionName(init.jobId, init.lease.leaseId)
    this.log = init.logger.child({ component: 'worker', job: init.jobId })
    this.parts = sessionParts(init, { log: this.log, stop: async (reason) => this.stop(reason) })
    this.ctx = {
      jobId: init.jobId,
      submitter: this.submitter,
      proverJob: this.proverJob,
      program: init.program,
      inputSize: init.inputSize,
      workDir: init.workDir,
      prover: init.prover,
      log: this.log,
      signal: this.parts.signal,
      send: (frame) => this.send(frame),
      fail: (error) => this.fail(error)
    }
    this.pipeline = new SegmentPipeline(this.ctx, this.parts.inputs)
  }

  /** Aborts when the session ends */
  get signal(): AbortSignal {
    return this.parts.signal
  }

  /** Reads the submitter's frames until Release, Cancel or the end of the stream */
  async run(): Promise<void> {
    makeDirectory(this.init.workDir)
    await this.parts.stream.run((frame) => this.handle(frame))
  }

  /** Sends a frame to the submitter, in order with the others */
  send(frame: PeerFrame): void {
    this.parts.stream.send(frame)
  }

  /** Prover progress, relayed to the submitter when it is this session's: its segments', or its aggregation's */
  onProgress(progress: ProgressNotification): void {
    // an NPP v2 prover reports the aggregation under the session's name, a v1 prover under the job id
    const own =
      progress.phase === 'aggregate'
        ? (progress.job === this.proverJob || progress.job === this.jobId) && this.aggregation !== undefined
        : (progress.phase === 'prove' || progress.phase === 'contribute') && progress.job === this.proverJob
    if (!own) return
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
    return this.parts.inputs.sliceSink(header)
  }

  /** A file sink for the job's hints (the hints protocol) */
  async hintsSink(): Promise<ByteSink> {
    return this.parts.inputs.hintsSink()
  }

  /** A proof this session can hand out: a segment it proved, or the final proof it aggregated */
  heldProof(segment?: number): ProofFile | undefined {
    return segment === undefined ? this.aggregation?.finalProof : this.pipeline.proofOf(segment)
  }

  /** Ends the session: stops the native work, frees the work folder; the lease ends with it */
  async stop(reason: string): Promise<void> {
    await this.parts.end(reason, async () => this.init.prover.cancel(this.proverJob))
  }

  /**
   * One frame from the submitter, to the part it concerns; false when the session is over. The first field set
   * counts, in the order assign, challenge, aggregate, fetch, forget, cancel, release, reserve; KeepAlive (or an
   * envelope with none) only renews the lease.
   */
  private handle(frame: SubmitterFrame): boolean {
    if (frame.assign !== undefined) {
      const over = this.parts.assignments.overTotals(frame.assign)
      if (over !== undefined) {
        this.endOverCap(over)
        return false
      }
      const problem = this.parts.assignments.add(frame.assign)
      if (problem !== undefined) {
        this.fail(new SessionError(FailCode.PROTOCOL, problem))
        return true
      }
      for (const spec of frame.assign.segments) this.parts.inputs.expect(spec.index)
      this.pipeline.add(frame.assign.segments)
    } else if (frame.challenge !== undefined) {
      // the submitter sends the challenge to peers it assigned work to; before that it opens no later phase
      const problem = this.parts.assignments.started
        ? this.pipeline.fixChallenge(toString(frame.challenge.challenge, 'base16'))
        : 'Challenge before any Assign'
      if (problem !== undefined) this.fail(new SessionError(FailCode.PROTOCOL, problem))
    } else if (frame.aggregate !== undefined) {
      this.onAggregate(frame.aggregate.contributions.map((c) => toString(c, 'base16')))
    } else if (frame.fetch !== undefined) {
      if (this.aggregation === undefined) {
        this.fail(
          new SessionError(FailCode.PROTOCOL, `FetchProof for segment ${frame.fetch.segment} out of place`)
        )
      } else this.aggregation.fetch(frame.fetch)
    } else if (frame.forget !== undefined) {
      // The segment is no longer this peer's business: as the aggregator, its proof is fetched again from its
      // new peer; as a worker, its copy lost (or moved away) and is not proved if not started. A later Assign
      // brings it back as a new assignment.
      for (const segment of frame.forget.segments) {
        this.aggregation?.forget(segment)
        this.pipeline.forget(segment)
        this.parts.inputs.withdraw(segment)
        this.parts.assignments.forget(segment)
      }
    } else if (this.parts.stream.ends(frame)) {
      return false
    } else if (frame.reserve !== undefined) {
      this.fail(new SessionError(FailCode.PROTOCOL, 'a second Reserve on one job stream'))
    }
    return true
  }

  /**
   * Counts an inputs or hints stream of this session while it is open; returns its release. Past
   * MAX_SESSION_STREAMS at once the stream is refused and the session ends.
   */
  openStream(): () => void {
    if (this.streams >= MAX_SESSION_STREAMS) {
      this.endOverCap(`more than ${MAX_SESSION_STREAMS} inputs and hints streams at once`)
      throw new TransferError('too many streams for this job')
    }
    this.streams++
    let released = false
    return () => {
      if (released) return
      released = true
      this.streams--
    }
  }

  /** The submitter went past one of the session's totals: it is told why, and the session ends */
  private endOverCap(why: string): void {
    this.fail(new SessionError(FailCode.PROTOCOL, why))
    // the Failed frame goes out before the stream closes
    void this.parts.stream.drained.then(async () => this.stop(`over a session cap: ${why}`))
  }

  private onAggregate(contributions: string[]): void {
    if (this.aggregation !== undefined) {
      this.fail(new SessionError(FailCode.PROTOCOL, 'a second AggregateRole'))
      return
    }
    const challenge = this.pipeline.challenge
    if (contributions.length === 0 || challenge === undefined) {
      this.fail(
        new SessionError(FailCode.PROTOCOL, 'AggregateRole before the challenge, or without contributions')
      )
      return
    }
    // The aggregator is a peer that proved its segments: until then nothing here is to be pulled from others
    if (!this.pipeline.provedAny) {
      this.fail(new SessionError(FailCode.PROTOCOL, 'AggregateRole before this peer proved any segment'))
      return
    }
    this.aggregation = new Aggregation(this.ctx, {
      contributions,
      challenge,
      selfId: this.init.selfId,
      fetcher: this.init.fetcher,
      ownProof: (segment) => this.pipeline.proofOf(segment)
    })
    this.log.info({ segments: contributions.length }, 'aggregating')
  }

  private fail(error: SessionError): void {
    this.parts.stream.failed(error)
  }
}
