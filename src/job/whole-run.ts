import { join } from 'node:path'
import { equals, toString } from 'uint8arrays'
import { FailCode, type Final, type PeerFrame } from '../../protocols/job/pb/job.js'
import { makeDirectory } from '../config/directories.js'
import { formatDuration } from '../config/duration.js'
import { shortPeerId } from '../jobs-model/peer-id.js'
import type { JobPhase, JobState } from '../jobs-model/states.js'
import type {
  JobPeerRecord,
  JobRecord,
  NewJobEvent,
  PeerFailure,
  SegmentRecord
} from '../jobs-model/types.js'
import type { Logger } from '../log/index.js'
import { deadline } from '../net/deadline.js'
import type { FrameDuplex } from '../net/frame-duplex.js'
import { toError } from '../net/framed-stream.js'
import { peerText } from '../net/peer-text.js'
import { underTransferDeadline } from '../net/transfer-deadline.js'
import type { ProverBackend } from '../prover/types.js'
import { SilenceWatch } from '../silence-watch.js'
import type { SubmitterFrame } from '../../protocols/job/pb/job.js'
import { assignFrame, sliceHeader } from './assign-frames.js'
import { grantedUnits } from './blame.js'
import { CapacityShortError, JobFailure } from './errors.js'
import { hashSlices, writeAtomically } from './files.js'
import { pullFinalProof } from './final-proof.js'
import { jobInputFile } from './input-file.js'
import { type Candidate, rankCandidates } from './link.js'
import { endPhase, enterState } from './phases.js'
import { acceptProgress, ProgressRelay } from './progress.js'
import { reserveDefaults } from './reserve.js'
import { endLease } from './run/leases.js'
import type { JobRunSettings, PeerJudgements } from './run/state.js'
import type { SubmitterTransport } from './transport.js'

/** One peer proves the whole job, leased for all of it: no cap to check against (PeerJudgements' capReached) */
export interface WholeJobRunContext extends Omit<PeerJudgements, 'capReached'> {
  record: JobRecord
  save(): void
  event(event: NewJobEvent): void
  /**
   * This daemon's prover when it runs the job's program: the proof is verified on it before it is saved. Without
   * one the proof is saved marked `unverified` (the proving peer's word only), never as verified.
   */
  verifier: Pick<ProverBackend, 'verify'> | undefined
  transport: Pick<SubmitterTransport, 'openJob' | 'pushSlice' | 'fetchFinalProof'>
  /** Peers that prove whole jobs (cli backend) of the job's program, this daemon included when it is one */
  candidates(): Candidate[]
  settings: JobRunSettings
  logger: Logger
  /** Aborted on cancel or when the job's time is up; its reason is a JobFailure */
  signal: AbortSignal
}

/** The peer proving the job now and its job stream */
interface WholeLink {
  peer: Candidate
  record: JobPeerRecord
  channel: FrameDuplex<PeerFrame, SubmitterFrame>
}

/** One peer's attempt failed: the job moves to another peer; `lie`: its proof was not what it said (penalised) */
class PeerFault extends Error {
  readonly failure: PeerFailure
  readonly lie: boolean
  constructor(failure: PeerFailure, lie = false) {
    super(failure.message)
    this.name = 'PeerFault'
    this.failure = failure
    this.lie = lie
  }
}

/**
 * A job proved whole by one peer whose prover is a one-shot command line (the cli backend): this daemon itself, or
 * another peer leased over the job protocol with `Reserve.whole` (protocols/job/README.md, "Whole jobs"). The input
 * goes over the inputs protocol as one segment; the peer runs its prove and verify templates and answers `Final`;
 * the proof is pulled, checked against `Final`, verified here when this daemon runs the program, and saved. A peer
 * that fails, goes silent, makes no progress for jobs.progress_timeout or hands over a proof that is not what it
 * said is dropped and the job moves to the next one, up to jobs.max_retries times.
 */
