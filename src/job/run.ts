import { createHash } from 'node:crypto'
import { join } from 'node:path'
import {
  FailCode,
  InputMode,
  type PeerFrame,
  type SegmentSpec,
  type SubmitterFrame
} from '../../protocols/job/pb/job.js'
import { fromString, toString } from 'uint8arrays'
import { makeDirectory } from '../config/directories.js'
import { formatDuration } from '../config/duration.js'
import type { Logger } from '../log/index.js'
import { deadline } from '../net/deadline.js'
import type { FrameDuplex } from '../net/frame-duplex.js'
import { toError } from '../net/framed-stream.js'
import { computeChallenge } from '../prover/challenge.js'
import type { ProverSupervisor } from '../prover/supervisor.js'
import { JOB_REPLY_TIMEOUT_MS, MAX_SEGMENTS_PER_JOB } from '../../protocols/job/constants.js'
import { peerText } from '../net/peer-text.js'
import { CapacityShortError, JobFailure, RestartJobError } from './errors.js'
import { hashSlices, writeAtomically } from './files.js'
import { JobHints } from './hints.js'
import { jobInputFile } from './input-file.js'
import { endPhase, enterState } from './phases.js'
import { ceilPow2, planLayout } from './layout.js'
import { describePeerFailure } from '../jobs-model/peer-failure.js'
import { shortPeerId } from '../jobs-model/peer-id.js'
import { type Candidate, type Link, leastLoaded, rankCandidates } from './link.js'
import { acceptProgress, ProgressRelay } from './progress.js'
import { reserveDefaults, reserveInWaves } from './reserve.js'
import { SilenceWatch } from '../silence-watch.js'
import { findStragglers } from './stragglers.js'
import type { SubmitterTransport } from './transport.js'
import { grantedUnits, judgeFailure, MAX_FETCH_RETRIES } from './blame.js'
import { awaitsWork } from './progress-deadline.js'
import { IdleDeadline, touchOnGrowth } from './idle-deadline.js'
import type { JobPhase, JobState } from '../jobs-model/states.js'
import type {
  NewJobEvent,
  JobPeerRecord,
  JobRecord,
  PeerFailure,
  SegmentRecord
} from '../jobs-model/types.js'

/** What a job run needs of the submitter's prover: its programs, a plan, a verdict on the final proof */
export type JobProver = Pick<ProverSupervisor, 'info' | 'plan' | 'verify'>

/** How a job run reaches its peers (SubmitterTransport; an in-memory one in the unit harness) */
export type JobTransport = Pick<SubmitterTransport, 'openJob' | 'pushSlice' | 'hintsSink' | 'fetchFinalProof'>

/** The states in which peers have work in hand (see checkProgress) */
const PROGRESS_STATES: ReadonlySet<JobState> = new Set(['contributing', 'proving', 'aggregating'])

/** A failed fetch of a proof by the aggregator is sent again after this long times the attempt */
const FETCH_RETRY_MS = 500

/** Release or Cancel gets this long to go out before the stream is reset: the peer's lease lapses without it */
const RELEASE_TIMEOUT_MS = 2_000

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
  /** A transfer to or from a peer (a slice, the hints, the final proof) that moves no byte this long fails */
  transferIdleMs: number
  maxPeersPerJob: number
  /** Where the final proof is saved (when the request says so) */
  proofsDir: string
  /** This job's own folder on the submitter: its input copy, hints, final proof */
  jobDir: string
  inputsFolder: string
}

export interface JobRunContext {
  record: JobRecord
  /** Journals the record as it stands */
  save(): void
  event(event: NewJobEvent): void
  prover: JobProver
  transport: JobTransport
  candidates(): Candidate[]
  /** Records bad work against a peer (invalid proofs): selection prefers others, and excludes it above a limit */
  penalise(peerId: string, reason: string): void
  /** A peer refused a lease (or did not answer): the submitter asks it again only after a back-off */
  refused(peerId: string): void
  /** A peer granted a lease: its back-off, if any, ends */
  granted(peerId: string): void
  settings: JobRunSettings
  logger: Logger
  /** Aborted on cancel or when the job's time is up; its reason is a JobFailure */
  signal: AbortSignal
}

/** How often the journal is told of the bytes sent while slices stream (see saveCountsSoon) */
const COUNTS_SAVE_MS = 1_000

interface Dispute {
  referee: Link
  /** The peer whose contribution differed from the recorded one, and that contribution */
  claimant: Link
  contribution: string
  /** Per peer, the contribution it computed */
  claims: Map<string, string>
}

interface FinalReport {
  link: Link
  size: number
  sha256: string
}

/**
 * One job on its submitter, from leasing units to the verified final proof: the phase state machine of
 * docs/architecture.md. Each state change is journaled (ctx.save) before the frames that act on it go out.
 */
export class JobRun {
  private readonly ctx: JobRunContext
  private readonly log: Logger
  private readonly links: Link[] = []
  /** Peers this job will not use again: they refused, failed or were lost */
  private readonly excluded = new Set<string>()
  private changed = Promise.withResolvers<void>()
  private failure?: Error
  private aggregator?: Link
  private final?: FinalReport
  private finalAttempts = 0
  /** Segments whose contributions two peers disagree on, and the third peer computing it again */
  private readonly disputes = new Map<number, Dispute>()
  /** Peers relieved of aggregating (their connection failed them); they keep their segments */
  private readonly relieved = new Set<Link>()
  /** The current aggregator's failed fetches: per segment, and the owners it could not reach */
  private fetches = { failures: new Map<number, number>(), unreached: new Set<string>() }
  /** How often each segment has moved to another peer */
  private readonly moves = new Map<number, number>()
  /** Segments move one batch at a time */
  private recovery: Promise<void> = Promise.resolve()
  private input = ''
  private watchdog?: NodeJS.Timeout
  private done = false
  private readonly hints: JobHints
  private readonly progress: ProgressRelay
  /** A journal write of the byte counts, due while slices stream */
  private countsSave?: NodeJS.Timeout
  /** The remote peers' silences, and this daemon's own (see SilenceWatch) */
  private readonly silence: SilenceWatch<Link>
  private readonly tickMs: number

  constructor(ctx: JobRunContext) {
    this.ctx = ctx
    this.log = ctx.logger.child({ component: 'job', job: ctx.record.id })
    this.hints = new JobHints(ctx.record.request.hints, ctx.settings.jobDir, ctx.signal)
    this.progress = new ProgressRelay({ emit: (report) => ctx.event({ kind: 'progress', ...report }) })
    // a tenth of peer_timeout: a frozen peer is noticed within a tenth of it beyond, a stall of this daemon
    // longer than two tenths is not counted against anyone
    this.tickMs = Math.max(50, Math.floor(ctx.settings.peerTimeoutMs / 10))
    this.silence = new SilenceWatch({ limitMs: ctx.settings.peerTimeoutMs, tickMs: this.tickMs })
  }

