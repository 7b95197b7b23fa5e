/**
 * A raw NPP session for the conformance kit: unlike NppClient it writes any line at all (malformed requests
 * included), keeps every line the prover wrote, and never trusts the prover to end: every wait has a deadline and
 * close() ends the process with SIGKILL if it does not exit by itself.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { LineSplitter, LineTail } from '../lines.js'

/** Messages carry only small values (bulk data travels in files), as in NppClient */
const MAX_LINE_BYTES = 16 * 1024 * 1024
/** Stderr is for people; its last lines explain an exit */
const MAX_STDERR_LINE_BYTES = 64 * 1024
const STDERR_TAIL_LINES = 3

export interface Reply {
  id: unknown
  result?: unknown
  error?: { code?: unknown; message?: unknown; data?: unknown }
  /** When the reply arrived (ms since the session began) */
  at: number
}

export interface Notification {
  method: string
  params: unknown
}

type Id = number | string | null

interface Waiter {
  keys: string[]
  resolve: (reply: Reply) => void
  reject: (err: Error) => void
}

export class KitTimeout extends Error {
  constructor(what: string, ms: number) {
    super(`${what}: no answer within ${ms} ms`)
    this.name = 'KitTimeout'
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

export class KitSession {
  /** Lines on stdout that are not JSON-RPC 2.0 messages (the spec allows only protocol lines there) */
  readonly garbage: string[] = []
  readonly notifications: Notification[] = []
  private readonly child: ChildProcess
  private readonly stderrTail = new LineTail(STDERR_TAIL_LINES)
  private readonly started = Date.now()
  private readonly replies = new Map<string, Reply>()
  private readonly waiters = new Set<Waiter>()
  private readonly exitWaiters: (() => void)[] = []
  private nextId = 1
  private exitStatus: { code: number | null; signal: NodeJS.Signals | null } | undefined

  constructor(command: string[]) {
    const [file, ...args] = command
    if (file === undefined) throw new TypeError('the prover command is empty')
    this.child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] })
    const stderr = new LineSplitter(
      MAX_STDERR_LINE_BYTES,
      (line) => this.stderrTail.push(line.toString('utf8')),
      () => {}
    )
    this.child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk))
    // the prover may die before reading what we write: that shows as its exit, not as an EPIPE crash here
    this.child.stdin?.on('error', () => {})
    this.child.on('error', () => this.onExit(null, null))
    this.child.on('exit', (code, signal) => this.onExit(code, signal))
    const splitter = new LineSplitter(
      MAX_LINE_BYTES,
      (line) => this.onLine(line.toString('utf8')),
      (_head, length) => this.garbage.push(`a line of ${length} bytes`)
    )
    this.child.stdout?.on('data', (chunk: Buffer) => splitter.push(chunk))
  }

  get exited(): { code: number | null; signal: NodeJS.Signals | null } | undefined {
    return this.exitStatus
  }

  /** Milliseconds since the session began */
  now(): number {
    return Date.now() - this.started
  }

  /** Writes one line as is (a malformed request, say) */
  writeLine(line: string): void {
    if (this.child.stdin?.writable === true) this.child.stdin.write(`${line}\n`)
  }

  /** Sends a request and returns its id without waiting */
  send(method: string, params: unknown): number {
    const id = this.nextId++
    this.writeLine(JSON.stringify({ jsonrpc: '2.0', id, method, params }))
    return id
  }

  /**
   * The reply to any of `ids` (a number or string, or null for a reply to a line without a readable id) within
   * `ms`; rejects when the prover exits first
   */
  async reply(ids: Id | Id[], ms: number, what: string): Promise<Reply> {
    const keys = (Array.isArray(ids) ? ids : [ids]).map((id) => JSON.stringify(id))
    for (const key of keys) {
      const known = this.replies.get(key)
      if (known !== undefined) {
        this.replies.delete(key)
        return known
      }
    }
    return await new Promise<Reply>((resolve, reject) => {
      const waiter: Waiter = {
        keys,
        resolve: (reply) => {
          settle()
          resolve(reply)
        },
        reject: (err) => {
          settle()
          reject(err)
        }
      }
      const timer = setTimeout(() => waiter.reject(new KitTimeout(what, ms)), ms)
      const settle = (): void => {
        clearTimeout(timer)
        this.waiters.delete(waiter)
      }
      this.waiters.add(waiter)
      if (this.exitStatus !== undefined) this.failExited(waiter)
    })
  }

  /** Sends a request and waits for its reply */
  async call(method: string, params: unknown, ms: number): Promise<Reply> {
    return await this.reply(this.send(method, params), ms, `'${method}'`)
  }

  endInput(): void {
    this.child.stdin?.end()
  }

  /** Whether the process exits within `ms` */
  async waitForExit(ms: number): Promise<boolean> {
    if (this.exitStatus !== undefined) return true
    return await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), ms)
      this.exitWaiters.push(() => {
        clearTimeout(timer)
        resolve(true)
      })
    })
  }

  /** Ends the prover: stdin closed, then SIGKILL if it has not exited within `graceMs` */
  async close(graceMs: number): Promise<void> {
    this.endInput()
    if (!(await this.waitForExit(graceMs))) {
      this.child.kill('SIGKILL')
      await this.waitForExit(graceMs)
    }
  }

  private onLine(text: string): void {
    let message: unknown
    try {
      message = JSON.parse(text)
    } catch {
      this.garbage.push(text.slice(0, 200))
      return
    }
    if (!isRecord(message) || message.jsonrpc !== '2.0') {
      this.garbage.push(text.slice(0, 200))
      return
    }
    if (typeof message.method === 'string' && !('id' in message)) {
      this.notifications.push({ method: message.method, params: message.params })
      return
    }
    if (!('id' in message) || !('result' in message || 'error' in message)) {
      this.garbage.push(text.slice(0, 200))
      return
    }
    const reply: Reply = {
      id: message.id,
      result: message.result,
      error: isRecord(message.error) ? message.error : undefined,
      at: this.now()
    }
    if ('error' in message && reply.error === undefined) reply.error = {}
    const key = JSON.stringify(message.id)
    const waiter = [...this.waiters].find((candidate) => candidate.keys.includes(key))
    if (waiter === undefined) this.replies.set(key, reply)
    else waiter.resolve(reply)
  }

  private failExited(waiter: Waiter): void {
    const status = this.exitStatus
    waiter.reject(
      new Error(
        `the prover exited (code ${status?.code ?? 'none'}, signal ${status?.signal ?? 'none'})` +
          (this.stderrTail.lines().length === 0
            ? ''
            : `; its stderr ends: ${this.stderrTail.lines().join(' | ')}`)
      )
    )
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.exitStatus !== undefined) return
    this.exitStatus = { code, signal }
    // replies already on the pipe arrive before 'exit' only usually; give stdout a moment to drain
    setTimeout(() => {
      for (const waiter of [...this.waiters]) this.failExited(waiter)
    }, 200)
    for (const waiter of this.exitWaiters.splice(0)) waiter()
  }
}