export class WholeJobRun {
  private readonly ctx: WholeJobRunContext
  private readonly log: Logger
  private readonly excluded = new Set<string>()

  constructor(ctx: WholeJobRunContext) {
    this.ctx = ctx
    this.log = ctx.logger.child({ component: 'job', job: ctx.record.id })
  }

  private get record(): JobRecord {
    return this.ctx.record
  }

  /** Resolves once the proof is saved; throws JobFailure, or CapacityShortError to requeue */
  async run(): Promise<void> {
    const { ctx, record } = this
    // a one-shot command line takes the input alone: hints given for the job would be dropped without a word
    if (record.request.hints !== undefined)
      throw new JobFailure(
        'HINTS',
        `${record.request.program} is proved whole by a cli prover, which takes no hints`
      )
    this.setState('reserving', 'reserve')
    makeDirectory(ctx.settings.jobDir)
    const input = await jobInputFile(record, ctx.settings.jobDir, ctx.settings.inputsFolder)
    const size = record.inputSize ?? 0
    record.inputSha256 = (await hashSlices(input, [{ inputOffset: 0, inputLength: size }])).whole
    let last: PeerFault | undefined
    for (let attempt = 0; attempt <= ctx.settings.maxRetries; attempt++) {
      const link = await this.lease()
      if (link === undefined) {
        if (last !== undefined) break
        throw new CapacityShortError(
          `no peer proving whole jobs of ${record.request.program} granted ${record.request.minimalComputeCapacity} units`,
          0
        )
      }
      this.endPhase('reserve')
      try {
        await this.proveOn(link, input)
        link.record.state = 'released'
        await this.end(link, { release: {} })
        return
      } catch (err) {
        await this.end(link, { cancel: { reason: toError(err).message } })
        if (!(err instanceof PeerFault) || ctx.signal.aborted) throw ctx.signal.reason ?? err
        this.dropPeer(link, err)
        last = err
      }
    }
    const failure = last?.failure ?? { code: 'PEER_FAILED', message: 'no attempt' }
    throw new JobFailure(
      failure.code === 'PROOF_INVALID' ? 'PROOF_INVALID' : 'PEER_FAILED',
      `no peer proved the job whole; the last one: ${failure.code}: ${failure.message}`
    )
  }

  /** The best-ranked candidate that grants a lease, or none */
  private async lease(): Promise<WholeLink | undefined> {
    const { minimalComputeCapacity } = this.record.request
    for (const peer of rankCandidates(this.ctx.candidates())) {
      if (this.excluded.has(peer.peerId) || peer.unitsFree < Math.max(1, minimalComputeCapacity)) continue
      const link = await this.reserveOn(peer)
      if (link !== undefined) return link
      this.excluded.add(peer.peerId)
    }
    return undefined
  }

  private async reserveOn(peer: Candidate): Promise<WholeLink | undefined> {
    const { ctx, record } = this
    const { request } = record
    const signal = AbortSignal.any([
      ctx.signal,
      deadline(`the lease reply from peer ${shortPeerId(peer.peerId)}`, reserveDefaults.peerTimeoutMs)
    ])
    let channel: FrameDuplex<PeerFrame, SubmitterFrame> | undefined
    try {
      channel = await ctx.transport.openJob(peer, signal)
      const units = request.computeCapacity
      await channel.write(
        {
          reserve: {
            jobId: record.id,
            program: request.program,
            units,
            minUnits: request.minimalComputeCapacity,
            inputSize: BigInt(record.inputSize ?? 0),
            leaseMs: ctx.settings.leaseMs,
            keepAliveMs: Math.max(100, Math.floor(ctx.settings.peerTimeoutMs / 3)),
            whole: true
          }
        },
        signal
      )
      const reply = await channel.read(signal)
      const granted = reply?.reserved === undefined ? 0 : grantedUnits(units, reply.reserved.units)
      if (reply?.reserved === undefined || granted === 0) {
        const why = reply?.refused === undefined ? 'it granted no units' : peerText(reply.refused.message)
        ctx.refused(peer.peerId)
        ctx.event({ kind: 'refused', peer: peer.peerId, message: `refused: ${why}` })
        await channel.close().catch(() => undefined)
        return undefined
      }
      ctx.granted(peer.peerId, reply.reserved.submitterCap)
      const peerRecord: JobPeerRecord = {
        peerId: peer.peerId,
        local: peer.local,
        units: granted,
        leaseId: reply.reserved.leaseId,
        state: 'reserved',
        bytesSent: 0
      }
      record.peers.push(peerRecord)
      ctx.save()
      ctx.event({ kind: 'leased', peer: peer.peerId, units: granted, message: `leased ${granted} units` })
      return { peer, record: peerRecord, channel }
    } catch (err) {
      ctx.signal.throwIfAborted()
      ctx.refused(peer.peerId)
      this.log.info({ peer: peer.peerId, err: toError(err).message }, 'peer not reserved')
      channel?.abort(toError(err))
      return undefined
    }
  }

