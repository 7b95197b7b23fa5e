import { join } from 'node:path'
import type { Connection, PeerId, Startable, Stream } from '@libp2p/interface'
import { BULK_IDLE_TIMEOUT_MS, MAX_BULK_STREAMS } from '../../protocols/bulk/constants.js'
import { readHintsStart, receiveHints } from '../../protocols/hints/codec.js'
import { HINTS_PROTOCOL } from '../../protocols/hints/constants.js'
import { readSliceHeader, receiveSlice } from '../../protocols/inputs/codec.js'
import { INPUTS_PROTOCOL } from '../../protocols/inputs/constants.js'
import type { InputsHeader } from '../../protocols/inputs/pb/inputs.js'
import { peerJobChannel } from '../../protocols/job/codec.js'
import {
  ASSIGN_WAIT_MS,
  FIRST_ASSIGN_DEADLINE_MS,
  JOB_PROTOCOL,
  JOB_REPLY_TIMEOUT_MS,
  MAX_JOB_STREAMS
} from '../../protocols/job/constants.js'
import { type PeerFrame, RefuseCode, type Reserve, type SubmitterFrame } from '../../protocols/job/pb/job.js'
import {
  type ProofFile,
  readProofRequest,
  refuseProof,
  requestProof,
  serveProofFile
} from '../../protocols/proof/codec.js'
import { PROOF_PROTOCOL } from '../../protocols/proof/constants.js'
import { Counter, Gauge, type Registry } from 'prom-client'
import type { SecurityConfig } from '../config/types.js'
import { TransferError } from '../files/errors.js'
import { type ByteSink, countedSink } from '../files/file-sink.js'
import type { Logger } from '../log/index.js'
import { type DialComponents, dialPeer } from '../net/dial-peer.js'
import { closeWithFrame, type FrameDuplex, memoryDuplexPair } from '../net/frame-duplex.js'
import {
  TRANSFER_LIMIT_DEFAULTS,
  type TransferLimits,
  underTransferDeadline
} from '../net/transfer-deadline.js'
import { deadline } from '../net/deadline.js'
import { FramedStream, STREAM_CLOSE_TIMEOUT_MS, toError } from '../net/framed-stream.js'
import { peerText } from '../net/peer-text.js'
import type { ProtocolComponents } from '../net/protocol-components.js'
import { isSegmented, type ProgressNotification, type ProverBackend } from '../prover/types.js'
import type { Lease, LeaseBook } from './leases.js'
import type { ProofFetcher } from './session/aggregation.js'
import { sessionName, WorkerSession } from './session/session.js'
import type { JobSession } from './session/job-session.js'
import { WholeJobSession } from './whole-session.js'

/** The worker registers its job protocol (ProtocolComponents' handle/unhandle) and dials peers for proofs */
export interface WorkerComponents extends DialComponents, Pick<ProtocolComponents, 'handle' | 'unhandle'> {
  peerId: PeerId
}

export interface WorkerServiceInit {
  logger: Logger
  metricsRegistry?: Registry
  leases: LeaseBook
  /**
   * This peer's prover; undefined = this peer takes no work. One that proves segments (npp) takes segment leases,
   * a one-shot command line (cli) whole-job leases (Reserve `whole`) only.
   */
  prover: () => ProverBackend | undefined
  /** Where each session's files live while it runs: <workRoot>/<job id>.<lease id>/ */
  workRoot: string
  inputsFolder: string
  maxInputBytes: number
  /** Who may lease units here (config.security); none = any peer, workerDefaults.maxJobsPerSubmitter jobs each */
  security?: Partial<SecurityConfig>
  /** How long a slice or the hints wait for the Assign they belong to (workerDefaults.assignWaitMs) */
  assignWaitMs?: number
  /** A lease with no Assign this long after Reserved ends (workerDefaults.firstAssignDeadlineMs) */
  firstAssignDeadlineMs?: number
  /** What a proof pulled from another peer must keep up (default TRANSFER_LIMIT_DEFAULTS) */
  transferLimits?: TransferLimits
}

export const workerDefaults = {
  /** One submitter cannot take the whole peer with many small jobs; others still find units here */
  maxJobsPerSubmitter: 4,
  assignWaitMs: ASSIGN_WAIT_MS,
  firstAssignDeadlineMs: FIRST_ASSIGN_DEADLINE_MS
}

/**
 * Sessions are one per (submitter, job id): a peer that learned a job id and reserved it first must not keep the
 * job's own submitter out. Peer ids hold no space.
 */
