import { TypedEventEmitter } from '@libp2p/interface'
import type { Logger } from '../log/index.js'
import { AGENT_VERSION } from '../version.js'
import { ProverNotRunningError, ProverProtocolError, ProverRpcError, ProverTimeoutError } from './errors.js'
import { NppClient, nppClientDefaults, type ProverExit } from './npp-client.js'
import { planThroughV1 } from './plan-v1.js'
import { proveJobInPhases } from './prove-job.js'
import { callDeadline, raceSignal, sleep } from './signals.js'
import {
  type AggregateParams,
  type AggregateResult,
  type CallOptions,
  type ContributeParams,
  type ContributeResult,
  type HelloResult,
  type JobProveParams,
  type JobProveResult,
  NPP_PROTOCOL_VERSIONS,
  type NppMethod,
  type NppMethods,
  type PlanParams,
  type PlanResult,
  type ProveParams,
  type ProveResult,
  type ProverBackendEvents,
  type ProverInfo,
  type SegmentedProver,
  type VerifyParams,
  helloParams,
  NppErrorCode,
  type VerifyResult
} from './types.js'

export interface RestartPolicy {
  /** At most this many restarts within `windowMs`; one more crash and the supervisor gives up */
  maxRestarts: number
  windowMs: number
  /** The first restart waits this long; each further restart in the window waits twice as long */
  initialDelayMs: number
  maxDelayMs: number
}

export const supervisorDefaults = {
  callTimeoutMs: nppClientDefaults.callTimeoutMs,
  /** A prover loads its programs and probes its GPUs before it answers hello */
  helloTimeoutMs: 30_000,
  /** How long a prover gets to finish after `shutdown` before SIGTERM, and after SIGTERM before SIGKILL */
  shutdownGraceMs: 5_000,
  killGraceMs: 2_000,
  clientName: AGENT_VERSION,
  /**
   * How often a running prover is pinged, and how long each ping may take. A prover that misses `pingMisses` pings
   * in a row is killed and restarted: one late reply after this daemon was starved of CPU (a timer that fires
   * before the reply already waiting in the pipe is read) is not a hang, two in a row 30 s apart are.
   */
  pingIntervalMs: 10_000,
  pingTimeoutMs: 15_000,
  pingMisses: 2,
  restart: {
    // A prover that crashes 5 times a minute is broken, not unlucky; restarting it hides the fault
    maxRestarts: 5,
    windowMs: 60_000,
    initialDelayMs: 250,
    maxDelayMs: 10_000
  } satisfies RestartPolicy
}

export interface ProverSupervisorInit {
  /** argv of the prover's serve loop, spawned without a shell */
  command: string[]
  cwd?: string
  env?: NodeJS.ProcessEnv
  callTimeoutMs?: number
  helloTimeoutMs?: number
  shutdownGraceMs?: number
  killGraceMs?: number
  maxLineBytes?: number
  /** Nice levels the prover runs below the daemon */
  nice?: number
  restart?: Partial<RestartPolicy>
  pingIntervalMs?: number
  pingTimeoutMs?: number
  pingMisses?: number
}

export interface ProverSupervisorComponents {
  logger: Logger
}

export interface ProverRestartedEvent {
  /** Restarts within the current window, this one included */
  attempt: number
  /** What the previous prover's in-flight calls failed with */
  reason: Error
  info: ProverInfo
}

export interface ProverSupervisorEvents extends ProverBackendEvents {
  /** The prover crashed or hung: it is down until `restarted` (or `failed`) */
  down: CustomEvent<Error>
  restarted: CustomEvent<ProverRestartedEvent>
  /** The prover crashed too often and is not restarted again; every call now fails */
  failed: CustomEvent<Error>
}

type State = 'idle' | 'starting' | 'running' | 'restarting' | 'failed' | 'stopping' | 'stopped'

/**
 * Runs the native prover (NPP v2, or v1 if that is all it speaks) and keeps it running: start() spawns it and
 * negotiates the version in `hello`, a crash
 * fails the in-flight calls with ProverCrashedError and restarts it with backoff, and calls made while it
 * restarts wait for the new process (within their own time limit). A prover that stops answering `ping` is
 * killed, which is a crash like any other.
 */