  /** One attempt on one peer: Assign, the input, its Final, the proof pulled, checked and saved */
  private async proveOn(link: WholeLink, input: string): Promise<void> {
    const { ctx, record } = this
    const attempt = new AbortController()
    const fault = (failure: PeerFailure, lie = false): void => attempt.abort(new PeerFault(failure, lie))
    const signal = AbortSignal.any([ctx.signal, attempt.signal])
    const segment: SegmentRecord = {
      index: 0,
      startBlock: 0,
      blockCount: 1,
      inputOffset: 0,
      inputLength: record.inputSize ?? 0,
      inputSha256: record.inputSha256 ?? '',
      peerId: link.peer.peerId,
      state: 'assigned'
    }
    record.segments = [segment]
    link.record.state = 'assigned'
    this.setState('proving', 'prove')
    const watch = this.watch(link, fault)
    try {
      await link.channel
        .write({ assign: assignFrame(record, [segment], false) }, signal)
        .catch((err: unknown) => {
          throw new PeerFault({ code: 'UNREACHABLE', message: toError(err).message })
        })
      if (record.request.inputMode === 'data') {
        void this.ship(link, segment, input, signal, watch.touch).catch((err: unknown) => {
          fault({ code: 'TRANSFER', message: `the input did not arrive: ${toError(err).message}` })
        })
      }
      const final = await this.finalFrom(link, signal, watch)
      segment.state = 'proved'
      segment.proofSize = Number(final.size)
      segment.proofSha256 = toString(final.sha256, 'base16')
      link.record.state = 'proved'
      ctx.event({ kind: 'final', peer: link.peer.peerId, size: Number(final.size), message: 'proved' })
      this.endPhase('prove')
      // the pull has its own idle deadline; keep-alives go on, so that the peer's lease outlasts a long pull
      watch.quiet()
      await this.pullAndSave(link, final, input, signal)
    } catch (err) {
      throw attempt.signal.aborted && !ctx.signal.aborted ? attempt.signal.reason : err
    } finally {
      watch.stop()
    }
  }

  /** Streams the whole input as segment 0 under the transfer limits (jobs.transfer_idle_timeout, _min_rate) */
  private async ship(
    link: WholeLink,
    segment: SegmentRecord,
    input: string,
    signal: AbortSignal,
    moved: () => void
  ): Promise<void> {
    const { ctx, record } = this
    const header = sliceHeader(record, segment)
    try {
      await underTransferDeadline(
        `sending the input to peer ${shortPeerId(link.peer.peerId)}`,
        ctx.settings.transferLimits,
        signal,
        async (bounded, sent) =>
          ctx.transport.pushSlice(link.peer, header, input, bounded, (bytes) => {
            sent(bytes)
            moved()
            link.record.bytesSent += bytes
            record.bytesOut += bytes
          })
      )
    } finally {
      ctx.save()
    }
  }