function sessionKey(submitter: string, jobId: string): string {
  return `${submitter} ${jobId}`
}

/** Job ids travel in paths and NPP calls: keep them to a safe alphabet */
const JOB_ID = /^[A-Za-z0-9_-]{1,64}$/

/**
 * The peer side of the job path: grants leases on /proofmesh/job/1.0.0 and runs one WorkerSession per job,
 * receives input slices and hints, serves proofs, pulls the partial proofs its sessions aggregate. The daemon's
 * own submitter reaches it in-process through openLocal() and the local sinks, over the same frames.
 */
export class WorkerService implements Startable, ProofFetcher {
  private readonly components: WorkerComponents
  private readonly init: WorkerServiceInit
  private readonly log: Logger
  private readonly sessions = new Map<string, JobSession>()
  private readonly onProverProgress = (event: CustomEvent<ProgressNotification>): void => {
    // each session knows its own prover job names; there are a few sessions at most
    for (const session of this.sessions.values()) session.onProgress(event.detail)
  }
  private readonly onLeaseExpired = (event: CustomEvent<Lease>): void => {
    void this.sessions.get(sessionKey(event.detail.submitter, event.detail.jobId))?.stop('lease expired')
  }
  private observedProver?: ProverBackend
  private readonly bytesIn?: Counter<'kind'>
  /** Empty = any submitter may lease units here */
  private readonly allowSubmitters: ReadonlySet<string>
  private readonly denyPeers: ReadonlySet<string>
  private readonly maxJobsPerSubmitter: number

  constructor(components: WorkerComponents, init: WorkerServiceInit) {
    this.components = components
    this.init = init
    this.log = init.logger.child({ component: 'worker' })
    this.allowSubmitters = new Set(init.security?.allowSubmitters ?? [])
    this.denyPeers = new Set(init.security?.denyPeers ?? [])
    this.maxJobsPerSubmitter = init.security?.maxJobsPerSubmitter ?? workerDefaults.maxJobsPerSubmitter
    this.bytesIn =
      init.metricsRegistry === undefined
        ? undefined
        : new Counter({
            name: 'proofmesh_worker_bytes_in_total',
            help: 'Bytes this peer received for jobs it works on, by kind (input slices, hints, proofs)',
            labelNames: ['kind'],
            registers: [init.metricsRegistry]
          })
    if (init.metricsRegistry !== undefined) {
      const { leases } = init
      new Gauge({
        name: 'proofmesh_leases_held',
        help: 'Leases this peer has granted and not yet ended (one per job it works on)',
        registers: [init.metricsRegistry],
        collect() {
          this.set(leases.activeJobs())
        }
      })
      new Gauge({
        name: 'proofmesh_units_leased',
        help: 'Compute units of this peer under lease',
        registers: [init.metricsRegistry],
        collect() {
          this.set(leases.unitsInUse())
        }
      })
    }
  }

  /** A sink that counts what goes through it on this peer */
  private counted<T extends ByteSink>(sink: T, kind: 'input' | 'hints' | 'proof'): T {
    const counter = this.bytesIn
    return counter === undefined ? sink : countedSink(sink, (bytes) => counter.inc({ kind }, bytes))
  }

  get selfId(): string {
    return this.components.peerId.toString()
  }

  async start(): Promise<void> {
    const bulk = { maxInboundStreams: MAX_BULK_STREAMS, maxOutboundStreams: MAX_BULK_STREAMS }
    await this.components.handle(JOB_PROTOCOL, (stream, connection) => this.serveJob(stream, connection), {
      maxInboundStreams: MAX_JOB_STREAMS,
      maxOutboundStreams: MAX_JOB_STREAMS
    })
    await this.components.handle(
      INPUTS_PROTOCOL,
      (stream, connection) => this.serveInputs(stream, connection),
      bulk
    )
    await this.components.handle(
      HINTS_PROTOCOL,
      (stream, connection) => this.serveHints(stream, connection),
      bulk
    )
    await this.components.handle(
      PROOF_PROTOCOL,
      (stream, connection) => this.serveProof(stream, connection),
      bulk
    )
    this.init.leases.addEventListener('expired', this.onLeaseExpired)
  }

  async stop(): Promise<void> {
    for (const protocol of [JOB_PROTOCOL, INPUTS_PROTOCOL, HINTS_PROTOCOL, PROOF_PROTOCOL]) {
      await this.components.unhandle(protocol)
    }
    this.init.leases.removeEventListener('expired', this.onLeaseExpired)
    this.observedProver?.removeEventListener('progress', this.onProverProgress)
    await Promise.all(
      [...this.sessions.values()].map(async (session) => session.stop('the daemon is stopping'))
    )
    this.init.leases.endAll('the daemon stopped')
  }