  private get record(): JobRecord {
    return this.ctx.record
  }

  /** Resolves once the proof is verified and saved; throws JobFailure, or CapacityShortError to requeue */
  async run(): Promise<void> {
    this.watchdog = setInterval(() => {
      this.checkSilence()
      this.checkProgress()
      this.checkStragglers()
    }, this.tickMs)
    this.watchdog.unref()
    try {
      await this.reserve()
      this.input = await this.plan()
      await this.contribute()
      await this.prove()
      await this.aggregateAndVerify()
      this.done = true
      await this.releaseAll('release', 'the job succeeded')
    } catch (err) {
      this.done = true
      const reason = err instanceof Error ? err.message : String(err)
      await this.releaseAll('cancel', reason)
      throw err
    } finally {
      clearInterval(this.watchdog)
      clearTimeout(this.countsSave)
      this.progress.stop()
    }
  }

  // --- reserve --------------------------------------------------------------------------------------------

  private async reserve(): Promise<void> {
    this.setState('reserving', 'reserve')
    const { computeCapacity, minimalComputeCapacity } = this.record.request
    const candidates = rankCandidates(this.ctx.candidates()).filter(
      (candidate) => candidate.unitsFree > 0 && !this.excluded.has(candidate.peerId)
    )
    const { kept, surplus } = await reserveInWaves({
      candidates,
      need: computeCapacity,
      maxPeers: this.ctx.settings.maxPeersPerJob - this.links.length,
      hedgeMs: reserveDefaults.hedgeMs,
      ask: async (candidate, units) => this.reserveOne(candidate, units, reserveDefaults.peerTimeoutMs),
      unitsOf: (link) => link.record.units,
      late: (link) => void this.releaseUnneeded(link),
      signal: this.ctx.signal
    })
    for (const link of surplus) await this.releaseUnneeded(link)
    const reserved = kept.reduce((sum, link) => sum + link.record.units, 0)
    if (reserved < minimalComputeCapacity) {
      throw new CapacityShortError(
        `needs ${minimalComputeCapacity} units, ${reserved} could be leased`,
        reserved
      )
    }
    this.endPhase('reserve')
  }

  /** A lease granted beyond the need (the reserve phase asked more peers than it kept): its units go back */
  private async releaseUnneeded(link: Link): Promise<void> {
    await this.closeLink(link, 'release', 'not needed: other peers covered the units first')
    this.ctx.event({ kind: 'released', peer: link.peer.peerId, message: 'released: not needed' })
    this.ctx.save()
  }

  private async reserveOne(
    peer: Candidate,
    unitsAsked: number,
    timeoutMs = JOB_REPLY_TIMEOUT_MS
  ): Promise<Link | undefined> {
    const signal = AbortSignal.any([
      this.ctx.signal,
      deadline(`the lease reply (Reserve → Reserved) from peer ${shortPeerId(peer.peerId)}`, timeoutMs)
    ])
    let channel: FrameDuplex<PeerFrame, SubmitterFrame> | undefined
    try {
      channel = await this.ctx.transport.openJob(peer, signal)
      await channel.write(
        {
          reserve: {
            jobId: this.record.id,
            program: this.record.request.program,
            units: unitsAsked,
            minUnits: 1,
            inputSize: BigInt(this.record.inputSize ?? 0),
            leaseMs: this.ctx.settings.leaseMs,
            keepAliveMs: Math.max(100, Math.floor(this.ctx.settings.peerTimeoutMs / 3))
          }
        },
        signal
      )
      const reply = await channel.read(signal)
      if (reply?.reserved === undefined) {
        const why = reply?.refused === undefined ? 'no answer' : peerText(reply.refused.message)
        this.excluded.add(peer.peerId)
        this.ctx.refused(peer.peerId)
        this.log.info({ peer: peer.peerId, why }, 'lease refused')
        this.ctx.event({ kind: 'refused', peer: peer.peerId, message: `refused: ${why}` })
        await channel.close()
        return undefined
      }
      const units = grantedUnits(unitsAsked, reply.reserved.units)
      if (units !== reply.reserved.units) {
        this.log.warn(
          { peer: peer.peerId, asked: unitsAsked, answered: reply.reserved.units, counted: units },
          'a lease granted more units than asked: counted as asked'
        )
      }
      if (units === 0) {
        this.excluded.add(peer.peerId)
        this.ctx.refused(peer.peerId)
        this.ctx.event({ kind: 'refused', peer: peer.peerId, message: 'refused: it granted 0 units' })
        await channel.close()
        return undefined
      }
      this.ctx.granted(peer.peerId)
      const record: JobPeerRecord = {
        peerId: peer.peerId,
        local: peer.local,
        units,
        leaseId: reply.reserved.leaseId,
        state: 'reserved',
        bytesSent: 0
      }
      const link: Link = {
        peer,
        record,
        channel,
        segments: [],
        proved: new Set(),
        closed: false,
        hasHints: false,
        hasChallenge: false,
        forgotten: new Set(),
        contributed: new Set(),
        progressAt: Date.now()
      }
      this.links.push(link)
      if (!peer.local) this.silence.heard(link)
      this.record.peers.push(record)
      this.ctx.save()
      this.ctx.event({
        kind: 'leased',
        peer: peer.peerId,
        units: record.units,
        message: `leased ${record.units} units`
      })
      this.startKeepAlive(link)
      void this.readFrames(link)
      return link
    } catch (err) {
      this.ctx.signal.throwIfAborted()
      this.excluded.add(peer.peerId)
      this.ctx.refused(peer.peerId)
      this.log.info({ peer: peer.peerId, err: toError(err).message }, 'peer not reserved')
      channel?.abort(toError(err))
      return undefined
    }
  }

  /** Any frame renews a lease; keep-alives fill the silences (a third of the lease each) */
  private startKeepAlive(link: Link): void {
    link.keepAlive = setInterval(
      () => {
        link.channel.write({ keepAlive: {} }, this.ctx.signal).catch(() => undefined)
      },
      Math.max(100, Math.floor(this.ctx.settings.leaseMs / 3))
    )
    link.keepAlive.unref()
  }

  private async readFrames(link: Link): Promise<void> {
    try {
      for (;;) {
        const frame = await link.channel.read(this.ctx.signal)
        if (frame === undefined) break
        if (!link.peer.local) {
          const gap = this.silence.heard(link)
          if (gap > (link.record.longestGapMs ?? 0)) link.record.longestGapMs = gap
        }
        this.onFrame(link, frame)
      }
      if (!link.closed) this.peerFailed(link, { code: 'LOST', message: 'it closed its job stream' })
    } catch (err) {
      if (!link.closed && !this.ctx.signal.aborted)
        this.peerFailed(link, { code: 'LOST', message: toError(err).message })
    }
  }