  /**
   * The peer's silence (jobs.peer_timeout, keep-alives count; time this daemon could not run does not) and its
   * progress (jobs.progress_timeout from the Assign to Final: a Progress frame or input bytes moving count,
   * keep-alives do not) each fault the attempt until `quiet`; keep-alives go to the peer every third of the lease
   * until `stop`.
   */
  private watch(
    link: WholeLink,
    fault: (failure: PeerFailure) => void
  ): { heard: () => void; touch: () => void; quiet: () => void; stop: () => void } {
    const { settings } = this.ctx
    const tickMs = Math.max(50, Math.floor(settings.peerTimeoutMs / 10))
    const silence = new SilenceWatch<WholeLink>({ limitMs: settings.peerTimeoutMs, tickMs })
    if (!link.peer.local) silence.heard(link)
    let progressAt = Date.now()
    const ticker = setInterval(() => {
      for (const { silentMs } of silence.tick()) {
        fault({
          code: 'TIMEOUT',
          message: `it sent nothing for ${(silentMs / 1000).toFixed(1)} s, over jobs.peer_timeout (${formatDuration(settings.peerTimeoutMs)})`
        })
      }
      if (Date.now() - progressAt > settings.progressTimeoutMs) {
        fault({
          code: 'TIMEOUT',
          message: `no progress for ${formatDuration(settings.progressTimeoutMs)} (jobs.progress_timeout)`
        })
      }
    }, tickMs)
    ticker.unref()
    const keepAlive = setInterval(
      () => void link.channel.write({ keepAlive: {} }, this.ctx.signal).catch(() => undefined),
      Math.max(100, Math.floor(settings.leaseMs / 3))
    )
    keepAlive.unref()
    return {
      heard: () => {
        if (!link.peer.local) silence.heard(link)
      },
      touch: () => {
        progressAt = Date.now()
      },
      quiet: () => clearInterval(ticker),
      stop: () => {
        clearInterval(ticker)
        clearInterval(keepAlive)
      }
    }
  }

  /** Reads the peer's frames until its Final; its Failed, anything out of place or the stream's end fault it */
  private async finalFrom(
    link: WholeLink,
    signal: AbortSignal,
    watch: { heard: () => void; touch: () => void }
  ): Promise<Final> {
    const peerId = link.peer.peerId
    const relay = new ProgressRelay({ emit: (report) => this.ctx.event({ kind: 'progress', ...report }) })
    try {
      for (;;) {
        const frame = await link.channel.read(signal).catch((err: unknown) => {
          signal.throwIfAborted()
          throw new PeerFault({ code: 'LOST', message: toError(err).message })
        })
        if (frame === undefined) throw new PeerFault({ code: 'LOST', message: 'it closed its job stream' })
        watch.heard()
        if (frame.keepAlive !== undefined) continue
        if (frame.progress !== undefined) {
          watch.touch()
          const report = acceptProgress(peerId, frame.progress, { segments: [0], aggregator: false })
          if (report !== undefined) relay.offer(report)
        } else if (frame.failed !== undefined) {
          const { code, message } = frame.failed
          throw new PeerFault({
            code: FailCode[code] ?? 'INTERNAL',
            message: peerText(message).slice(0, 300)
          })
        } else if (frame.final !== undefined) {
          watch.touch()
          return frame.final
        } else {
          const name = Object.entries(frame).find(([, value]) => value !== undefined)?.[0] ?? 'an empty frame'
          throw new PeerFault({ code: 'PROTOCOL', message: `${name} has no place in a whole job` })
        }
      }
    } finally {
      relay.stop()
    }
  }

