import { makeDirectory } from '../config/directories.js'
import { computeChallenge } from '../prover/challenge.js'
import { segmentOf } from '../prover/prove-job.js'
import { MAX_SEGMENTS_PER_JOB } from '../../protocols/job/constants.js'
import { CapacityShortError, JobFailure } from './errors.js'
import { hashSlices } from './files.js'
import { jobInputFile } from './input-file.js'
import { ceilPow2, jobSegments } from './layout.js'
import { shortPeerId } from '../jobs-model/peer-id.js'
import type { SegmentRecord } from '../jobs-model/types.js'
import { type FinalReport, type JobRunContext, JobRunState, type RunUpcalls } from './run/state.js'
import { onFrame } from './run/frames.js'
import { reserve, releaseAll, closeLink } from './run/leases.js'
import { assignTo, sendChallenge, track } from './run/shipping.js'
import {
  checkProgress,
  checkSecondOpinions,
  checkSilence,
  peerFailed,
  moveSegmentsOf
} from './run/recovery.js'
import { requestChecks } from './run/checks.js'
import { checkStragglers } from './run/backups.js'
import { electAggregator } from './run/aggregation.js'
import { verify } from './run/verify.js'

export type { JobProver, JobRunContext, JobRunSettings, JobTransport, PeerJudgements } from './run/state.js'

/** How the run's parts reach the two above them (see RunUpcalls) */
export const RUN_UPCALLS: RunUpcalls = { peerFailed, onFrame }

/**
 * One job on its submitter, from leasing units to the verified final proof: the phase driver of the state machine
 * of docs/architecture.md. Each state change is journaled (ctx.save) before the frames that act on it go out.
 * The parts it drives, one job each, are in src/job/run/: leases (links), shipping (inputs, hints, challenge),
 * frames (what each peer frame changes), recovery (failed peers, moved segments), disputes, backups,
 * aggregation, verify (and save); they share one JobRunState.
 */
export class JobRun {
  private readonly state: JobRunState

  constructor(ctx: JobRunContext) {
    this.state = new JobRunState(ctx, RUN_UPCALLS)
  }

  /** Resolves once the proof is verified and saved; throws JobFailure, or CapacityShortError to requeue */
  async run(): Promise<void> {
    const watchdog = setInterval(() => {
      checkSilence(this.state)
      checkProgress(this.state)
      checkSecondOpinions(this.state)
      checkStragglers(this.state)
    }, this.state.tickMs)
    watchdog.unref()
    try {
      await reserve(this.state)
      this.state.input = await this.plan()
      await this.contribute()
      await this.prove()
      await this.aggregateAndVerify()
      this.state.done = true
      await releaseAll(this.state, 'release', 'the job succeeded')
    } catch (err) {
      this.state.done = true
      const reason = err instanceof Error ? err.message : String(err)
      await releaseAll(this.state, 'cancel', reason)
      throw err
    } finally {
      clearInterval(watchdog)
      clearTimeout(this.state.countsSave)
      this.state.progress.stop()
    }
  }

  /** Lays the segments out over the leased peers, has this daemon's prover plan them (hints, digest); returns the input file */
  private async plan(): Promise<string> {
    this.state.setState('planning', 'plan')
    const { request, id } = this.state.record
    const { settings, prover } = this.state.ctx
    makeDirectory(settings.jobDir)
    const input = await this.inputFile()
    const program = prover.info.programs.find((candidate) => candidate.id === request.program)
    if (program === undefined)
      throw new JobFailure('PROGRAM', `this daemon's prover does not run ${request.program}`)
    const size = this.state.record.inputSize ?? 0
    const peers = this.state
      .healthyLinks()
      .map((link) => ({ id: link.peer.peerId, units: link.record.units }))
    if (peers.length === 0) throw new CapacityShortError('every leased peer was lost before the plan', 0)
    // This daemon owns the layout (it knows the peers and their units); the prover checks it and adds the hints
    const layout = jobSegments(program, size, peers)
    if (layout.length > MAX_SEGMENTS_PER_JOB) {
      throw new JobFailure(
        'INPUT',
        `the input needs ${layout.length} segments, over the ${MAX_SEGMENTS_PER_JOB} one job may have`
      )
    }
    const hintsOut = request.hints === undefined ? this.state.hints.path : undefined
    const plan = await prover.plan(
      {
        job: id,
        program: request.program,
        input: { path: input, offset: 0 },
        segments: layout.map(segmentOf),
        hintsOut
      },
      { signal: this.state.ctx.signal, timeoutMs: settings.phase1TimeoutMs }
    )
    if (plan.inputSize !== size) {
      throw new JobFailure('PROVER', `the prover planned ${plan.inputSize} input bytes, the job has ${size}`)
    }
    const slices = await hashSlices(input, layout)
    this.state.record.inputSha256 = slices.whole
    this.state.record.expectedDigest = plan.digest
    this.state.record.segments = layout.map((segment, i): SegmentRecord => ({
      ...segmentOf(segment),
      inputSha256: slices.segments[i] as string,
      peerId: segment.peer,
      state: 'assigned'
    }))
    this.state.record.fill = {
      usefulBlocks: this.state.record.segments.reduce((sum, segment) => sum + segment.blockCount, 0),
      paddedBlocks: this.state.record.segments.reduce((sum, segment) => sum + ceilPow2(segment.blockCount), 0)
    }
    for (const link of this.state.links) {
      link.segments = this.state.record.segments
        .filter((segment) => segment.peerId === link.peer.peerId)
        .map((s) => s.index)
    }
    this.state.ctx.save()
    this.state.endPhase('plan')
    // A peer the layout left without work gets its units back at once
    for (const link of this.state.links.filter((candidate) => candidate.segments.length === 0)) {
      await closeLink(this.state, link, 'release', 'no segment for this peer')
    }
    return input
  }

