import { stat } from 'node:fs/promises'
import { basename, join } from 'node:path'
import type { Startable } from '@libp2p/interface'
import { TypedEventEmitter } from 'main-event'
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import type { JobsBackend } from '../jobs-model/backend.js'
import { newJobId } from '../jobs-model/job-id.js'
import { isTerminal, JOB_PHASES, JOB_STATES, type JobState } from '../jobs-model/states.js'
import type { JobEvent, JobRecord, JobRequest, NewJobEvent } from '../jobs-model/types.js'
import type { Logger } from '../log/index.js'
import { ProverSupervisor } from '../prover/supervisor.js'
import type { ProverBackend } from '../prover/types.js'
import type { Journal } from '../store/index.js'
import { localInputMessage, resolveInputName } from '../files/inputs-folder.js'
import { capacityShortfall, jobCapacity } from './capacity-rule.js'
import { CapacityShortError, JobFailure, RestartJobError } from './errors.js'
import { JobRefusedError, parseJobRequest } from './request.js'
import type { Candidate } from './link.js'
import { JobRun, type JobRunSettings, type PeerJudgements } from './run.js'
import { type PullCapacity, type PullRoundResult, PullRounds } from './pull-rounds.js'
import { RefusalBackoff } from './refusal-backoff.js'
import { SubmitterCaps } from './submitter-caps.js'
import type { SubmitterTransport } from './transport.js'
import { WholeJobRun } from './whole-run.js'
import { sendWebhook, webhookUrlFor } from './webhook.js'

export interface JobServiceInit {
  logger: Logger
  journal: Journal
  selfId: string
  prover: () => ProverBackend | undefined
  transport: SubmitterTransport
  /** Fresh peers that prove segments (npp), this daemon included when it does */
  candidates: () => Candidate[]
  /** Fresh peers that prove whole jobs only (cli backend), this daemon included when it does */
  wholeCandidates: () => Candidate[]
  /** Until the peer table has had one advert interval to fill, "the network is too small" is not yet known */
  tableWarm: () => boolean
  /** What each JobRun takes (its jobDir is made per job, under jobsDir), and the service's own settings */
  settings: Omit<JobRunSettings, 'jobDir'> & {
    defaultTimeoutMs: number
    maxQueued: number
    maxInputBytes: number
    jobsDir: string
    webhookUrl: string
    /** jobs.save_proofs: false keeps every proof in its job folder only, whatever the request says */
    saveProofs: boolean
  }
  metricsRegistry?: Registry
  /** How often queued jobs look for capacity (only while any is queued) */
  scheduleIntervalMs?: number
  /** Asks neighbours for adverts the table lacks (capacity/pull.ts); without it a short table is taken as it is */
  pullCapacity?: PullCapacity
}

interface JobServiceEvents {
  event: CustomEvent<JobEvent>
}

interface Running {
  run: JobRun | WholeJobRun
  controller: AbortController
}

/** Penalty points (one per invalid proof, halving every half hour) above which a peer gets no work */
export const PENALTY_LIMIT = 3

/** The states of a job that a JobRun drives: a restart interrupted any job in one of them */
const RUNNING_STATES: readonly JobState[] = JOB_STATES.filter(
  (state) => state !== 'queued' && !isTerminal(state)
)

/**
 * This daemon as a submitter: admits jobs, journals them, queues those that wait for capacity (priority, then
 * arrival), runs each with a JobRun, saves results, fires webhooks. It is the JobsBackend of the local API.
 */
export class JobService extends TypedEventEmitter<JobServiceEvents> implements Startable, JobsBackend {
  private readonly init: JobServiceInit
  private readonly log: Logger
  private readonly running = new Map<string, Running>()
  private readonly backoff = new RefusalBackoff()
  private readonly caps = new SubmitterCaps()
  private timer?: NodeJS.Timeout
  private readonly stopping = new AbortController()
  private readonly webhooks = new Set<Promise<unknown>>()
  private scheduling = false
  private readonly pulls?: PullRounds
  private readonly metrics?: {
    jobs: Gauge<'state'>
    phases: Histogram<'phase'>
    bytesOut: Counter
    queue: Gauge
  }