export class ProverSupervisor extends TypedEventEmitter<ProverSupervisorEvents> implements SegmentedProver {
  readonly kind = 'npp'
  private readonly log: Logger
  private readonly init: ProverSupervisorInit
  private readonly callTimeoutMs: number
  private readonly helloTimeoutMs: number
  private readonly shutdownGraceMs: number
  private readonly killGraceMs: number
  private readonly restartPolicy: RestartPolicy
  private readonly ping: { intervalMs: number; timeoutMs: number; misses: number }
  private state: State = 'idle'
  /** The newest prover process, live or not */
  private client: NppClient | undefined
  /** What calls wait on: the running client, or undefined once a restart gave up or stop() began */
  private nextClient: Promise<NppClient | undefined> | undefined
  private hello: HelloResult | undefined
  private failure: Error | undefined
  private restartTimes: number[] = []
  private stopController = new AbortController()

  constructor(init: ProverSupervisorInit, components: ProverSupervisorComponents) {
    super()
    this.init = init
    this.log = components.logger.child({ component: 'prover' })
    this.callTimeoutMs = init.callTimeoutMs ?? supervisorDefaults.callTimeoutMs
    this.helloTimeoutMs = init.helloTimeoutMs ?? supervisorDefaults.helloTimeoutMs
    this.shutdownGraceMs = init.shutdownGraceMs ?? supervisorDefaults.shutdownGraceMs
    this.killGraceMs = init.killGraceMs ?? supervisorDefaults.killGraceMs
    this.restartPolicy = { ...supervisorDefaults.restart, ...init.restart }
    this.ping = {
      intervalMs: init.pingIntervalMs ?? supervisorDefaults.pingIntervalMs,
      timeoutMs: init.pingTimeoutMs ?? supervisorDefaults.pingTimeoutMs,
      misses: init.pingMisses ?? supervisorDefaults.pingMisses
    }
  }

  get ready(): boolean {
    return this.state === 'running'
  }

  /** Name, version, programs and GPUs from the running prover's `hello`; throws before start() */
  get info(): ProverInfo {
    if (this.hello === undefined) {
      throw new ProverNotRunningError('the prover has not been started')
    }
    const { name, version, programs, gpus } = this.hello
    return { backend: 'npp', name, version, programs, gpus }
  }

  /** The pid of the current prover process, for diagnostics */
  get pid(): number | undefined {
    return this.client?.running === true ? this.client.pid : undefined
  }

  async start(): Promise<void> {
    if (this.state !== 'idle' && this.state !== 'stopped') {
      return
    }
    this.state = 'starting'
    this.stopController = new AbortController()
    this.failure = undefined
    this.restartTimes = []
    const launched = this.launch()
    this.nextClient = launched
    try {
      await launched
      this.state = 'running'
    } catch (err) {
      this.state = 'stopped'
      this.nextClient = undefined
      throw err
    }
  }

  /** Asks the prover to shut down, then SIGTERM after a grace period, then SIGKILL */
  async stop(): Promise<void> {
    if (this.state === 'idle' || this.state === 'stopped') {
      return
    }
    this.state = 'stopping'
    // Ends a restart backoff or a pending hello at once
    this.stopController.abort(new ProverNotRunningError('the prover is stopping'))
    try {
      await this.nextClient
    } catch {
      // start() reports its own failure
    }
    const client = this.client
    if (client?.running === true) {
      await this.shutdown(client)
    }
    this.nextClient = undefined
    this.state = 'stopped'
  }

  /** The daemon's layout to the prover: as is to a v2 prover, through v1's weighted split to a v1 one */
  plan(params: PlanParams, options?: CallOptions): Promise<PlanResult> {
    if (this.hello?.protocol === 1) {
      return planThroughV1((v1, callOptions) => this.call('plan', v1, callOptions), params, options)
    }
    return this.call('plan', params, options)
  }

  contribute(params: ContributeParams, options?: CallOptions): Promise<ContributeResult> {
    return this.call('contribute', params, options)
  }

  prove(params: ProveParams, options?: CallOptions): Promise<ProveResult> {
    return this.call('prove', params, options)
  }