  private async inputFile(): Promise<string> {
    return jobInputFile(
      this.state.record,
      this.state.ctx.settings.jobDir,
      this.state.ctx.settings.inputsFolder
    )
  }

  private async contribute(): Promise<void> {
    this.state.setState('contributing', 'contribute')
    for (const link of this.state.healthyLinks().filter((candidate) => candidate.segments.length > 0)) {
      const segments = link.segments.map((index) => this.state.record.segments[index] as SegmentRecord)
      for (const segment of segments) this.state.assignedAt.set(segment.index, Date.now())
      track(this.state, assignTo(this.state, link, segments), link)
    }
    for (const link of this.state.links.filter(
      (candidate) => candidate.closed && candidate.segments.length > 0
    )) {
      // lost while the plan ran: its share moves before anything was sent to it
      moveSegmentsOf(this.state, link, `peer ${shortPeerId(link.peer.peerId)} was lost before its assignment`)
    }
    requestChecks(this.state)
    await this.state.until(
      // every contribution in, and every check of one settled: a lie fixed in the challenge would cost a restart
      () =>
        this.state.record.segments.every((segment) => segment.contribution !== undefined) &&
        this.state.checks.size === 0 &&
        this.state.disputes.size === 0 &&
        this.state.leasingSpares === 0,
      this.state.ctx.settings.phase1TimeoutMs,
      'phase 1 (inputs, hints and contributions)'
    )
    const contributions = this.state.record.segments.map((segment) => segment.contribution as string)
    this.state.record.challenge = computeChallenge(this.state.record.id, contributions)
    for (const link of this.state.healthyLinks())
      if (link.segments.length > 0) link.record.state = 'contributed'
    this.state.ctx.save()
    this.state.endPhase('contribute')
    this.state.setState('proving', 'prove')
    for (const link of this.state.healthyLinks())
      if (link.segments.length > 0) sendChallenge(this.state, link)
  }

  private async prove(): Promise<void> {
    await this.state.until(
      // an open dispute may yet show a contribution of the challenge wrong
      () =>
        this.state.disputes.size === 0 &&
        this.state.record.segments.every((segment) => segment.state === 'proved'),
      this.state.ctx.settings.phase2TimeoutMs,
      'phase 2 (segment proofs)'
    )
    this.state.endPhase('prove')
  }

  /**
   * Waits for a final proof and verifies it; an invalid one moves aggregation to another peer, up to max_retries.
   * One that could not be pulled (a stalled or trickling holder) fails its aggregator and spends no retry, as a
   * failed transfer of anything else: each such aggregator leaves the job, and the aggregate timeout bounds them.
   */
  private async aggregateAndVerify(): Promise<void> {
    this.state.setState('aggregating', 'aggregate')
    for (;;) {
      electAggregator(this.state)
      await this.state.until(
        () => this.state.final !== undefined && this.state.disputes.size === 0,
        this.state.ctx.settings.aggregateTimeoutMs,
        'aggregation'
      )
      const final = this.state.final as FinalReport
      this.state.endPhase('aggregate')
      const rejection = await verify(this.state, final)
      if (rejection === undefined) return
      this.state.final = undefined
      if (rejection.code === 'TRANSFER') {
        peerFailed(this.state, final.link, {
          code: 'TRANSFER',
          message: `its final proof ${rejection.reason}`
        })
      } else {
        this.state.finalAttempts++
        this.state.ctx.penalise(final.link.peer.peerId, `invalid final proof: ${rejection.reason}`)
        peerFailed(this.state, final.link, {
          code: 'PROOF_INVALID',
          message: `its final proof is invalid: ${rejection.reason}`
        })
        if (this.state.finalAttempts > this.state.ctx.settings.maxRetries) {
          throw new JobFailure(
            'PROOF_INVALID',
            `${this.state.finalAttempts} final proofs were invalid; the last one: ${rejection.reason}`
          )
        }
      }
      this.state.setState('aggregating', 'aggregate')
      await this.prove()
    }
  }
}