  activeSessions(): number {
    return this.sessions.size
  }

  /** The in-process link the daemon's own submitter uses to work on its own job */
  openLocal(): FrameDuplex<PeerFrame, SubmitterFrame> {
    const [submitterEnd, workerEnd] = memoryDuplexPair<PeerFrame, SubmitterFrame>()
    void this.runJobStream(workerEnd, this.selfId)
    return submitterEnd
  }

  /** The sink for a slice this daemon's own submitter hands to its own session of the job */
  async localSliceSink(header: InputsHeader): Promise<ByteSink> {
    return this.sessionFor(this.selfId, header.jobId).sliceSink(header)
  }

  /** The sink for this daemon's own session's hints */
  async localHintsSink(jobId: string): Promise<ByteSink> {
    return this.sessionFor(this.selfId, jobId).hintsSink()
  }

  /** The final proof this daemon's own session aggregated, for its own submitter */
  localFinalProof(jobId: string): ProofFile | undefined {
    return this.sessions.get(sessionKey(this.selfId, jobId))?.heldProof()
  }

  /**
   * Pulls a partial proof a session aggregates over /proofmesh/proof/1.0.0, under the transfer limits: a holder
   * that trickles it would hold the aggregation, and the job, to the submitter's aggregate_timeout
   */
  async fetchProof(
    source: { peerId: string; addrs: Uint8Array[] },
    request: { jobId: string; segment: number; submitter: string },
    dest: string,
    signal: AbortSignal
  ): Promise<{ size: number; sha256: Uint8Array }> {
    return underTransferDeadline(
      `pulling segment ${request.segment}'s proof`,
      this.init.transferLimits ?? TRANSFER_LIMIT_DEFAULTS,
      signal,
      async (bounded, moved) => {
        const framed = new FramedStream(await dialPeer(this.components, source, PROOF_PROTOCOL, bounded))
        return requestProof(framed, request, dest, bounded, (bytes) => {
          moved(bytes)
          this.bytesIn?.inc({ kind: 'proof' }, bytes)
        })
      }
    )
  }

  /** The session `submitter` leased for the job: another submitter's session of the same job id is not it */
  private sessionFor(submitter: string, jobId: string): JobSession {
    const session = this.sessions.get(sessionKey(submitter, jobId))
    if (session === undefined) throw new TransferError(`no lease here for job ${jobId}`)
    return session
  }

  private watchProver(prover: ProverBackend): void {
    if (this.observedProver === prover) return
    this.observedProver?.removeEventListener('progress', this.onProverProgress)
    prover.addEventListener('progress', this.onProverProgress)
    this.observedProver = prover
  }

  private serveJob(stream: Stream, connection: Connection): void {
    void this.runJobStream(peerJobChannel(new FramedStream(stream)), connection.remotePeer.toString())
  }

  /** The first frame must be Reserve; then the session takes the stream over */
  private async runJobStream(
    channel: FrameDuplex<SubmitterFrame, PeerFrame>,
    submitter: string
  ): Promise<void> {
    const signal = deadline(`the Reserve from ${submitter} and this peer's reply`, JOB_REPLY_TIMEOUT_MS)
    let reserve: Reserve | undefined
    try {
      reserve = (await channel.read(signal))?.reserve
    } catch (err) {
      this.log.debug({ err, peer: submitter }, 'job stream without a valid Reserve')
      channel.abort(toError(err))
      return
    }
    if (reserve === undefined) {
      channel.abort(new Error('the first frame of a job stream must be Reserve'))
      return
    }
    const admitted = this.admit(reserve, submitter)
    if ('code' in admitted) {
      await this.refuse(channel, admitted.code, admitted.message, signal)
      return
    }
    const { prover } = admitted
    const grant = this.init.leases.grant({
      jobId: reserve.jobId,
      submitter,
      // the lease never holds more than the submitter's room under its cap, whatever Reserve asks
      units: Math.min(reserve.units, this.unitRoom(submitter).room),
      minUnits: reserve.minUnits,
      leaseMs: reserve.leaseMs
    })
    if (!grant.ok) {
      await this.refuse(channel, RefuseCode.BUSY, grant.message, signal, grant.free)
      return
    }
    const { lease } = grant
    const key = sessionKey(submitter, lease.jobId)
    this.watchProver(prover)
    const common = {
      jobId: reserve.jobId,
      lease,
      program: reserve.program,
      inputSize: Number(reserve.inputSize),
      workDir: join(this.init.workRoot, sessionName(reserve.jobId, lease.leaseId)),
      inputsFolder: this.init.inputsFolder,
      assignWaitMs: this.init.assignWaitMs ?? workerDefaults.assignWaitMs,
      firstAssignDeadlineMs: this.init.firstAssignDeadlineMs ?? workerDefaults.firstAssignDeadlineMs,
      channel,
      logger: this.init.logger,
      renewLease: () => this.init.leases.renew(lease.leaseId),
      // 0 = a submitter that asked for none: a third of the lease keeps it alive
      keepAliveMs: Math.min(
        Math.max(reserve.keepAliveMs === 0 ? Math.floor(reserve.leaseMs / 3) : reserve.keepAliveMs, 100),
        60_000
      ),
      onEnd: (reason: string) => {
        this.sessions.delete(key)
        this.init.leases.end(lease.leaseId, reason)
      }
    }
    const session: JobSession =
      reserve.whole === true || !isSegmented(prover)
        ? new WholeJobSession({ ...common, prover })
        : new WorkerSession({ ...common, selfId: this.selfId, prover, fetcher: this })
    this.sessions.set(key, session)
    try {
      await channel.write(
        {
          reserved: {
            leaseId: lease.leaseId,
            units: lease.units,
            leaseMs: lease.leaseMs,
            submitterCap: this.statedCap(submitter)
          }
        },
        signal
      )
    } catch (err) {
      await session.stop(`Reserved not delivered: ${toError(err).message}`)
      return
    }
    await session.run()
  }

