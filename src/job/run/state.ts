import type { TransferLimits } from '../../net/transfer-deadline.js'
import type { SubmitterTransport } from '../transport.js'
import type { ProverSupervisor } from '../../prover/supervisor.js'
import type { Logger } from '../../log/index.js'
import { deadline } from '../../net/deadline.js'
import { toError } from '../../net/framed-stream.js'
import { JobFailure } from '../errors.js'
import { JobHints } from '../hints.js'
import { endPhase, enterState } from '../phases.js'
import type { Candidate, Link } from '../link.js'
import type { PeerFrame } from '../../../protocols/job/pb/job.js'
import type { PeerFailure } from '../../jobs-model/types.js'
import { ProgressRelay } from '../progress.js'
import { SilenceWatch } from '../../silence-watch.js'
import type { JobPhase, JobState } from '../../jobs-model/states.js'
import type { JobRecord, NewJobEvent } from '../../jobs-model/types.js'

/** What a job run needs of the submitter's prover: its programs, a plan, a verdict on the final proof */
export type JobProver = Pick<ProverSupervisor, 'info' | 'plan' | 'verify'>

/** How a job run reaches its peers (SubmitterTransport; an in-memory one in the unit harness) */
export type JobTransport = Pick<SubmitterTransport, 'openJob' | 'pushSlice' | 'hintsSink' | 'fetchFinalProof'>

export interface JobRunSettings {
  leaseMs: number
  /** A peer silent this long (no frame, keep-alives included) is lost */
  peerTimeoutMs: number
  /** How often one segment may move to another peer, and how many invalid final proofs are tried again */
  maxRetries: number
  /** A segment proving this many times longer than the median of the proved ones gets a backup copy; 0 = off */
  stragglerFactor: number
  phase1TimeoutMs: number
  phase2TimeoutMs: number
  aggregateTimeoutMs: number
  /** A peer with work in hand that reports no progress this long loses its segments (keep-alives do not count) */
  progressTimeoutMs: number
  /** A transfer to or from a peer (a slice, the hints, the final proof) that stalls or trickles fails */
  transferLimits: TransferLimits
  maxPeersPerJob: number
  /** Where the final proof is saved (when the request says so) */
  proofsDir: string
  /** This job's own folder on the submitter: its input copy, hints, final proof */
  jobDir: string
  inputsFolder: string
}

/** What a run tells JobService of its peers, which keeps the books (penalty points, refusal back-offs, caps) */
export interface PeerJudgements {
  /** Records bad work against a peer (invalid proofs): selection prefers others, and excludes it above a limit */
  penalise(peerId: string, reason: string): void
  /** A peer refused a lease (or did not answer): the submitter asks it again only after a back-off */
  refused(peerId: string): void
  /**
   * A peer granted a lease: its back-off, if any, ends; `submitterCap` is the most units it lets this submitter
   * hold at once (0: no cap stated)
   */
  granted(peerId: string, submitterCap: number): void
  /** Whether `units` is all `peerId` lets this submitter hold (the cap its last grant stated) */
  capReached(peerId: string, units: number): boolean
}

export interface JobRunContext extends PeerJudgements {
  record: JobRecord
  /** Journals the record as it stands */
  save(): void
  event(event: NewJobEvent): void
  prover: JobProver
  transport: JobTransport
  candidates(): Candidate[]
  /**
   * One round of asking neighbours for adverts the table lacks, for `units` more (capacity/pull.ts), within the
   * job's pull rounds; settles once the peers it found are listed (or its deadline passed). Absent: no pulls.
   */
  pullCapacity?(units: number): Promise<void>
  settings: JobRunSettings
  logger: Logger
  /** Aborted on cancel or when the job's time is up; its reason is a JobFailure */
  signal: AbortSignal
}

export interface Dispute {
  /**
   * The third peer computing it; none while it waits for one: for a peer of the job to deliver, or for one leased
   * from the table (src/job/run/disputes.ts, askReferee)
   */
  referee?: Link
  /** When the referee was asked (its deadline: secondOpinionDeadlineMs in src/job/run/recovery.ts) */
  since?: number
  /** A referee is being leased from the table for it */
  leasing?: boolean
  /** The peer whose contribution differed from the recorded one, and that contribution */
  claimant: Link
  contribution: string
  /** Per peer, the contribution it computed */
  claims: Map<string, string>
}

/** A second computation of one contribution before the challenge (src/job/run/checks.ts) */
export interface Check {
  /** The peer computing it; none while one is leased from the table */
  checker?: Link
  /** When the checker was asked (its deadline: secondOpinionDeadlineMs in src/job/run/recovery.ts) */
  since?: number
  /** What the checker computed, once in */
  claim?: string
}

export interface FinalReport {
  link: Link
  size: number
  sha256: string
}

/**
 * What the parts of one job run share: the context it was given, and the state of the run that more than one part
 * reads or changes (links, disputes, the aggregator, the final proof, the failure that ends it). Each part is a
 * module of functions taking it (src/job/run/*.ts); the phase driver is src/job/run.ts.
 */
/**
 * The two calls that go up the parts' layers (leases < shipping < backups, disputes, aggregation < frames,
 * recovery): any part that sees a peer fail hands it to recovery, and the reader of a job stream (leases) hands
 * each frame to the frame handler. run.ts wires them, so that no part imports one above it.
 */