  // --- plan -----------------------------------------------------------------------------------------------

  /** Plans the segments on this daemon's prover and lays them out over the leased peers; returns the input file */
  private async plan(): Promise<string> {
    this.setState('planning', 'plan')
    const { request, id } = this.record
    const { settings, prover } = this.ctx
    makeDirectory(settings.jobDir)
    const input = await this.inputFile()
    const program = prover.info.programs.find((candidate) => candidate.id === request.program)
    if (program === undefined)
      throw new JobFailure('PROGRAM', `this daemon's prover does not run ${request.program}`)
    const size = this.record.inputSize ?? 0
    const totalBlocks = program.segmented ? Math.ceil(size / program.blockBytes) : 1
    const peers = this.healthyLinks().map((link) => ({ id: link.peer.peerId, units: link.record.units }))
    if (peers.length === 0) throw new CapacityShortError('every leased peer was lost before the plan', 0)
    const layout = program.segmented
      ? planLayout(totalBlocks, peers, program.maxSegmentBlocks)
      : { segments: [{ index: 0, startBlock: 0, blockCount: 1, peer: peers[0]?.id ?? '' }] }
    // One planner "worker" per laid-out segment, weighted by its blocks: the planner's proportional split then
    // gives exactly these segments, and its worker ids map them back to peers whatever order it returns
    if (layout.segments.length > MAX_SEGMENTS_PER_JOB) {
      throw new JobFailure(
        'INPUT',
        `the input needs ${layout.segments.length} segments, over the ${MAX_SEGMENTS_PER_JOB} one job may have`
      )
    }
    const slots = layout.segments.map((segment) => ({
      id: `s${segment.index}`,
      units: Math.max(1, segment.blockCount)
    }))
    const hintsOut = request.hints === undefined ? this.hints.path : undefined
    const plan = await prover.plan(
      {
        job: id,
        program: request.program,
        input: { path: input, offset: 0 },
        workers: slots,
        maxSegmentBlocks: Math.max(1, ...layout.segments.map((segment) => segment.blockCount)),
        hintsOut
      },
      { signal: this.ctx.signal, timeoutMs: settings.phase1TimeoutMs }
    )
    const peerOfSlot = new Map(layout.segments.map((segment) => [`s${segment.index}`, segment.peer]))
    const slices = await hashSlices(input, plan.segments)
    this.record.inputSha256 = slices.whole
    this.record.expectedDigest = plan.digest
    this.record.segments = plan.segments.map((segment, i): SegmentRecord => {
      const peerId = peerOfSlot.get(segment.worker)
      if (peerId === undefined)
        throw new JobFailure('PROVER', `the planner returned an unknown worker ${segment.worker}`)
      return {
        index: segment.index,
        startBlock: segment.startBlock,
        blockCount: segment.blockCount,
        inputOffset: segment.inputOffset,
        inputLength: segment.inputLength,
        inputSha256: slices.segments[i] as string,
        peerId,
        state: 'assigned'
      }
    })
    this.record.fill = {
      usefulBlocks: this.record.segments.reduce((sum, segment) => sum + segment.blockCount, 0),
      paddedBlocks: this.record.segments.reduce((sum, segment) => sum + ceilPow2(segment.blockCount), 0)
    }
    for (const link of this.links) {
      link.segments = this.record.segments
        .filter((segment) => segment.peerId === link.peer.peerId)
        .map((s) => s.index)
    }
    this.ctx.save()
    this.endPhase('plan')
    // A peer the layout left without work gets its units back at once
    for (const link of this.links.filter((candidate) => candidate.segments.length === 0)) {
      await this.closeLink(link, 'release', 'no segment for this peer')
    }
    return input
  }

  private async inputFile(): Promise<string> {
    return jobInputFile(this.record, this.ctx.settings.jobDir, this.ctx.settings.inputsFolder)
  }

  // --- phase 1 --------------------------------------------------------------------------------------------

  private async contribute(): Promise<void> {
    this.setState('contributing', 'contribute')
    for (const link of this.healthyLinks().filter((candidate) => candidate.segments.length > 0)) {
      const segments = link.segments.map((index) => this.record.segments[index] as SegmentRecord)
      this.track(this.assignTo(link, segments), link)
    }
    for (const link of this.links.filter((candidate) => candidate.closed && candidate.segments.length > 0)) {
      // lost while the plan ran: its share moves before anything was sent to it
      this.moveSegmentsOf(link, `peer ${shortPeerId(link.peer.peerId)} was lost before its assignment`)
    }
    await this.until(
      () => this.record.segments.every((segment) => segment.contribution !== undefined),
      this.ctx.settings.phase1TimeoutMs,
      'phase 1 (inputs, hints and contributions)'
    )
    const contributions = this.record.segments.map((segment) => segment.contribution as string)
    this.record.challenge = computeChallenge(this.record.id, contributions)
    for (const link of this.healthyLinks()) if (link.segments.length > 0) link.record.state = 'contributed'
    this.ctx.save()
    this.endPhase('contribute')
    this.setState('proving', 'prove')
    for (const link of this.healthyLinks()) if (link.segments.length > 0) this.sendChallenge(link)
  }

  /** Sends a peer its segments, their input slices and (once per peer) the hints; the challenge once fixed */
  private async assignTo(link: Link, segments: SegmentRecord[]): Promise<void> {
    const { request } = this.record
    for (const segment of segments) {
      link.forgotten.delete(segment.index)
      link.contributed.delete(segment.index)
    }
    link.progressAt = Date.now()
    await link.channel.write(
      {
        assign: {
          inputSize: BigInt(this.record.inputSize ?? 0),
          inputMode: request.inputMode === 'data' ? InputMode.DATA : InputMode.PATH,
          inputName: request.inputMode === 'path' ? request.input : '',
          hints: true,
          segments: segments.map((segment): SegmentSpec => ({
            index: segment.index,
            startBlock: BigInt(segment.startBlock),
            blockCount: BigInt(segment.blockCount),
            inputOffset: BigInt(segment.inputOffset),
            inputLength: BigInt(segment.inputLength),
            inputSha256: fromString(segment.inputSha256, 'base16')
          }))
        }
      },
      this.ctx.signal
    )
    if (link.record.state === 'reserved') link.record.state = 'assigned'
    this.ctx.save()
    const hints = link.hasHints ? Promise.resolve() : this.shipHints(link)
    link.hasHints = true
    await Promise.all([...(request.inputMode === 'data' ? [this.shipSlices(link, segments)] : []), hints])
    if (this.record.challenge !== undefined) this.sendChallenge(link)
  }

