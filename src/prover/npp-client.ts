import { type ChildProcess, spawn } from 'node:child_process'
import { TypedEventEmitter } from '@libp2p/interface'
import type { Logger } from '../log/index.js'
import { ProverCrashedError, ProverNotRunningError, ProverProtocolError, ProverRpcError } from './errors.js'
import { LineSplitter, LineTail } from './lines.js'
import { lowerPriority } from './priority.js'
import { abortReason, callDeadline } from './signals.js'
import { checkResult } from './validate.js'
import type {
  CallOptions,
  LogNotification,
  NppMethod,
  NppMethods,
  ProgressNotification,
  ProverLogLevel
} from './types.js'

export const nppClientDefaults = {
  /** Messages carry only small values (bulk data travels in files), so a longer line is a broken prover */
  maxLineBytes: 16 * 1024 * 1024,
  /** Stderr is free text for people; longer lines are cut rather than buffered */
  maxStderrLineBytes: 64 * 1024,
  /** Enough stderr to explain a crash without flooding the error */
  stderrTailLines: 20,
  /** A segment prove takes seconds to minutes; past this the prover is considered stuck */
  callTimeoutMs: 10 * 60_000,
  /** The spec says a cancelled request stops within a second */
  cancelTimeoutMs: 5_000,
  /** Ids of calls given up on, remembered so that their late replies are not counted as garbage */
  abandonedIdsKept: 1024,
  /** After the process exits, how long to wait for its stdout to drain before failing in-flight calls */
  drainAfterExitMs: 1_000,
  /** Nice levels below this process the prover runs at (the daemon passes prover.nice) */
  nice: 0
}

/**
 * The methods whose `name` (v2), else `job`, names running work, so that an abandoned call can be cancelled by
 * that name
 */
const JOB_METHODS: ReadonlySet<NppMethod> = new Set<NppMethod>(['plan', 'contribute', 'prove', 'aggregate'])

const LOG_LEVELS: ReadonlySet<string> = new Set<ProverLogLevel>(['debug', 'info', 'warn', 'error'])