  /** Why this peer will not lease units for the Reserve, if it will not (admission comes first); else its prover */
  private admit(
    reserve: Reserve,
    submitter: string
  ): { code: RefuseCode; message: string } | { prover: ProverBackend } {
    // This daemon's own jobs are its operator's: no list or cap applies to them
    const remote = submitter !== this.selfId
    // The connection gater keeps denied peers out; this is for a stream that got through anyway
    if (remote && this.denyPeers.has(submitter)) {
      return {
        code: RefuseCode.UNAUTHORIZED,
        message: 'this peer takes no work from its security.deny_peers'
      }
    }
    if (remote && this.allowSubmitters.size > 0 && !this.allowSubmitters.has(submitter)) {
      return {
        code: RefuseCode.UNAUTHORIZED,
        message: 'this peer takes work only from its security.allow_submitters'
      }
    }
    if (!JOB_ID.test(reserve.jobId))
      return { code: RefuseCode.BAD_REQUEST, message: 'a job id must be 1-64 of [A-Za-z0-9_-]' }
    if (this.sessions.has(sessionKey(submitter, reserve.jobId)))
      return { code: RefuseCode.BAD_REQUEST, message: `job ${reserve.jobId} already holds a lease here` }
    if (reserve.leaseMs < 500 || reserve.leaseMs > 600_000)
      return { code: RefuseCode.BAD_REQUEST, message: 'lease_ms must be in [500, 600000]' }
    const prover = this.init.prover()
    if (prover === undefined)
      return { code: RefuseCode.NO_PROVER, message: 'this peer has no running prover' }
    // an older submitter never sets `whole`: it is told why this peer will not take its segments
    const whole = reserve.whole === true
    if (whole === isSegmented(prover)) {
      return {
        code: RefuseCode.NO_PROVER,
        message: whole
          ? 'this peer proves segments (npp backend), not whole jobs'
          : 'this peer proves whole jobs only (cli backend): a segment lease is not taken here'
      }
    }
    const known = prover.info.programs.some((program) => program.id === reserve.program)
    if (!known)
      return { code: RefuseCode.UNSUPPORTED_PROGRAM, message: `program ${reserve.program} is not run here` }
    if (Number(reserve.inputSize) > this.init.maxInputBytes) {
      return {
        code: RefuseCode.TOO_LARGE,
        message: `an input of ${reserve.inputSize} bytes is over this peer's inputs.max_bytes (${this.init.maxInputBytes})`
      }
    }
    const held = remote ? this.init.leases.leasesOf(submitter) : 0
    if (held >= this.maxJobsPerSubmitter) {
      return {
        code: RefuseCode.BUSY,
        message: `this submitter already holds ${held} jobs here, this peer's security.max_jobs_per_submitter (${this.maxJobsPerSubmitter})`
      }
    }
    const units = this.unitRoom(submitter)
    if (units.room < Math.max(1, reserve.minUnits)) {
      return {
        code: RefuseCode.BUSY,
        message: `this submitter already holds ${units.held} units here, this peer's security.max_units_per_submitter (${units.cap})`
      }
    }
    return { prover }
  }