  /**
   * The proof is pulled (size cap and idle timeout of the proof protocol), must be the bytes `Final` announced,
   * and is verified here when this daemon runs the program; otherwise it is saved marked unverified: this daemon
   * cannot tell a proof from noise for a program it does not run, and says so rather than vouch for it. A proof
   * made by this daemon's own worker was verified by it, with this daemon's prover, and is not verified twice.
   */
  private async pullAndSave(
    link: WholeLink,
    final: Final,
    input: string,
    signal: AbortSignal
  ): Promise<void> {
    const { ctx, record } = this
    const { request } = record
    this.setState('verifying', 'verify')
    const received = join(ctx.settings.jobDir, 'final.proof')
    const got = await pullFinalProof(
      ctx.transport,
      link.peer,
      record.id,
      received,
      ctx.settings.transferLimits,
      signal
    ).catch((err: unknown) => {
      signal.throwIfAborted()
      throw new PeerFault({
        code: 'TRANSFER',
        message: `its proof could not be pulled: ${toError(err).message}`
      })
    })
    if (got.size !== Number(final.size) || !equals(got.sha256, final.sha256)) {
      throw new PeerFault(
        { code: 'PROOF_INVALID', message: 'the proof it served is not the one its Final announced' },
        true
      )
    }
    let unverified: string | undefined
    if (link.peer.local) {
      // This daemon's own worker ran this daemon's prover's verify on this very file before its Final
      // (worker/whole-session.ts), and the copy matched Final's SHA-256: a second verify here only doubled the
      // job's verify time. A remote peer's word is never taken: its proof is verified below.
      record.digest = final.digest.byteLength === 0 ? undefined : toString(final.digest, 'base16')
    } else if (ctx.verifier === undefined) {
      unverified = `this daemon runs no prover for ${request.program}: the proof is peer ${shortPeerId(link.peer.peerId)}'s word (its own verify passed)`
    } else {
      const verdict = await ctx.verifier.verify(
        { program: request.program, proof: received, job: record.id, input },
        { signal: ctx.signal }
      )
      if (!verdict.valid) {
        throw new PeerFault(
          {
            code: 'PROOF_INVALID',
            message: `its proof does not verify here: ${verdict.reason ?? 'no reason given'}`
          },
          true
        )
      }
      record.digest = verdict.digest
    }
    let path = received
    if (request.saveProof) {
      makeDirectory(ctx.settings.proofsDir)
      path = join(ctx.settings.proofsDir, `${record.id}.proof`)
      await writeAtomically(received, path)
    }
    const sha256 = toString(got.sha256, 'base16')
    record.proof =
      unverified === undefined
        ? { size: got.size, sha256, path }
        : { size: got.size, sha256, path, unverified }
    this.log.info({ peer: link.peer.peerId, size: got.size, unverified }, 'whole job proved')
    this.endPhase('verify')
    this.setState('succeeded')
  }

  /** The attempt failed: the peer is out of this job (penalised when its proof was a lie) */
  private dropPeer(link: WholeLink, fault: PeerFault): void {
    const { ctx, record } = this
    const peerId = link.peer.peerId
    this.excluded.add(peerId)
    link.record.state = 'failed'
    link.record.failure = fault.failure
    const segment = record.segments[0]
    if (segment !== undefined) segment.state = 'failed'
    if (fault.lie && !link.peer.local) ctx.penalise(peerId, fault.failure.message)
    this.log.warn({ peer: peerId, ...fault.failure }, 'whole-job peer failed')
    ctx.event({
      kind: 'peer-failed',
      peer: peerId,
      failure: fault.failure,
      message: `${fault.failure.code}: ${fault.failure.message}`
    })
    ctx.save()
  }

  /** Release or Cancel, then the stream closes (endLease) */
  private async end(link: WholeLink, frame: SubmitterFrame): Promise<void> {
    await endLease(link.channel, link.peer.peerId, frame)
    this.ctx.save()
  }

  private setState(state: JobState, phase?: JobPhase): void {
    enterState(this.record, this.ctx, state, phase)
  }

  private endPhase(phase: JobPhase): void {
    endPhase(this.record, this.ctx, phase)
  }
}