  aggregate(params: AggregateParams, options?: CallOptions): Promise<AggregateResult> {
    if (this.hello?.protocol === 1) {
      // v1 has no request names: its aggregate is cancelled by job
      const v1: AggregateParams = { ...params }
      delete v1.name
      return this.call('aggregate', v1, options)
    }
    return this.call('aggregate', params, options)
  }

  verify(params: VerifyParams, options?: CallOptions): Promise<VerifyResult> {
    return this.call('verify', params, options)
  }

  async cancel(job: string, options?: CallOptions): Promise<number> {
    const { cancelled } = await this.call('cancel', { job }, options)
    return cancelled
  }

  /**
   * Every phase on this prover alone: plan for one worker (writing hints into `workdir`), contribute each
   * segment, fix the challenge, prove each segment, aggregate into `out`. Segments run one at a time: the
   * prover already uses every core on one segment. `options` apply to each call.
   */
  async proveJob(params: JobProveParams, options?: CallOptions): Promise<JobProveResult> {
    return proveJobInPhases(this, params, options)
  }

  private async call<M extends NppMethod>(
    method: M,
    params: NppMethods[M]['params'],
    options: CallOptions = {}
  ): Promise<NppMethods[M]['result']> {
    const timeoutMs = options.timeoutMs ?? this.callTimeoutMs
    // One deadline covers waiting for a restart and the call itself
    const deadline = callDeadline(method, timeoutMs, options.signal)
    try {
      const client = await this.currentClient(deadline.signal)
      return await client.call(method, params, { signal: deadline.signal, timeoutMs })
    } finally {
      deadline.clear()
    }
  }

  private async currentClient(signal: AbortSignal): Promise<NppClient> {
    if (this.state === 'failed') {
      throw new ProverNotRunningError('the prover crashed too often and was not restarted', {
        cause: this.failure
      })
    }
    if ((this.state !== 'running' && this.state !== 'restarting') || this.nextClient === undefined) {
      throw new ProverNotRunningError(`the prover is ${this.state}`)
    }
    const client = await raceSignal(this.nextClient, signal)
    if (client === undefined) {
      throw new ProverNotRunningError('the prover is not running', { cause: this.failure })
    }
    return client
  }

  /** Spawns a prover and checks its hello; a prover that fails either is killed before this rejects */
  private async launch(): Promise<NppClient> {
    const client = new NppClient({
      command: this.init.command,
      logger: this.log,
      cwd: this.init.cwd,
      env: this.init.env,
      maxLineBytes: this.init.maxLineBytes,
      callTimeoutMs: this.callTimeoutMs,
      nice: this.init.nice
    })
    this.client = client
    client.addEventListener('progress', (evt) => {
      this.safeDispatchEvent('progress', { detail: evt.detail })
    })
    client.addEventListener('exit', (evt) => {
      this.onExit(client, evt.detail)
    })
    try {
      await client.start()
      const hello = await this.greet(client)
      this.hello = hello
      this.watchLiveness(client)
      this.log.info(
        {
          pid: client.pid,
          name: hello.name,
          version: hello.version,
          protocol: hello.protocol,
          programs: hello.programs.map((program) => program.id),
          gpus: hello.gpus.length
        },
        'prover ready'
      )
      return client
    } catch (err) {
      // Its exit is our doing, not a crash to restart from
      client.markClosing()
      client.kill('SIGKILL')
      await client.waitForExit(this.killGraceMs)
      throw err
    }
  }

  /**
   * `hello` offering every version this daemon speaks; the prover must answer one of them. A prover that speaks
   * none fails with both sides' versions named: its own from its answer or from its INVALID_PARAMS message.
   */
  private async greet(client: NppClient): Promise<HelloResult> {
    const versions = [...NPP_PROTOCOL_VERSIONS]
    const ours = versions.join(', ')
    const hello = await client
      .call('hello', helloParams(supervisorDefaults.clientName), {
        timeoutMs: this.helloTimeoutMs,
        signal: this.stopController.signal
      })
      .catch((err: unknown) => {
        if (err instanceof ProverRpcError && err.code === NppErrorCode.INVALID_PARAMS) {
          throw new ProverProtocolError(
            `the prover refused every NPP version this daemon speaks (${ours}): ${err.message}`,
            { cause: err }
          )
        }
        throw err
      })
    if (!versions.some((version) => version === hello.protocol)) {
      throw new ProverProtocolError(
        `prover '${hello.name}' speaks NPP ${hello.protocol}; this daemon speaks NPP ${ours}`
      )
    }
    return hello
  }