  private sendChallenge(link: Link): void {
    if (link.hasChallenge || this.record.challenge === undefined) return
    link.hasChallenge = true
    link.busySince = Date.now()
    this.send(link, { challenge: { challenge: fromString(this.record.challenge, 'base16') } })
  }

  /**
   * A transfer to one peer that fails is that peer's failure (its segments move on), not the job's; only a hints
   * source that fails (a socket that breaks, a file that cannot be read) fails the job.
   */
  private track(work: Promise<void>, link: Link): void {
    work.catch((err: unknown) => {
      if (this.ctx.signal.aborted) return
      if (err instanceof JobFailure) {
        this.failure ??= err
        this.notify()
        return
      }
      this.peerFailed(link, { code: 'TRANSFER', message: toError(err).message })
    })
  }

  /**
   * A backup copy that lost (Forget) before or while its slice went out is no longer the peer's business: its
   * refusal of that slice is right, not the peer's failure (which would move the segments it proved).
   */
  private async shipSlices(link: Link, segments: SegmentRecord[]): Promise<void> {
    for (const segment of segments) {
      if (link.forgotten.has(segment.index)) continue
      const header = {
        jobId: this.record.id,
        segment: segment.index,
        offset: BigInt(segment.inputOffset),
        length: BigInt(segment.inputLength),
        total: BigInt(this.record.inputSize ?? 0),
        sha256: fromString(segment.inputSha256, 'base16')
      }
      const idle = this.transferDeadline(link, `sending segment ${segment.index}'s input`)
      await this.ctx.transport
        .pushSlice(
          link.peer,
          header,
          this.input,
          AbortSignal.any([this.ctx.signal, idle.signal]),
          (bytes) => {
            idle.touch()
            this.countSent(link, bytes)
            this.saveCountsSoon()
          }
        )
        .catch((err: unknown) => {
          if (link.forgotten.has(segment.index)) return
          this.ctx.signal.throwIfAborted()
          throw new Error(
            `segment ${segment.index}'s input did not arrive: ${toError(idle.signal.reason ?? err).message}`
          )
        })
        .finally(() => idle.stop())
    }
  }

  /**
   * The byte counts move with every chunk; the journal (which the API and the page read) gets them at most once
   * per COUNTS_SAVE_MS while slices stream, rather than a write per megabyte
   */
  private saveCountsSoon(): void {
    if (this.countsSave !== undefined || this.done) return
    this.countsSave = setTimeout(() => {
      this.countsSave = undefined
      if (!this.done) this.ctx.save()
    }, COUNTS_SAVE_MS)
    this.countsSave.unref()
  }

  /**
   * One peer's hints, relayed chunk by chunk as the source yields them. A socket source is read once, by the
   * first peers' relays together (see JobHints), and kept in a file for any peer that joins the job later.
   */
  private async shipHints(link: Link): Promise<void> {
    const sink = await this.ctx.transport.hintsSink(link.peer, this.record.id, this.ctx.signal)
    const hash = createHash('sha256')
    let total = 0
    try {
      // JobHints holds the hints to MAX_HINTS_BYTES
      for await (const chunk of this.hints.read()) {
        total += chunk.byteLength
        hash.update(chunk)
        await this.idleBounded(link, 'sending the hints', async (signal) => sink.write(chunk, signal))
        if (!link.peer.local) this.countSent(link, chunk.byteLength)
      }
      await this.idleBounded(link, 'finishing the hints', async (signal) =>
        sink.finish(total, hash.digest(), signal)
      )
    } catch (err) {
      await sink.abort(toError(err))
      if (err instanceof JobFailure) throw err
      throw new Error(`the hints did not arrive: ${toError(err).message}`)
    }
  }

  /**
   * The idle deadline of a transfer to a remote peer (jobs.transfer_idle_timeout). This daemon's own worker is
   * reached in memory: no network to stall, and its deliveries report no bytes, so it gets none.
   */
  private transferDeadline(link: Link, what: string): IdleDeadline {
    const idle = new IdleDeadline(
      `${what} to peer ${shortPeerId(link.peer.peerId)}`,
      this.ctx.settings.transferIdleMs
    )
    if (link.peer.local) idle.stop()
    return idle
  }

  /** One step of a transfer (a chunk written, an end acknowledged) under the transfer's idle deadline */
  private async idleBounded(
    link: Link,
    what: string,
    step: (signal: AbortSignal) => Promise<void>
  ): Promise<void> {
    const idle = this.transferDeadline(link, what)
    try {
      await step(AbortSignal.any([this.ctx.signal, idle.signal]))
    } catch (err) {
      this.ctx.signal.throwIfAborted()
      throw toError(idle.signal.reason ?? err)
    } finally {
      idle.stop()
    }
  }

  private countSent(link: Link, bytes: number): void {
    link.progressAt = Date.now()
    link.record.bytesSent += bytes
    this.record.bytesOut += bytes
  }

  // --- phase 2 and aggregation ----------------------------------------------------------------------------

  private async prove(): Promise<void> {
    await this.until(
      // an open dispute may yet show a contribution of the challenge wrong
      () => this.disputes.size === 0 && this.record.segments.every((segment) => segment.state === 'proved'),
      this.ctx.settings.phase2TimeoutMs,
      'phase 2 (segment proofs)'
    )
    this.endPhase('prove')
  }

  /** Waits for a final proof and verifies it; an invalid one moves aggregation to another peer, up to max_retries */
  private async aggregateAndVerify(): Promise<void> {
    this.setState('aggregating', 'aggregate')
    for (;;) {
      this.electAggregator()
      await this.until(
        () => this.final !== undefined && this.disputes.size === 0,
        this.ctx.settings.aggregateTimeoutMs,
        'aggregation'
      )
      const final = this.final as FinalReport
      this.endPhase('aggregate')
      const verdict = await this.verify(final)
      if (verdict === undefined) return
      this.finalAttempts++
      this.final = undefined
      this.ctx.penalise(final.link.peer.peerId, `invalid final proof: ${verdict}`)
      this.peerFailed(final.link, {
        code: 'PROOF_INVALID',
        message: `its final proof is invalid: ${verdict}`
      })
      if (this.finalAttempts > this.ctx.settings.maxRetries) {
        throw new JobFailure(
          'PROOF_INVALID',
          `${this.finalAttempts} final proofs were invalid; the last one: ${verdict}`
        )
      }
      this.setState('aggregating', 'aggregate')
      await this.prove()
    }
  }