  /**
   * The units a submitter may still lease here: one Reserve for 2^32-1 units took every unit of a peer, and
   * keep-alives held them from everyone else. This daemon's own jobs are its operator's: no cap applies to them.
   */
  private unitRoom(submitter: string): { room: number; held: number; cap: number } {
    if (submitter === this.selfId)
      return { room: Number.MAX_SAFE_INTEGER, held: 0, cap: Number.MAX_SAFE_INTEGER }
    const set = this.init.security?.maxUnitsPerSubmitter ?? 0
    const cap = set > 0 ? set : Math.max(1, Math.floor(this.init.leases.total() / 2))
    const held = this.init.leases.unitsOf(submitter)
    return { room: Math.max(0, cap - held), held, cap }
  }

  /** The cap a Reserved states (0: none below this peer's units), so the submitter can tell a job that never fits */
  private statedCap(submitter: string): number {
    const { cap } = this.unitRoom(submitter)
    return cap < this.init.leases.total() ? cap : 0
  }

  private async refuse(
    channel: FrameDuplex<SubmitterFrame, PeerFrame>,
    code: RefuseCode,
    message: string,
    signal: AbortSignal,
    freeUnits = this.init.leases.free()
  ): Promise<void> {
    await closeWithFrame(channel, { refused: { code, message: peerText(message), freeUnits } }, signal)
  }

  private serveInputs(stream: Stream, connection: Connection): void {
    const framed = new FramedStream(stream)
    const signal = deadline(
      `an input slice's header from ${connection.remotePeer.toString()}`,
      BULK_IDLE_TIMEOUT_MS
    )
    void (async () => {
      try {
        const header = await readSliceHeader(framed, signal)
        const session = this.sessionFor(connection.remotePeer.toString(), header.jobId)
        const release = session.openStream()
        try {
          const sink = this.counted(await session.sliceSink(header), 'input')
          // The deadline for the bytes is the session's: a large slice may take longer than any fixed time
          await receiveSlice(framed, header, sink, session.signal)
        } finally {
          release()
        }
        await framed
          .close(deadline('closing an input slice stream', STREAM_CLOSE_TIMEOUT_MS))
          .catch(() => undefined)
      } catch (err) {
        this.log.warn(
          { err: toError(err).message, peer: connection.remotePeer.toString() },
          'input slice refused'
        )
        framed.abort(err)
      }
    })()
  }

  private serveHints(stream: Stream, connection: Connection): void {
    const framed = new FramedStream(stream)
    void (async () => {
      try {
        const jobId = await readHintsStart(
          framed,
          deadline(`a hints stream's START from ${connection.remotePeer.toString()}`, BULK_IDLE_TIMEOUT_MS)
        )
        const session = this.sessionFor(connection.remotePeer.toString(), jobId)
        const release = session.openStream()
        try {
          const sink = this.counted(await session.hintsSink(), 'hints')
          await receiveHints(framed, sink, session.signal)
        } finally {
          release()
        }
        await framed.close(deadline('closing a hints stream', STREAM_CLOSE_TIMEOUT_MS)).catch(() => undefined)
      } catch (err) {
        this.log.warn({ err: toError(err).message, peer: connection.remotePeer.toString() }, 'hints refused')
        framed.abort(err)
      }
    })()
  }

  private serveProof(stream: Stream, connection: Connection): void {
    const framed = new FramedStream(stream)
    const signal = deadline(
      `a proof request from ${connection.remotePeer.toString()} and this peer's refusal`,
      BULK_IDLE_TIMEOUT_MS
    )
    void (async () => {
      try {
        const request = await readProofRequest(framed, signal)
        // A partial proof goes to any peer that names the job's submitter (the aggregator); the final proof to the
        // job's submitter only, the requester itself
        const submitter = request.segment === undefined ? connection.remotePeer.toString() : request.submitter
        const session = this.sessions.get(sessionKey(submitter, request.jobId))
        const held: ProofFile | undefined = session?.heldProof(request.segment)
        if (session === undefined || held === undefined) {
          const what = request.segment === undefined ? 'final proof' : `proof of segment ${request.segment}`
          await refuseProof(framed, `no ${what} of job ${request.jobId} here`, signal)
          return
        }
        await serveProofFile(framed, held, session.signal)
      } catch (err) {
        this.log.debug({ err, peer: connection.remotePeer.toString() }, 'proof request failed')
        framed.abort(err)
      }
    })()
  }
}