  /**
   * Pings the prover every ping interval, one ping at a time, while it runs. Any reply counts, an error reply
   * included (an older prover does not know `ping`); `misses` timeouts in a row kill it.
   */
  private watchLiveness(client: NppClient): void {
    let missed = 0
    let inFlight = false
    const timer = setInterval(() => {
      if (inFlight || !client.running) return
      inFlight = true
      client
        .call('ping', {}, { timeoutMs: this.ping.timeoutMs })
        .then(
          () => {
            missed = 0
          },
          (err: unknown) => {
            if (!(err instanceof ProverTimeoutError)) {
              // an error reply is a reply; an exit is handled by onExit
              if (client.running) missed = 0
              return
            }
            missed++
            this.log.warn(
              { pid: client.pid, missed, timeoutMs: this.ping.timeoutMs },
              'the prover missed a ping'
            )
            if (missed >= this.ping.misses) {
              const why = `${missed} pings in a row unanswered within ${this.ping.timeoutMs} ms`
              this.log.error({ pid: client.pid }, `the prover hangs (${why}); killing it`)
              client.killHung(why)
            }
          }
        )
        .finally(() => {
          inFlight = false
        })
    }, this.ping.intervalMs)
    timer.unref()
    client.addEventListener('exit', () => clearInterval(timer), { once: true })
  }

  private onExit(client: NppClient, exit: ProverExit): void {
    // Exits during start(), a restart or stop() are handled by whoever is waiting on them
    if (exit.expected || client !== this.client || this.state !== 'running') {
      return
    }
    this.state = 'restarting'
    this.nextClient = this.restart(exit.error)
    this.safeDispatchEvent('down', { detail: exit.error })
  }

  private async restart(reason: Error): Promise<NppClient | undefined> {
    let lastError = reason
    for (;;) {
      const now = Date.now()
      this.restartTimes = this.restartTimes.filter((time) => now - time < this.restartPolicy.windowMs)
      if (this.restartTimes.length >= this.restartPolicy.maxRestarts) {
        this.giveUp(lastError)
        return undefined
      }
      this.restartTimes.push(now)
      const attempt = this.restartTimes.length
      const delay = Math.min(
        this.restartPolicy.initialDelayMs * 2 ** (attempt - 1),
        this.restartPolicy.maxDelayMs
      )
      this.log.warn({ attempt, delayMs: delay, err: lastError }, 'restarting the prover')
      if (!(await sleep(delay, this.stopController.signal))) {
        return undefined
      }
      try {
        const client = await this.launch()
        this.state = 'running'
        this.safeDispatchEvent('restarted', { detail: { attempt, reason, info: this.info } })
        return client
      } catch (err) {
        if (this.stopController.signal.aborted) {
          return undefined
        }
        lastError = err instanceof Error ? err : new Error(String(err))
      }
    }
  }

  private giveUp(lastError: Error): void {
    const { maxRestarts, windowMs } = this.restartPolicy
    this.failure = new ProverNotRunningError(
      `the prover needed more than ${maxRestarts} restarts within ${windowMs} ms; giving up`,
      { cause: lastError }
    )
    this.state = 'failed'
    this.log.error({ err: lastError }, 'the prover keeps crashing; not restarting it')
    this.safeDispatchEvent('failed', { detail: this.failure })
  }

  private async shutdown(client: NppClient): Promise<void> {
    client.markClosing()
    try {
      await client.call('shutdown', {}, { timeoutMs: this.shutdownGraceMs })
    } catch (err) {
      this.log.debug({ err }, 'the prover did not answer shutdown')
    }
    client.endInput()
    if (await client.waitForExit(this.shutdownGraceMs)) {
      return
    }
    this.log.warn({ pid: client.pid }, 'the prover ignored shutdown; sending SIGTERM')
    client.kill('SIGTERM')
    if (await client.waitForExit(this.killGraceMs)) {
      return
    }
    this.log.warn({ pid: client.pid }, 'the prover ignored SIGTERM; sending SIGKILL')
    client.kill('SIGKILL')
    await client.waitForExit(this.killGraceMs)
  }
}