  /**
   * The first peer to have proved all its segments aggregates, fetching every proved segment. Tried on each
   * Proved, and again when the aggregator is lost or sent an invalid final proof: the next such peer takes over.
   */
  private electAggregator(): void {
    if (this.aggregator !== undefined || this.record.challenge === undefined || this.done) return
    const link = this.aggregatorCandidate()
    if (link === undefined) return
    this.aggregator = link
    this.fetches = { failures: new Map(), unreached: new Set() }
    link.progressAt = Date.now()
    this.record.aggregator = link.peer.peerId
    this.ctx.save()
    this.ctx.event({ kind: 'aggregator', peer: link.peer.peerId, message: 'aggregates' })
    const contributions = this.record.segments.map((segment) =>
      fromString(segment.contribution as string, 'base16')
    )
    this.send(link, { aggregate: { contributions } })
    for (const segment of this.record.segments) if (segment.state === 'proved') this.sendFetch(segment)
  }

  /**
   * The aggregator's own connection fails it (judgeFailure): another peer with all its segments proved aggregates
   * and this one keeps its segments, not blamed. With no other such peer it is failed like a lost one (not
   * penalised), so that its segments move and someone can aggregate.
   */
  private relieveAggregator(link: Link, why: string): void {
    this.relieved.add(link)
    this.aggregator = undefined
    this.final = undefined
    if (this.aggregatorCandidate() === undefined) {
      this.relieved.delete(link)
      this.peerFailed(link, { code: 'TRANSFER', message: why })
      return
    }
    this.log.warn({ peer: link.peer.peerId, why }, 'aggregator relieved')
    this.ctx.event({ kind: 'note', peer: link.peer.peerId, message: `no longer aggregates: ${why}` })
    this.electAggregator()
    this.notify()
  }

  /** The first healthy peer with all its segments proved that was not relieved of aggregating */
  private aggregatorCandidate(): Link | undefined {
    return this.healthyLinks().find(
      (candidate) =>
        !this.relieved.has(candidate) &&
        candidate.segments.length > 0 &&
        candidate.segments.every((index) => candidate.proved.has(index))
    )
  }

  private sendFetch(segment: SegmentRecord): void {
    const aggregator = this.aggregator
    if (aggregator === undefined) return
    const holder = this.links.find((link) => link.peer.peerId === segment.peerId)
    this.send(aggregator, {
      fetch: {
        segment: segment.index,
        peerId: segment.peerId,
        addrs: (holder?.peer.addrs ?? []).map((addr) => new Uint8Array(addr)),
        size: BigInt(segment.proofSize ?? 0),
        sha256: fromString(segment.proofSha256 ?? '', 'base16')
      }
    })
  }

  // --- verify and save ------------------------------------------------------------------------------------

  /** Verifies a final proof against the input and saves it; resolves with why it is invalid, if it is */
  private async verify(final: FinalReport): Promise<string | undefined> {
    this.setState('verifying', 'verify')
    const { record, ctx } = this
    const received = join(ctx.settings.jobDir, 'final.proof')
    let got: { size: number; sha256: Uint8Array }
    try {
      const idle = new IdleDeadline(
        `fetching the final proof from peer ${shortPeerId(final.link.peer.peerId)}`,
        ctx.settings.transferIdleMs
      )
      const stopWatch = touchOnGrowth(idle, received, Math.max(25, ctx.settings.transferIdleMs / 5))
      try {
        got = await ctx.transport.fetchFinalProof(
          final.link.peer,
          record.id,
          received,
          AbortSignal.any([ctx.signal, idle.signal])
        )
      } catch (err) {
        ctx.signal.throwIfAborted()
        throw toError(idle.signal.reason ?? err)
      } finally {
        stopWatch()
        idle.stop()
      }
    } catch (err) {
      return `it could not be fetched: ${toError(err).message}`
    }
    if (toString(got.sha256, 'base16') !== final.sha256)
      return 'the bytes received are not the ones the aggregator reported'
    const verdict = await ctx.prover.verify(
      { program: record.request.program, proof: received, digest: record.expectedDigest, job: record.id },
      { signal: ctx.signal }
    )
    if (!verdict.valid) return verdict.reason ?? 'no reason given'
    record.digest = verdict.digest
    let path = received
    if (record.request.saveProof) {
      makeDirectory(ctx.settings.proofsDir)
      path = join(ctx.settings.proofsDir, `${record.id}.proof`)
      await writeAtomically(received, path)
    }
    record.proof = { size: got.size, sha256: toString(got.sha256, 'base16'), path }
    this.endPhase('verify')
    this.setState('succeeded')
    return undefined
  }

  // --- frames from peers ----------------------------------------------------------------------------------

  private onFrame(link: Link, frame: PeerFrame): void {
    if (link.closed) return
    if (frame.contribution !== undefined) {
      const segment = this.ownSegment(link, frame.contribution.segment)
      if (segment === undefined) return
      const contribution = toString(frame.contribution.contribution, 'base16')
      link.contributed.add(segment.index)
      link.progressAt = Date.now()
      const dispute = this.disputes.get(segment.index)
      if (dispute !== undefined && dispute.referee === link) {
        this.settleDispute(segment, dispute, contribution)
      } else if (segment.contribution !== undefined && segment.contribution !== contribution) {
        // A replacement recomputed a segment another peer had contributed: they must agree, byte for byte
        this.openDispute(segment, link, contribution)
      } else {
        segment.contribution = contribution
        segment.contributor ??= link.peer.peerId
        if (segment.state === 'assigned') segment.state = 'contributed'
        this.ctx.save()
        this.ctx.event({
          kind: 'contributed',
          segment: segment.index,
          peer: link.peer.peerId,
          message: 'contributed'
        })
      }
    } else if (frame.proved !== undefined) {
      const segment = this.ownSegment(link, frame.proved.segment)
      if (segment === undefined || segment.state === 'proved') return
      this.settleBackup(segment, link)
      link.progressAt = Date.now()
      link.busySince = Date.now()
      segment.state = 'proved'
      segment.proofSize = Number(frame.proved.size)
      segment.proofSha256 = toString(frame.proved.sha256, 'base16')
      segment.proveMillis = frame.proved.millis
      link.proved.add(segment.index)
      if (link.segments.every((index) => link.proved.has(index))) link.record.state = 'proved'
      this.ctx.save()
      this.ctx.event({
        kind: 'proved',
        segment: segment.index,
        peer: link.peer.peerId,
        message: 'proved'
      })
      if (this.aggregator === undefined) this.electAggregator()
      else this.sendFetch(segment)
    } else if (frame.progress !== undefined) {
      const report = acceptProgress(link.peer.peerId, frame.progress, {
        segments: link.segments,
        aggregator: link === this.aggregator
      })
      if (report === undefined) return
      link.progressAt = Date.now()
      this.progress.offer(report)
      return
    } else if (frame.final !== undefined) {
      if (this.relieved.has(link)) return
      if (link !== this.aggregator) {
        this.peerFailed(link, {
          code: 'PROTOCOL',
          message: 'it sent a final proof without being the aggregator'
        })
        return
      }
      link.progressAt = Date.now()
      this.final = { link, size: Number(frame.final.size), sha256: toString(frame.final.sha256, 'base16') }
      this.ctx.event({
        kind: 'final',
        peer: link.peer.peerId,
        size: Number(frame.final.size),
        message: `final proof ready (${frame.final.size} bytes)`
      })
    } else if (frame.failed !== undefined) {
      this.onFailed(
        link,
        frame.failed.code,
        frame.failed.message,
        frame.failed.segment,
        toString(frame.failed.proofSha256, 'base16')
      )
      return
    }
    this.notify()
  }