  constructor(init: JobServiceInit) {
    super()
    this.init = init
    this.log = init.logger.child({ component: 'jobs' })
    if (init.pullCapacity !== undefined) {
      this.pulls = new PullRounds(init.pullCapacity, (jobId, result) => {
        const job = this.init.journal.getJob(jobId)
        if (job !== undefined && result !== undefined && result.asked > 0)
          this.emitEvent(job, pullEvent(result))
        this.schedule()
      })
    }
    const registry = init.metricsRegistry
    if (registry !== undefined) {
      this.metrics = {
        jobs: new Gauge({
          name: 'proofmesh_jobs',
          help: 'Jobs this daemon submitted, by state',
          labelNames: ['state'],
          registers: [registry],
          collect: () => this.collectStates()
        }),
        phases: new Histogram({
          name: 'proofmesh_job_phase_seconds',
          help: 'Time per job phase, on the submitter',
          labelNames: ['phase'],
          buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 900],
          registers: [registry]
        }),
        bytesOut: new Counter({
          name: 'proofmesh_job_bytes_out_total',
          help: 'Input and hints bytes this submitter sent to other peers',
          registers: [registry]
        }),
        queue: new Gauge({
          name: 'proofmesh_job_queue_length',
          help: 'Jobs waiting for capacity in this submitter\u2019s queue',
          registers: [registry]
        })
      }
    }
  }

  async start(): Promise<void> {
    this.resumeInterrupted()
    this.schedule()
  }

  async stop(): Promise<void> {
    clearInterval(this.timer)
    this.timer = undefined
    const stopped = new JobFailure('SUBMITTER_STOPPED', 'the submitting daemon stopped')
    this.stopping.abort(stopped)
    for (const { controller } of this.running.values()) controller.abort(stopped)
    const deadline = Date.now() + 5_000
    while (this.running.size > 0 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 50))
    await Promise.race([
      Promise.allSettled([...this.webhooks]),
      new Promise((resolve) => setTimeout(resolve, 2_000))
    ])
  }

  // --- JobsBackend ----------------------------------------------------------------------------------------

  async submit(body: unknown): Promise<JobRecord> {
    const prover = this.init.prover()
    if (prover === undefined)
      throw new JobRefusedError('NO_PROVER', 'this daemon has no running prover to plan and verify jobs', 503)
    // a program only cli peers run is proved whole by one of them (see segmentedProver)
    const programs = [
      ...new Set([
        ...prover.info.programs.map((program) => program.id),
        ...this.init.wholeCandidates().flatMap((candidate) => candidate.programs)
      ])
    ]
    const request = parseJobRequest(body, { timeoutMs: this.init.settings.defaultTimeoutMs, programs })
    request.saveProof &&= this.init.settings.saveProofs
    const queued = this.init.journal.listJobs({ states: ['queued'] }).length
    if (queued >= this.init.settings.maxQueued) {
      throw new JobRefusedError('QUEUE_FULL', `the queue holds ${queued} jobs already (jobs.max_queued)`)
    }
    const inputSize = await this.admitInput(request)
    const now = Date.now()
    const record: JobRecord = {
      id: newJobId(),
      request,
      state: 'queued',
      submitter: this.init.selfId,
      createdAt: now,
      updatedAt: now,
      inputSize,
      peers: [],
      segments: [],
      phases: { queue: { startedAt: now } },
      bytesOut: 0
    }
    this.init.journal.putJob(record)
    this.emitEvent(record, {
      kind: 'state',
      state: 'queued',
      message: `${request.computeCapacity} units requested`
    })
    this.log.info(
      { job: record.id, program: request.program, mode: request.inputMode, units: request.computeCapacity },
      'job submitted'
    )
    this.schedule()
    return this.init.journal.getJob(record.id) ?? record
  }

  list(filter: { states?: JobState[] }): JobRecord[] {
    return this.init.journal.listJobs({ states: filter.states })
  }

  get(id: string): JobRecord | undefined {
    return this.init.journal.getJob(id)
  }

  proofPath(id: string): string | undefined {
    const job = this.init.journal.getJob(id)
    return job?.state === 'succeeded' ? job.proof?.path : undefined
  }

  async cancel(id: string): Promise<JobRecord | undefined> {
    const job = this.init.journal.getJob(id)
    if (job === undefined) return undefined
    const running = this.running.get(id)
    if (running !== undefined) {
      running.controller.abort(new JobFailure('CANCELLED', 'cancelled by the user'))
      // The run ends within the time the peers take to hear Cancel; report once it did
      const deadline = Date.now() + 5_000
      while (this.running.has(id) && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 20))
    } else if (job.state === 'queued') {
      this.finish(job, 'cancelled', new JobFailure('CANCELLED', 'cancelled by the user'))
    }
    return this.init.journal.getJob(id)
  }

  events(id: string, afterSeq: number): JobEvent[] {
    return this.init.journal.events(id, afterSeq)
  }

  subscribe(id: string, listener: (event: JobEvent) => void): () => void {
    const handler = (event: CustomEvent<JobEvent>): void => {
      if (event.detail.jobId === id) listener(event.detail)
    }
    this.addEventListener('event', handler)
    return () => this.removeEventListener('event', handler)
  }

  /** Jobs waiting for capacity, in the order they will start */
  queue(): JobRecord[] {
    return this.init.journal
      .listJobs({ states: ['queued'] })
      .sort((a, b) => b.request.priority - a.request.priority || a.createdAt - b.createdAt)
  }

  /**
   * Jobs a previous run of this daemon left running: their peers freed their units when the job streams closed,
   * so each starts again from the queue (same id, same request: its contributions and challenge come out the
   * same). One that was interrupted more than jobs.max_retries times ends as failed instead.
   */
  private resumeInterrupted(): void {
    for (const job of this.init.journal.listJobs({ states: RUNNING_STATES })) {
      job.restarts = (job.restarts ?? 0) + 1
      if (job.restarts > this.init.settings.maxRetries) {
        this.finish(
          job,
          'failed',
          new JobFailure(
            'SUBMITTER_RESTARTED',
            `submitter restarted while the job ran (${job.restarts} times)`
          )
        )
      } else {
        this.requeue(job, `the submitter restarted while the job was ${job.state}; starting it again`)
      }
    }
  }

  // --- admission and scheduling ---------------------------------------------------------------------------

  /** The input must exist, be readable and non-empty, and fit inputs.max_bytes; returns its size */
  private async admitInput(request: JobRequest): Promise<number> {
    let size: number
    if (request.inputMode === 'path') {
      size = (
        await resolveInputName(this.init.settings.inputsFolder, request.input).catch((err: unknown) => {
          throw new JobRefusedError('INPUT', localInputMessage(err), 400)
        })
      ).size
    } else {
      const info = await stat(request.input).catch(() => undefined)
      if (info === undefined)
        throw new JobRefusedError('INPUT', `input ${request.input} does not exist or cannot be read`, 400)
      if (!info.isFile())
        throw new JobRefusedError('INPUT', `input ${request.input} is not a regular file`, 400)
      if (info.size === 0) throw new JobRefusedError('INPUT', `input ${request.input} is empty`, 400)
      size = info.size
    }
    if (size > this.init.settings.maxInputBytes) {
      throw new JobRefusedError(
        'INPUT',
        `input ${basename(request.input)} has ${size} bytes, over inputs.max_bytes (${this.init.settings.maxInputBytes})`,
        400
      )
    }
    return size
  }

  /**
   * Starts queued jobs in order while capacity allows; the head of the queue blocks the rest (no starvation). A job
   * left waiting is looked at again every schedule interval; with none waiting nothing polls (a journal query four
   * times a second was ~1% of an idle daemon's CPU profile): a submit and a run's end call this again.
   */
  private schedule(): void {
    if (this.scheduling || this.stopping.signal.aborted) return
    this.scheduling = true
    let waiting = false
    try {
      for (const job of this.queue()) {
        const now = Date.now()
        if (now - job.createdAt > job.request.timeoutMs) {
          this.finish(
            job,
            'failed',
            new JobFailure(
              'TIMEOUT',
              `no capacity within ${Math.round(job.request.timeoutMs / 1000)} s: ${job.waitingFor ?? 'waiting'}`
            )
          )
          continue
        }
        const whole = this.segmentedProver(job) === undefined
        const candidates = this.candidatesFor(job, whole)
        const capacity = jobCapacity(candidates, (peerId, units) => this.caps.limit(peerId, units), whole)
        const { computeCapacity } = job.request
        // the table is short of the job's units: the neighbours' tables may hold more (two hops beyond ours)
        if (
          capacity.free < computeCapacity &&
          this.pulls?.wait(job.id, {
            program: job.request.program,
            units: computeCapacity - capacity.free,
            known: candidates
              .filter((candidate) => candidate.unitsFree > 0)
              .map((candidate) => candidate.peerId),
            signal: this.stopping.signal
          }) === true
        ) {
          waiting = true
          break
        }
        const shortfall = capacityShortfall(job.request, capacity, whole)
        if (shortfall !== undefined && this.init.tableWarm()) {
          this.finish(job, 'failed', new JobFailure('CAPACITY', shortfall))
          continue
        }
        const { free } = capacity
        const { minimalComputeCapacity } = job.request
        if (free < minimalComputeCapacity) {
          const waitingFor = whole
            ? `needs ${minimalComputeCapacity} units on one peer, ${free} free on the freest`
            : `needs ${minimalComputeCapacity} units, ${free} free`
          if (job.waitingFor !== waitingFor) {
            job.waitingFor = waitingFor
            this.save(job)
            this.emitEvent(job, { kind: 'log', message: `waiting: ${waitingFor}` })
          }
          waiting = true
          break
        }
        this.startRun(job)
      }
    } finally {
      this.scheduling = false
      this.pollWhile(waiting)
    }
  }

  private pollWhile(waiting: boolean): void {
    if (!waiting) {
      clearInterval(this.timer)
      this.timer = undefined
    } else if (this.timer === undefined) {
      this.timer = setInterval(() => this.schedule(), this.init.scheduleIntervalMs ?? 250)
      this.timer.unref()
    }
  }

  /**
   * Peers that run the job's program, with their penalty points; a peer penalised past PENALTY_LIMIT (several
   * invalid proofs lately) gets no work until its points decay. `whole`: the job is proved whole (segmentedProver
   * has none for it), by a peer of the whole-job pool
   */
  private candidatesFor(job: JobRecord, whole: boolean): Candidate[] {
    const now = Date.now()
    const pool = whole ? this.init.wholeCandidates() : this.init.candidates()
    return pool
      .filter((candidate) => candidate.unitsTotal > 0 && candidate.programs.includes(job.request.program))
      .map((candidate) => ({
        ...candidate,
        // a peer that refused lately counts as having none free until its back-off ends (RefusalBackoff); one
        // that stated a cap on this submitter, no more than the cap
        unitsFree:
          this.backoff.waitUntil(candidate.peerId, now) > 0
            ? 0
            : this.caps.limit(candidate.peerId, candidate.unitsFree),
        penalty: this.init.journal.penalty(candidate.peerId, now)
      }))
      .filter((candidate) => candidate.penalty < PENALTY_LIMIT)
  }

  private startRun(job: JobRecord): void {
    const prover = this.init.prover()
    if (prover === undefined) {
      // the prover stopped (it is restarting) between admission and now
      this.finish(job, 'failed', new JobFailure('NO_PROVER', 'this daemon has no running prover'))
      return
    }
    const controller = new AbortController()
    const remaining = Math.max(1, job.createdAt + job.request.timeoutMs - Date.now())
    const signal = AbortSignal.any([
      controller.signal,
      this.stopping.signal,
      timeoutSignal(remaining, job.request.timeoutMs)
    ])
    job.waitingFor = undefined
    const queuePhase = job.phases.queue
    if (queuePhase !== undefined) queuePhase.endedAt = Date.now()
    // the service's own settings ride along unread
    const settings: JobRunSettings = {
      ...this.init.settings,
      jobDir: join(this.init.settings.jobsDir, job.id)
    }
    const segmented = this.segmentedProver(job)
    const run =
      segmented !== undefined
        ? this.segmentedRun(job, segmented, settings, signal)
        : new WholeJobRun({
            record: job,
            save: () => this.save(job),
            event: (event) => this.emitEvent(job, event),
            verifier: prover.info.programs.some((program) => program.id === job.request.program)
              ? prover
              : undefined,
            transport: this.init.transport,
            candidates: () => this.candidatesFor(job, true),
            ...this.peerJudgements(job),
            settings,
            logger: this.init.logger,
            signal
          })
    this.running.set(job.id, { run, controller })
    run
      .run()
      .then(() => this.finish(job, 'succeeded'))
      .catch((err: unknown) => {
        if (
          err instanceof RestartJobError &&
          !signal.aborted &&
          (job.restarts ?? 0) < this.init.settings.maxRetries
        ) {
          job.restarts = (job.restarts ?? 0) + 1
          this.requeue(job, err.message)
          return
        }
        if (err instanceof CapacityShortError && !signal.aborted) {
          // Someone else leased the units first: back to the queue, all leases were released
          this.requeue(job, err.message)
          return
        }
        const failure =
          err instanceof JobFailure
            ? err
            : signal.aborted && signal.reason instanceof JobFailure
              ? signal.reason
              : new JobFailure('INTERNAL', (err as Error).message)
        this.finish(job, failure.code === 'CANCELLED' ? 'cancelled' : 'failed', failure)
      })
      .finally(() => {
        this.running.delete(job.id)
        this.schedule()
      })
  }

  /**
   * This daemon's prover when the job is split into segments: it proves segments (npp) and runs the program, so it
   * can plan and verify. Otherwise the job is proved whole by one peer that proves whole jobs (cli) of the program,
   * this daemon when it is one; a program only such peers run is never split.
   */
  private segmentedProver(job: JobRecord): ProverSupervisor | undefined {
    const prover = this.init.prover()
    const runs = prover?.info.programs.some((program) => program.id === job.request.program) ?? false
    return runs && prover instanceof ProverSupervisor ? prover : undefined
  }

  /** What a run reports of its peers: bad work (penalty points), refusals and grants (the refusal back-off) */
  private peerJudgements(job: JobRecord): PeerJudgements {
    return {
      penalise: (peerId, reason) => {
        const points = this.init.journal.penalise(peerId, 1, reason)
        this.log.warn({ job: job.id, peer: peerId, points, reason }, 'peer penalised')
      },
      refused: (peerId) => this.backoff.refused(peerId, Date.now()),
      granted: (peerId, submitterCap) => {
        this.backoff.granted(peerId)
        // 0: the peer states no cap below its own units (or an older peer that does not say)
        this.caps.granted(peerId, submitterCap)
      },
      capReached: (peerId, units) => this.caps.reaches(peerId, units)
    }
  }

  /** A job split into segments over leased peers, this one included: an NPP prover plans and verifies it */
  private segmentedRun(
    job: JobRecord,
    prover: ProverSupervisor,
    settings: JobRunSettings,
    signal: AbortSignal
  ): JobRun {
    return new JobRun({
      record: job,
      save: () => this.save(job),
      event: (event) => this.emitEvent(job, event),
      prover,
      transport: this.init.transport,
      candidates: () => this.candidatesFor(job, false),
      ...this.peerJudgements(job),
      pullCapacity: async (units) => this.pullWhileRunning(job, units),
      settings,
      logger: this.init.logger,
      signal
    })
  }

  /** A round of capacity pull for a running job whose reserve came up short (its rounds shared with the queue's) */
  private async pullWhileRunning(job: JobRecord, units: number): Promise<void> {
    const known = this.candidatesFor(job, false)
      .filter((candidate) => candidate.unitsFree > 0)
      .map((candidate) => candidate.peerId)
    const result = await this.pulls?.round(job.id, {
      program: job.request.program,
      units,
      known,
      signal: this.stopping.signal
    })
    if (result !== undefined && result.asked > 0) this.emitEvent(job, pullEvent(result))
  }

  private requeue(job: JobRecord, why: string): void {
    job.state = 'queued'
    job.peers = []
    job.segments = []
    // the next run fixes its own challenge (a restart after a lie in the challenge gets another one)
    delete job.challenge
    delete job.aggregator
    job.waitingFor = why
    job.phases = { queue: job.phases.queue ?? { startedAt: job.createdAt } }
    delete job.phases.queue?.endedAt
    this.save(job)
    this.emitEvent(job, { kind: 'state', state: 'queued', message: `back in the queue: ${why}` })
  }

  private finish(job: JobRecord, state: 'succeeded' | 'failed' | 'cancelled', failure?: JobFailure): void {
    this.pulls?.forget(job.id)
    job.state = state
    job.finishedAt = Date.now()
    job.waitingFor = undefined
    if (failure !== undefined) job.error = { code: failure.code, message: failure.message }
    for (const phase of JOB_PHASES) {
      const timing = job.phases[phase]
      if (timing === undefined) continue
      timing.endedAt ??= job.finishedAt
      this.metrics?.phases.observe({ phase }, (timing.endedAt - timing.startedAt) / 1000)
    }
    this.metrics?.bytesOut.inc(job.bytesOut)
    this.save(job)
    this.emitEvent(job, {
      kind: 'state',
      state,
      message:
        failure !== undefined
          ? `${failure.code}: ${failure.message}`
          : job.proof?.unverified !== undefined
            ? `proof saved, NOT verified here: ${job.proof.unverified}`
            : `proof verified: ${job.digest ?? ''}`
    })
    this.log.info({ job: job.id, state, error: job.error?.message }, 'job ended')
    this.fireWebhook(job)
  }

  private fireWebhook(job: JobRecord): void {
    const template = job.request.webhookUrl !== '' ? job.request.webhookUrl : this.init.settings.webhookUrl
    if (template === '') return
    const url = webhookUrlFor(template, job.id)
    const delivery = sendWebhook(
      url,
      {
        job_id: job.id,
        data_id: job.request.dataId,
        success: job.state === 'succeeded',
        duration_ms: (job.finishedAt ?? Date.now()) - job.createdAt,
        digest: job.digest ?? null,
        proof:
          job.proof === undefined
            ? null
            : { sha256: job.proof.sha256, size: job.proof.size, path: job.proof.path ?? null },
        timestamp: new Date().toISOString(),
        error: job.error ?? null
      },
      { signal: this.stopping.signal }
    ).then((result) => {
      if (this.init.journal.getJob(job.id) === undefined) return
      this.emitEvent(job, {
        kind: 'log',
        message: result.delivered
          ? `webhook delivered to ${url} (${result.attempts} attempt${result.attempts === 1 ? '' : 's'})`
          : `webhook to ${url} failed after ${result.attempts} attempts: ${result.error ?? `HTTP ${result.status}`}`
      })
    })
    this.webhooks.add(delivery)
    void delivery.finally(() => this.webhooks.delete(delivery))
  }

  private save(job: JobRecord): void {
    job.updatedAt = Date.now()
    this.init.journal.putJob(job)
  }

  private emitEvent(job: JobRecord, event: NewJobEvent): void {
    const stored = this.init.journal.appendEvent({ ...event, jobId: job.id, at: Date.now() })
    this.safeDispatchEvent('event', { detail: stored })
  }

  private collectStates(): void {
    const gauge = this.metrics?.jobs
    if (gauge === undefined) return
    const counts = new Map<JobState, number>()
    for (const job of this.init.journal.listJobs({ limit: 100_000 }))
      counts.set(job.state, (counts.get(job.state) ?? 0) + 1)
    gauge.reset()
    for (const [state, count] of counts) gauge.set({ state }, count)
    this.metrics?.queue.set(counts.get('queued') ?? 0)
  }

  /** Any job that is not over */
  activeJobs(): number {
    return this.running.size
  }
}

/** Aborts with a JobFailure when a job's time is up */
function timeoutSignal(ms: number, totalMs: number): AbortSignal {
  const controller = new AbortController()
  const timer = setTimeout(
    () =>
      controller.abort(
        new JobFailure('TIMEOUT', `the job took longer than its ${Math.round(totalMs / 1000)} s`)
      ),
    ms
  )
  timer.unref()
  return controller.signal
}

/** What a pull round brought, for the job's events */
function pullEvent(result: PullRoundResult): NewJobEvent {
  return {
    kind: 'log',
    message: `asked ${result.asked} neighbours for capacity: ${result.listed} more peers listed, ${result.units} units free`
  }
}