/** A reply's id, read from the head of a line too long to parse; serializers write `id` before `result` */
const HEAD_ID = /^\{\s*(?:"jsonrpc"\s*:\s*"2\.0"\s*,\s*)?"id"\s*:\s*(\d+)/

export interface NppClientInit {
  /** argv of the prover, spawned without a shell */
  command: string[]
  /** The prover component's logger */
  logger: Logger
  cwd?: string
  env?: NodeJS.ProcessEnv
  maxLineBytes?: number
  callTimeoutMs?: number
  /** Nice levels below this process (see lowerPriority) */
  nice?: number
}

export interface ProverExit {
  exitCode: number | null
  signal: NodeJS.Signals | null
  /** True when the exit followed markClosing(), i.e. it was asked for */
  expected: boolean
  /** What in-flight calls were failed with */
  error: Error
}

export interface NppClientEvents {
  progress: CustomEvent<ProgressNotification>
  log: CustomEvent<LogNotification>
  exit: CustomEvent<ProverExit>
}

/** Counts of what the prover wrote that the client had to ignore */
export interface NppClientStats {
  /** Lines that are not JSON or not JSON-RPC 2.0 messages */
  garbageLines: number
  /** Replies to an id the client never sent or already settled */
  unknownReplies: number
  /** Lines longer than maxLineBytes */
  oversizedLines: number
}

interface PendingCall {
  method: NppMethod
  resolve: (result: unknown) => void
  reject: (err: Error) => void
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function jobOf(method: NppMethod, params: unknown): string | undefined {
  if (!JOB_METHODS.has(method) || !isRecord(params)) {
    return undefined
  }
  if (typeof params.name === 'string') {
    return params.name
  }
  return typeof params.job === 'string' ? params.job : undefined
}

/**
 * One NPP prover process and the JSON-RPC session over its stdin/stdout. Single use: it spawns once in
 * start() and is finished when the process exits; the supervisor makes a new client to restart.
 */
export class NppClient extends TypedEventEmitter<NppClientEvents> {
  readonly stats: NppClientStats = { garbageLines: 0, unknownReplies: 0, oversizedLines: 0 }
  private readonly command: string[]
  private readonly log: Logger
  private readonly cwd: string | undefined
  private readonly env: NodeJS.ProcessEnv | undefined
  private readonly maxLineBytes: number
  private readonly callTimeoutMs: number
  private readonly nice: number
  private readonly pending = new Map<number, PendingCall>()
  private readonly abandoned = new Set<number>()
  private readonly stderrTail = new LineTail(nppClientDefaults.stderrTailLines)
  private readonly exited: Promise<ProverExit>
  private resolveExited: (exit: ProverExit) => void = () => {}
  private child: ChildProcess | undefined
  private nextId = 1
  private closing = false
  /** Why the client killed a prover that stopped answering; in-flight calls fail with it */
  private hung: string | undefined
  private finished = false

  constructor(init: NppClientInit) {
    super()
    this.command = init.command
    this.log = init.logger
    this.cwd = init.cwd
    this.env = init.env
    this.maxLineBytes = init.maxLineBytes ?? nppClientDefaults.maxLineBytes
    this.callTimeoutMs = init.callTimeoutMs ?? nppClientDefaults.callTimeoutMs
    this.nice = init.nice ?? nppClientDefaults.nice
    this.exited = new Promise((resolve) => {
      this.resolveExited = resolve
    })
  }

  /** Spawns the prover; rejects if it cannot be spawned (e.g. the binary is missing) */
  async start(): Promise<void> {
    const [file, ...args] = this.command
    if (file === undefined) {
      throw new ProverNotRunningError('the prover command is empty')
    }
    if (this.child !== undefined || this.finished) {
      throw new ProverNotRunningError('an NPP client spawns its prover once')
    }
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'], cwd: this.cwd, env: this.env })
    this.child = child

    const stdout = new LineSplitter(
      this.maxLineBytes,
      (line) => {
        // one bad line from the prover must cost that line only, never the daemon or the lines after it
        try {
          this.handleLine(line)
        } catch (err) {
          this.garbage(`a line that broke the client (${(err as Error).message})`, line.toString('utf8'))
        }
      },
      (head, length) => {
        this.handleOversized(head, length)
      }
    )
    const stderr = new LineSplitter(
      nppClientDefaults.maxStderrLineBytes,
      (line) => {
        this.handleStderr(line.toString('utf8'))
      },
      (head, length) => {
        this.handleStderr(`${head.toString('utf8')}… (${length} bytes, cut)`)
      }
    )
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout.push(chunk)
    })
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr.push(chunk)
    })
    // A prover that exits while we write gives EPIPE here; the exit itself fails the calls
    child.stdin?.on('error', (err) => {
      this.log.debug({ err }, 'prover stdin closed')
    })

    let exitTimer: NodeJS.Timeout | undefined
    child.once('exit', (code, signal) => {
      // 'close' comes once stdout is drained, so replies written just before the exit still land;
      // a grandchild holding the pipe open must not keep the calls waiting forever
      exitTimer = setTimeout(() => {
        this.finish(code, signal)
      }, nppClientDefaults.drainAfterExitMs)
    })
    child.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
      clearTimeout(exitTimer)
      if (stdout.pending > 0) {
        this.log.warn({ bytes: stdout.pending }, 'prover stdout ended inside a line')
      }
      this.finish(code, signal)
    })

    await new Promise<void>((resolve, reject) => {
      const onSpawnError = (err: Error): void => {
        this.finish(null, null)
        reject(new ProverCrashedError(`cannot spawn prover '${file}': ${err.message}`, null, null, []))
      }
      child.once('error', onSpawnError)
      child.once('spawn', () => {
        child.removeListener('error', onSpawnError)
        child.on('error', (err) => {
          this.log.warn({ err }, 'prover process error')
        })
        // before the first request: every thread the prover starts to serve one inherits the lower priority
        const nice = child.pid === undefined ? undefined : lowerPriority(child.pid, this.nice)
        if (this.nice > 0 && nice === undefined)
          this.log.warn(
            { pid: child.pid, steps: this.nice },
            'the prover could not be given a lower priority'
          )
        this.log.info({ pid: child.pid, command: this.command, nice }, 'prover started')
        resolve()
      })
    })
  }

  get running(): boolean {
    return this.child !== undefined && !this.finished
  }

  get pid(): number | undefined {
    return this.child?.pid
  }

  /** Sends one request and resolves with its result, or rejects with a Prover*Error or the abort reason */
  async call<M extends NppMethod>(
    method: M,
    params: NppMethods[M]['params'],
    options: CallOptions = {}
  ): Promise<NppMethods[M]['result']> {
    const child = this.child
    if (child === undefined || this.finished || (this.closing && method !== 'shutdown')) {
      throw new ProverNotRunningError(`cannot call '${method}': the prover is not running`)
    }
    const timeoutMs = options.timeoutMs ?? this.callTimeoutMs
    const deadline = callDeadline(method, timeoutMs, options.signal)
    if (deadline.signal.aborted) {
      deadline.clear()
      throw abortReason(deadline.signal)
    }
    const id = this.nextId++
    const job = jobOf(method, params)

    return await new Promise<NppMethods[M]['result']>((resolve, reject) => {
      const settle = (): void => {
        deadline.clear()
        deadline.signal.removeEventListener('abort', onAbort)
      }
      const onAbort = (): void => {
        if (!this.pending.delete(id)) {
          return
        }
        settle()
        this.abandon(id)
        if (job !== undefined) {
          void this.cancelAbandoned(job, method)
        }
        reject(abortReason(deadline.signal))
      }
      this.pending.set(id, {
        method,
        resolve: (result) => {
          settle()
          resolve(result as NppMethods[M]['result'])
        },
        reject: (err) => {
          settle()
          reject(err)
        }
      })
      deadline.signal.addEventListener('abort', onAbort, { once: true })
      child.stdin?.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`)
    })
  }

  /**
   * From now on the process is expected to exit: new calls are refused and in-flight calls fail with
   * ProverNotRunningError rather than a crash.
   */
  markClosing(): void {
    this.closing = true
  }

  /** Closing stdin asks the prover to exit, like `shutdown` */
  endInput(): void {
    this.child?.stdin?.end()
  }

  kill(signal: NodeJS.Signals): void {
    if (this.running) {
      this.child?.kill(signal)
    }
  }

  /**
   * Kills a prover that stopped answering (SIGKILL: one that reads nothing would not hear `shutdown`). Its
   * in-flight calls fail with a ProverCrashedError that says why, and its exit is a crash the supervisor restarts.
   */
  killHung(why: string): void {
    this.hung = why
    this.kill('SIGKILL')
  }

  /** Resolves true once the process has exited, or false after `timeoutMs` */
  async waitForExit(timeoutMs: number): Promise<boolean> {
    if (this.finished) {
      return true
    }
    let timer: NodeJS.Timeout | undefined
    const timedOut = new Promise<false>((resolve) => {
      timer = setTimeout(() => {
        resolve(false)
      }, timeoutMs)
    })
    try {
      return await Promise.race([this.exited.then(() => true), timedOut])
    } finally {
      clearTimeout(timer)
    }
  }

  /** The last stderr lines, oldest first */
  stderrLines(): string[] {
    return this.stderrTail.lines()
  }

  private async cancelAbandoned(job: string, method: NppMethod): Promise<void> {
    if (!this.running || this.closing) {
      return
    }
    try {
      const { cancelled } = await this.call(
        'cancel',
        { job },
        { timeoutMs: nppClientDefaults.cancelTimeoutMs }
      )
      this.log.debug({ job, method, cancelled }, 'cancelled the job of an abandoned call')
    } catch (err) {
      this.log.warn({ job, method, err }, 'could not cancel the job of an abandoned call')
    }
  }

  private abandon(id: number): void {
    this.abandoned.add(id)
    if (this.abandoned.size > nppClientDefaults.abandonedIdsKept) {
      // Sets iterate in insertion order, so this forgets the oldest
      for (const oldest of this.abandoned) {
        this.abandoned.delete(oldest)
        break
      }
    }
  }

  private handleLine(line: Buffer): void {
    const text = line.toString('utf8').trim()
    if (text === '') {
      return
    }
    let message: unknown
    try {
      message = JSON.parse(text)
    } catch {
      this.garbage('not JSON', text)
      return
    }
    if (!isRecord(message) || message.jsonrpc !== '2.0') {
      this.garbage('not a JSON-RPC 2.0 object', text)
      return
    }
    if ('id' in message) {
      this.handleReply(message, text)
      return
    }
    if (typeof message.method === 'string') {
      this.handleNotification(message.method, message.params, text)
      return
    }
    this.garbage('neither a reply nor a notification', text)
  }

  private handleReply(message: Record<string, unknown>, text: string): void {
    const id = message.id
    const call = typeof id === 'number' ? this.pending.get(id) : undefined
    if (call === undefined || typeof id !== 'number') {
      if (typeof id === 'number' && this.abandoned.delete(id)) {
        this.log.debug({ id }, 'late reply to an abandoned call')
        return
      }
      this.stats.unknownReplies++
      this.log.warn({ id, line: text.slice(0, 200) }, 'prover replied to an unknown id')
      return
    }
    this.pending.delete(id)
    const error = message.error
    if (isRecord(error)) {
      if (typeof error.code === 'number' && typeof error.message === 'string') {
        call.reject(new ProverRpcError(error.code, error.message, error.data))
      } else {
        call.reject(new ProverProtocolError(`malformed error object in the reply to '${call.method}'`))
      }
      return
    }
    if ('result' in message) {
      try {
        checkResult(call.method, message.result)
      } catch (err) {
        this.log.warn({ err, method: call.method }, 'the prover answered with a malformed result')
        call.reject(err as Error)
        return
      }
      call.resolve(message.result)
      return
    }
    call.reject(new ProverProtocolError(`the reply to '${call.method}' has neither result nor error`))
  }

  private handleNotification(method: string, params: unknown, text: string): void {
    if (method === 'progress') {
      if (
        isRecord(params) &&
        typeof params.job === 'string' &&
        typeof params.phase === 'string' &&
        typeof params.done === 'number' &&
        typeof params.total === 'number'
      ) {
        this.safeDispatchEvent('progress', { detail: params as unknown as ProgressNotification })
      } else {
        this.garbage('malformed progress notification', text)
      }
      return
    }
    if (method === 'log') {
      if (
        isRecord(params) &&
        typeof params.level === 'string' &&
        LOG_LEVELS.has(params.level) &&
        typeof params.message === 'string'
      ) {
        const notification = { level: params.level as ProverLogLevel, message: params.message }
        this.log[notification.level]({ source: 'prover' }, notification.message)
        this.safeDispatchEvent('log', { detail: notification })
      } else {
        this.garbage('malformed log notification', text)
      }
      return
    }
    this.log.debug({ method }, 'ignoring an unknown notification')
  }

  private handleOversized(head: Buffer, length: number): void {
    this.stats.oversizedLines++
    const match = HEAD_ID.exec(head.toString('utf8'))
    const id = match?.[1] === undefined ? undefined : Number(match[1])
    const call = id === undefined ? undefined : this.pending.get(id)
    this.log.warn({ bytes: length, limit: this.maxLineBytes, id }, 'prover wrote an oversized line; dropped')
    if (call !== undefined && id !== undefined) {
      this.pending.delete(id)
      call.reject(
        new ProverProtocolError(
          `the reply to '${call.method}' is ${length} bytes, over the ${this.maxLineBytes}-byte line limit`
        )
      )
    }
  }

  private handleStderr(line: string): void {
    this.stderrTail.push(line)
    this.log.info({ stream: 'stderr' }, line)
  }

  private garbage(reason: string, text: string): void {
    this.stats.garbageLines++
    this.log.warn({ reason, line: text.slice(0, 200) }, 'ignoring a garbage line from the prover')
  }

  private finish(exitCode: number | null, signal: NodeJS.Signals | null): void {
    if (this.finished) {
      return
    }
    this.finished = true
    const stderr = this.stderrTail.lines()
    const how = signal === null ? `code ${exitCode}` : `signal ${signal}`
    const error: Error = this.closing
      ? new ProverNotRunningError('the prover was stopped')
      : new ProverCrashedError(
          (this.hung === undefined
            ? `prover exited with ${how}`
            : `prover stopped answering (${this.hung}) and was killed`) +
            ` while ${this.pending.size} call(s) were in flight` +
            (stderr.length > 0 ? `; last stderr: ${stderr[stderr.length - 1]}` : ''),
          exitCode,
          signal,
          stderr
        )
    const calls = [...this.pending.values()]
    this.pending.clear()
    for (const call of calls) {
      call.reject(error)
    }
    const exit: ProverExit = { exitCode, signal, expected: this.closing, error }
    if (this.closing) {
      this.log.info({ exitCode, signal }, 'prover exited')
    } else {
      this.log.error({ exitCode, signal, stderr, failedCalls: calls.length }, 'prover exited unexpectedly')
    }
    this.resolveExited(exit)
    this.safeDispatchEvent('exit', { detail: exit })
  }
}