  /**
   * A peer reports a failure; judgeFailure says who answers for it. Only what the evidence pins on a peer costs
   * that peer: a proof the aggregator could not fetch is fetched again, and a segment that has moved since is
   * not blamed on anyone (a report about an old owner's proof would otherwise fail the peer that just took over).
   */
  private onFailed(link: Link, code: FailCode, said: string, segmentIndex?: number, proofSha256 = ''): void {
    const message = peerText(said)
    const failure: PeerFailure = { code: FailCode[code] ?? `code ${code}`, message, segment: segmentIndex }
    const blamed = segmentIndex === undefined ? undefined : this.record.segments[segmentIndex]
    const fromAggregator = link === this.aggregator
    const owner =
      blamed === undefined
        ? undefined
        : this.links.find((candidate) => candidate.peer.peerId === blamed.peerId && !candidate.closed)
    // a peer relieved of aggregating may still report on the pulls it had begun: they are no longer its work
    if (this.relieved.has(link) && blamed !== undefined && owner !== link) return
    const fetches = this.fetches
    const verdict = judgeFailure({
      code,
      fromAggregator,
      segment: blamed,
      proofSha256,
      ownSegment: owner === link,
      fetchFailures: blamed === undefined ? 0 : (fetches.failures.get(blamed.index) ?? 0),
      otherOwnersUnreached: [...fetches.unreached].filter(
        (peerId) =>
          peerId !== owner?.peer.peerId && this.links.some((l) => l.peer.peerId === peerId && !l.closed)
      ).length
    })
    this.log.info(
      { peer: link.peer.peerId, code: failure.code, segment: segmentIndex, verdict },
      'peer reported a failure'
    )
    switch (verdict) {
      case 'ignore':
        return
      case 'retry': {
        const segment = blamed as SegmentRecord
        const attempts = (fetches.failures.get(segment.index) ?? 0) + 1
        fetches.failures.set(segment.index, attempts)
        if (owner !== undefined) fetches.unreached.add(owner.peer.peerId)
        const timer = setTimeout(() => {
          if (this.aggregator === link && segment.state === 'proved') this.sendFetch(segment)
        }, FETCH_RETRY_MS * attempts)
        timer.unref()
        return
      }
      case 'aggregator-unreachable':
        this.relieveAggregator(
          link,
          `it could not fetch the proofs of ${fetches.unreached.size} peers that the submitter still hears from: ${message}`
        )
        return
      case 'owner':
      case 'owner-unreachable': {
        if (owner === undefined) return
        if (verdict === 'owner')
          this.ctx.penalise(owner.peer.peerId, `invalid proof of segment ${blamed?.index}: ${message}`)
        this.peerFailed(
          owner,
          {
            code: failure.code,
            segment: blamed?.index,
            message:
              verdict === 'owner'
                ? `the aggregator found its proof invalid: ${message}`
                : `the aggregator could not fetch its proof ${MAX_FETCH_RETRIES + 1} times: ${message}`
          },
          blamed?.index
        )
        return
      }
      case 'reporter':
        if (code === FailCode.PROOF_INVALID) this.ctx.penalise(link.peer.peerId, describePeerFailure(failure))
        this.peerFailed(link, failure, segmentIndex)
        return
    }
  }

  /**
   * Two peers computed different contributions for one segment: a third (a peer of the job that holds neither
   * claim) computes it too, and the one it agrees with stands (settleDispute). One lying peer costs itself, not
   * the job; the job fails only when no third peer is left, or when all three disagree (the provers are not
   * deterministic, or not the same program).
   */
  private openDispute(segment: SegmentRecord, claimant: Link, contribution: string): void {
    if (this.disputes.has(segment.index)) return
    const recorded = segment.contribution as string
    const first = segment.contributor ?? '?'
    const referee = leastLoaded(
      this.links.filter((link) => link.peer.peerId !== first && link !== claimant),
      this.record.segments
    )
    if (referee === undefined) {
      this.failure ??= new JobFailure(
        'CONTRIBUTION_MISMATCH',
        `segment ${segment.index}: peer ${shortPeerId(claimant.peer.peerId)} computed contribution ${contribution.slice(0, 16)}…, ` +
          `peer ${shortPeerId(first)} had ${recorded.slice(0, 16)}…, and no third peer is left to settle it`
      )
      this.notify()
      return
    }
    this.disputes.set(segment.index, {
      referee,
      claimant,
      contribution,
      claims: new Map([
        [first, recorded],
        [claimant.peer.peerId, contribution]
      ])
    })
    this.log.warn(
      { segment: segment.index, first, second: claimant.peer.peerId, referee: referee.peer.peerId },
      'contributions disagree: a third peer settles it'
    )
    this.ctx.event({
      kind: 'note',
      peer: referee.peer.peerId,
      segment: segment.index,
      message: `settles segment ${segment.index}: ${shortPeerId(first)} and ${shortPeerId(claimant.peer.peerId)} computed different contributions`
    })
    this.track(this.assignTo(referee, [segment]), referee)
  }