export interface RunUpcalls {
  peerFailed(run: JobRunState, link: Link, failure: PeerFailure, blamed?: number): void
  onFrame(run: JobRunState, link: Link, frame: PeerFrame): void
}

/** What the run knows of one aggregator's fetches (JobRunState.fetches) */
export function newFetches(): {
  failures: Map<number, number>
  unreached: Set<string>
  withdrawn: Set<number>
} {
  return { failures: new Map(), unreached: new Set(), withdrawn: new Set() }
}

export class JobRunState {
  readonly ctx: JobRunContext
  readonly log: Logger
  readonly links: Link[] = []
  /** Peers this job will not use again: they refused, failed or were lost */
  readonly excluded = new Set<string>()
  private changed = Promise.withResolvers<void>()
  /** What fails the job at its next wait (see until): the first one set stands */
  failure?: Error
  aggregator?: Link
  final?: FinalReport
  finalAttempts = 0
  /** Segments whose contributions two peers disagree on, and the third peer computing it again (once there is one) */
  readonly disputes = new Map<number, Dispute>()
  /** Contributions a second peer is computing before the challenge, per segment */
  readonly checks = new Map<number, Check>()
  /** Peers with a contribution that a second peer computed alike in this job: not checked again */
  readonly vouched = new Set<string>()
  /** When each segment was last assigned to its owner: how long its contribution took is timed from it */
  readonly assignedAt = new Map<number, number>()
  /** The longest a peer of this job took to send a contribution it was asked for: the checks' deadline scales with it */
  slowestContributionMs = 0
  /** Peers accepted without a check: no second peer could be had */
  readonly unchecked = new Set<string>()
  /** Checkers and referees being leased from the table: the challenge waits for them */
  leasingSpares = 0
  /** Peers relieved of aggregating (their connection failed them); they keep their segments */
  readonly relieved = new Set<Link>()
  /**
   * The current aggregator's failed fetches: per segment, and the owners it could not reach; and the segments whose
   * fetch it was told to drop (Forget: the segment moved after it was sent)
   */
  fetches = newFetches()
  /** Per segment, the peers that refused it (refusesSegment): judgeRefusals decides from them */
  readonly refusals = new Map<number, { remote: Set<string>; local: boolean }>()
  /** Segments move one batch at a time */
  recovery: Promise<void> = Promise.resolve()
  /** The input file the slices are read from (set by the plan) */
  input = ''
  /** The job has ended: nothing more is started, saved or blamed */
  done = false
  readonly hints: JobHints
  readonly progress: ProgressRelay
  /** A journal write of the byte counts, due while slices stream */
  countsSave?: NodeJS.Timeout
  /** The remote peers' silences, and this daemon's own (see SilenceWatch) */
  readonly silence: SilenceWatch<Link>
  readonly tickMs: number

  private readonly upcalls: RunUpcalls

  constructor(ctx: JobRunContext, upcalls: RunUpcalls) {
    this.ctx = ctx
    this.upcalls = upcalls
    this.log = ctx.logger.child({ component: 'job', job: ctx.record.id })
    this.hints = new JobHints(ctx.record.request.hints, ctx.settings.jobDir, ctx.signal)
    this.progress = new ProgressRelay({ emit: (report) => ctx.event({ kind: 'progress', ...report }) })
    // a tenth of peer_timeout: a frozen peer is noticed within a tenth of it beyond, a stall of this daemon
    // longer than two tenths is not counted against anyone
    this.tickMs = Math.max(50, Math.floor(ctx.settings.peerTimeoutMs / 10))
    this.silence = new SilenceWatch({ limitMs: ctx.settings.peerTimeoutMs, tickMs: this.tickMs })
  }

  get record(): JobRecord {
    return this.ctx.record
  }

  /** A peer failed (recovery moves its segments; `blamed`: the one segment the failure was about) */
  peerFailed(link: Link, failure: PeerFailure, blamed?: number): void {
    this.upcalls.peerFailed(this, link, failure, blamed)
  }

  /** A frame from a peer's job stream */
  onFrame(link: Link, frame: PeerFrame): void {
    this.upcalls.onFrame(this, link, frame)
  }

  healthyLinks(): Link[] {
    return this.links.filter((link) => !link.closed)
  }

  /** Wakes every wait (until) to look again: something in the run changed */
  notify(): void {
    this.changed.resolve()
    this.changed = Promise.withResolvers<void>()
  }

  /** Waits until `done()` holds, a peer fails, the job is cancelled or `timeoutMs` passes */
  async until(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const timeout = deadline(what, timeoutMs)
    const signal = AbortSignal.any([this.ctx.signal, timeout])
    const aborted = new Promise<never>((_, reject) => {
      const onAbort = (): void => {
        reject(
          this.ctx.signal.aborted
            ? toError(this.ctx.signal.reason)
            : new JobFailure('TIMEOUT', toError(timeout.reason).message)
        )
      }
      if (signal.aborted) onAbort()
      else signal.addEventListener('abort', onAbort, { once: true })
    })
    aborted.catch(() => undefined)
    for (;;) {
      if (this.failure !== undefined) throw this.failure
      if (done()) return
      await Promise.race([this.changed.promise, aborted])
    }
  }

  setState(state: JobState, phase?: JobPhase): void {
    enterState(this.record, this.ctx, state, phase)
  }

  endPhase(phase: JobPhase): void {
    endPhase(this.record, this.ctx, phase)
  }
}