  /** The referee's contribution decides: the claim it matches stands, the other claimant lied (penalised, failed) */
  private settleDispute(segment: SegmentRecord, dispute: Dispute, contribution: string): void {
    const { referee } = dispute
    this.disputes.delete(segment.index)
    const agreed = [...dispute.claims].filter(([, claim]) => claim === contribution).map(([peerId]) => peerId)
    const liars = [...dispute.claims.keys()].filter((peerId) => !agreed.includes(peerId))
    if (agreed.length === 0) {
      this.failure ??= new JobFailure(
        'CONTRIBUTION_MISMATCH',
        `segment ${segment.index}: three peers computed three different contributions: the provers disagree (not deterministic, or not the same program)`
      )
      this.notify()
      return
    }
    const recordedWasLie = segment.contribution !== contribution
    for (const liar of liars) {
      this.ctx.penalise(liar, `a wrong contribution to segment ${segment.index}, shown by two other peers`)
    }
    if (recordedWasLie) {
      referee.forgotten.add(segment.index)
      this.send(referee, { forget: { segments: [segment.index] } })
      segment.contribution = contribution
      segment.contributor = agreed[0]
      if (this.record.challenge !== undefined) {
        // the challenge was fixed from the lie and every peer proves against it; a peer takes one challenge per
        // job, so the proofs cannot be redone in this run: the job starts again, the liar penalised
        this.failure ??= new RestartJobError(
          'CONTRIBUTION_MISMATCH',
          `segment ${segment.index}: peer ${shortPeerId(liars[0] ?? '?')}'s contribution was wrong (two other peers agree on another) and the challenge was already fixed from it`
        )
        this.notify()
        return
      }
    } else {
      // the new owner lied: the referee, which computed the right contribution, takes the segment over
      const owner = this.links.find((link) => link.peer.peerId === segment.peerId && !link.closed)
      segment.peerId = referee.peer.peerId
      segment.state = 'contributed'
      delete segment.proofSize
      delete segment.proofSha256
      if (owner !== undefined) owner.segments = owner.segments.filter((index) => index !== segment.index)
      referee.segments.push(segment.index)
      referee.contributed.add(segment.index)
    }
    this.ctx.save()
    for (const liar of liars) {
      const link = this.links.find((candidate) => candidate.peer.peerId === liar && !candidate.closed)
      if (link !== undefined) {
        this.peerFailed(link, {
          code: 'CONTRIBUTION_MISMATCH',
          segment: segment.index,
          message: `its contribution to segment ${segment.index} differs from the one two other peers computed`
        })
      }
    }
    this.notify()
  }

  private ownSegment(link: Link, index: number): SegmentRecord | undefined {
    const segment = this.record.segments[index]
    if (link.forgotten.has(index)) return undefined
    if (
      segment === undefined ||
      (segment.peerId !== link.peer.peerId &&
        segment.backupPeerId !== link.peer.peerId &&
        this.disputes.get(index)?.referee !== link)
    ) {
      this.peerFailed(link, {
        code: 'PROTOCOL',
        message: `it reported segment ${index}, which is not its own`
      })
      return undefined
    }
    return segment
  }

  // --- stragglers -----------------------------------------------------------------------------------------

  /**
   * A straggler (see findStragglers) gets a backup copy on an idle peer. The first proof to arrive wins; the other
   * copy is dropped (Forget), and what its peer says of it is ignored.
   */
  private checkStragglers(): void {
    if (this.record.state !== 'proving' || this.done) return
    const { stragglerFactor } = this.ctx.settings
    for (const { segment, idle, elapsedMs, limitMs } of findStragglers(
      this.record.segments,
      this.links,
      stragglerFactor,
      Date.now()
    )) {
      segment.backupPeerId = idle.peer.peerId
      idle.segments.push(segment.index)
      this.ctx.save()
      this.ctx.event({
        kind: 'backup-started',
        segment: segment.index,
        peer: idle.peer.peerId,
        straggler: segment.peerId,
        message: `backup copy: segment ${segment.index} has been proving for ${(elapsedMs / 1000).toFixed(1)} s on ${shortPeerId(segment.peerId)}, ${stragglerFactor}× the median is ${(limitMs / 1000).toFixed(1)} s`
      })
      this.track(this.assignTo(idle, [segment]), idle)
    }
  }

  /** The first proof of a segment with a backup copy wins: the other peer drops its copy */
  private settleBackup(segment: SegmentRecord, winner: Link): void {
    const backup = segment.backupPeerId
    if (backup === undefined) return
    const loserId = winner.peer.peerId === backup ? segment.peerId : backup
    segment.peerId = winner.peer.peerId
    delete segment.backupPeerId
    const loser = this.links.find((link) => link.peer.peerId === loserId && !link.closed)
    if (loser === undefined) return
    loser.segments = loser.segments.filter((index) => index !== segment.index)
    loser.forgotten.add(segment.index)
    this.send(loser, { forget: { segments: [segment.index] } })
    this.ctx.event({
      kind: 'backup-won',
      segment: segment.index,
      peer: winner.peer.peerId,
      loser: loserId,
      message: `won over ${shortPeerId(loserId)}`
    })
  }

  // --- failures -------------------------------------------------------------------------------------------

  private healthyLinks(): Link[] {
    return this.links.filter((link) => !link.closed)
  }

  /**
   * A peer with work in hand (awaitsWork) that showed no progress for jobs.progress_timeout is failed like a silent
   * one: keep-alives say it is there, not that it works (a prover that never answers, a peer stalling on purpose)
   */
  private checkProgress(): void {
    if (this.done || !PROGRESS_STATES.has(this.record.state)) return
    const now = Date.now()
    const { progressTimeoutMs } = this.ctx.settings
    const allProved = this.record.segments.every((segment) => segment.state === 'proved')
    for (const link of this.healthyLinks()) {
      const standing = { aggregator: link === this.aggregator, allProved, finalIn: this.final !== undefined }
      if (!awaitsWork(link, standing)) link.progressAt = now
      else if (now - link.progressAt > progressTimeoutMs) {
        this.peerFailed(link, {
          code: 'TIMEOUT',
          message: `it showed no progress for ${((now - link.progressAt) / 1000).toFixed(1)} s with work in hand, over jobs.progress_timeout (${formatDuration(progressTimeoutMs)})`
        })
      }
    }
  }

  /** A remote peer that sent nothing (not even a keep-alive) for peer_timeout is lost: frozen, or cut off */
  private checkSilence(): void {
    for (const { key: link, silentMs } of this.silence.tick()) {
      this.peerFailed(link, {
        code: 'TIMEOUT',
        message: `it sent nothing for ${(silentMs / 1000).toFixed(1)} s, over jobs.peer_timeout (${formatDuration(this.ctx.settings.peerTimeoutMs)})`
      })
    }
  }

  /**
   * A peer is lost or failed its share: it is cancelled and excluded from the job, and its segments move to a
   * replacement (docs/architecture.md, failure rules). The aggregator lost means the next peer with all its
   * segments proved takes over. `blamed`: the one segment the failure was about, when it was about one (an
   * invalid proof).
   */
  private peerFailed(link: Link, failure: PeerFailure, blamed?: number): void {
    if (link.closed || this.done) return
    const who = `peer ${shortPeerId(link.peer.peerId)}${link.peer.local ? ' (this daemon)' : ''}`
    const what = describePeerFailure(failure)
    link.record.state = 'failed'
    link.record.failure = failure
    this.excluded.add(link.peer.peerId)
    this.log.warn(
      { peer: link.peer.peerId, code: failure.code, segment: failure.segment, err: failure.message },
      'peer failed'
    )
    this.ctx.event({ kind: 'peer-failed', peer: link.peer.peerId, failure, message: `failed: ${what}` })
    void this.closeLink(link, 'cancel', `${who} failed: ${what}`)
    for (const [index, dispute] of this.disputes) {
      if (dispute.referee !== link) continue
      // another peer settles it
      this.disputes.delete(index)
      this.openDispute(this.record.segments[index] as SegmentRecord, dispute.claimant, dispute.contribution)
    }
    if (this.aggregator === link) {
      this.aggregator = undefined
      this.final = undefined
    }
    this.moveSegmentsOf(link, `${who} (${what})`, blamed)
    this.ctx.save()
    this.electAggregator()
    this.notify()
  }

  /**
   * Moves every segment of a failed peer to a replacement (one batch at a time, in order). Each move counts
   * against its segment's jobs.max_retries, except for segments that only share a peer with the one blamed:
   * they move because their peer is no longer trusted, not because of anything about them. `why` names the peer
   * and what happened to it (`peer …abcd1234 (TIMEOUT: it went silent for 3.4 s)`).
   */
  private moveSegmentsOf(link: Link, why: string, blamed?: number): void {
    for (const segment of this.record.segments) {
      if (segment.backupPeerId === link.peer.peerId) delete segment.backupPeerId
    }
    // a segment with a live backup copy does not move: its backup simply becomes its peer
    for (const segment of this.record.segments.filter((candidate) => candidate.peerId === link.peer.peerId)) {
      const backup = this.links.find(
        (candidate) => candidate.peer.peerId === segment.backupPeerId && !candidate.closed
      )
      if (backup === undefined || blamed === segment.index) continue
      segment.peerId = backup.peer.peerId
      delete segment.backupPeerId
    }
    const orphans = this.record.segments.filter((segment) => segment.peerId === link.peer.peerId)
    link.segments = []
    if (orphans.length === 0) return
    for (const segment of orphans) {
      const moves =
        (this.moves.get(segment.index) ?? 0) + (blamed === undefined || blamed === segment.index ? 1 : 0)
      this.moves.set(segment.index, moves)
      if (moves > this.ctx.settings.maxRetries) {
        this.failure ??= new JobFailure(
          'PEER_FAILED',
          `segment ${segment.index} could not be proved on ${moves} peers (jobs.max_retries = ${this.ctx.settings.maxRetries}); the last: ${why}`
        )
        this.notify()
        return
      }
      segment.state = 'assigned'
      if (this.record.challenge === undefined) {
        // before the challenge, the replacement's contribution is the one recorded: a lost peer's word is not
        // kept where it costs nothing to have it again (a lie recorded so would otherwise be fixed in the challenge)
        delete segment.contribution
        delete segment.contributor
      }
      delete segment.proofSize
      delete segment.proofSha256
      delete segment.proveMillis
    }
    const aggregator = this.aggregator
    if (aggregator !== undefined && aggregator !== link) {
      this.send(aggregator, { forget: { segments: orphans.map((segment) => segment.index) } })
    }
    this.recovery = this.recovery
      .then(async () => this.reassign(orphans, why))
      .catch((err: unknown) => {
        if (this.ctx.signal.aborted || this.done) return
        this.failure ??= err instanceof JobFailure ? err : new JobFailure('PEER_FAILED', toError(err).message)
        this.notify()
      })
  }

  /** A replacement: a new peer with free units if there is one, else the least loaded peer of the job */
  private async reassign(segments: SegmentRecord[], why: string): Promise<void> {
    if (this.done) return
    const blocks = segments.reduce((sum, segment) => sum + segment.blockCount, 0)
    let target: Link | undefined
    for (const candidate of rankCandidates(this.ctx.candidates())) {
      if (candidate.unitsFree <= 0 || this.excluded.has(candidate.peerId)) continue
      if (this.links.some((link) => link.peer.peerId === candidate.peerId)) continue
      target = await this.reserveOne(
        candidate,
        Math.min(candidate.unitsFree, this.record.request.computeCapacity)
      )
      if (target !== undefined) break
    }
    target ??= leastLoaded(this.links, this.record.segments)
    if (target === undefined) {
      throw new JobFailure(
        'PEER_FAILED',
        `no peer left to take over ${segments.length} segment(s) after ${why}`
      )
    }
    for (const segment of segments) {
      segment.peerId = target.peer.peerId
      target.segments.push(segment.index)
    }
    if (target.record.state === 'proved') target.record.state = 'assigned'
    this.ctx.save()
    this.ctx.event({
      kind: 'takes-over',
      peer: target.peer.peerId,
      segments: segments.map((segment) => segment.index),
      message: `takes over segment${segments.length === 1 ? '' : 's'} ${segments.map((segment) => segment.index).join(',')} (${blocks} blocks)`
    })
    this.track(this.assignTo(target, segments), target)
  }

  // --- plumbing -------------------------------------------------------------------------------------------

  private send(link: Link, frame: SubmitterFrame): void {
    link.channel
      .write(frame, this.ctx.signal)
      .catch((err: unknown) => this.peerFailed(link, { code: 'UNREACHABLE', message: toError(err).message }))
  }

  private notify(): void {
    this.changed.resolve()
    this.changed = Promise.withResolvers<void>()
  }

  /** Waits until `done()` holds, a peer fails, the job is cancelled or `timeoutMs` passes */
  private async until(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
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

  private setState(state: JobState, phase?: JobPhase): void {
    enterState(this.record, this.ctx, state, phase)
  }

  private endPhase(phase: JobPhase): void {
    endPhase(this.record, this.ctx, phase)
  }

  private async closeLink(link: Link, how: 'release' | 'cancel', reason: string): Promise<void> {
    if (link.closed) return
    link.closed = true
    this.silence.forget(link)
    clearInterval(link.keepAlive)
    const signal = deadline(
      `telling peer ${shortPeerId(link.peer.peerId)} the job ended (${how})`,
      RELEASE_TIMEOUT_MS
    )
    const frame: SubmitterFrame = how === 'release' ? { release: {} } : { cancel: { reason } }
    try {
      await link.channel.write(frame, signal)
      await link.channel.close()
    } catch (err) {
      link.channel.abort(toError(err))
    }
    if (link.record.state !== 'failed') link.record.state = 'released'
  }

  /** Every lease ends with the job, whatever the outcome */
  private async releaseAll(how: 'release' | 'cancel', reason: string): Promise<void> {
    await Promise.all(this.links.map(async (link) => this.closeLink(link, how, reason)))
    this.ctx.save()
  }
}
