/**
 * What the checks of the conformance kit share: the prover's session (a fresh one after a check killed a hung
 * prover), the files the kit generated, and what earlier checks learned (the programs, a plan, its proofs).
 */
import { createHash, randomBytes } from 'node:crypto'
import { open, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ProverProtocolError } from '../errors.js'
import type { HelloResult, NppMethod, NppMethods, Program, Segment } from '../types.js'
import { helloParams, NppErrorCode } from '../types.js'
import { checkResult } from '../validate.js'
import { KitSession, type Reply } from './session.js'

/** The spec's deadlines ("Liveness and deadlines") */
/** The `hello` a daemon sends: the kit checks the prover a daemon meets */
export const DAEMON_HELLO = helloParams('proofmesh-prover-check')

export const specDeadlines = {
  helloMs: 30_000,
  cancelMs: 5_000,
  pingMs: 15_000,
  shutdownReplyMs: 5_000,
  exitAfterShutdownMs: 5_000,
  /** "Every running request of that job stops within a second"; the daemon gives `cancel` 5 s */
  cancelledWithinMs: 5_000
}

/** A check's verdict that is not a pass */
export class CheckFailed extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'CheckFailed'
  }
}

/** The check does not apply to this prover (e.g. no program of that kind) */
export class CheckSkipped extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'CheckSkipped'
  }
}

export function fail(message: string): never {
  throw new CheckFailed(message)
}

/** What one program's run through plan, contribute, prove and aggregate left for the later checks */
export interface ProgramRun {
  program: Program
  job: string
  input: string
  inputSize: number
  /** The layout the kit gave `plan`, and its answer */
  segments?: Segment[]
  plan?: NppMethods['plan']['result']
  contributions?: string[]
  challenge?: string
  proofs?: string[]
  finalProof?: string
}

export interface KitOptions {
  /** The prover's argv */
  command: string[]
  /** Deadline of one work call (plan, contribute, prove, aggregate, verify) */
  callTimeoutMs: number
  /** An empty folder the kit may write into */
  workDir: string
}

const ERROR_NAMES = new Map<number, string>(Object.entries(NppErrorCode).map(([name, code]) => [code, name]))

export function errorName(code: unknown): string {
  return typeof code === 'number' ? (ERROR_NAMES.get(code) ?? String(code)) : JSON.stringify(code)
}

function describeError(reply: Reply): string {
  const message = typeof reply.error?.message === 'string' ? reply.error.message : '(no message)'
  return `error ${errorName(reply.error?.code)}: ${message}`
}

/** The reply's result, checked against the spec's shape of `method` (validate.ts) */
export function resultOf<M extends NppMethod>(reply: Reply, method: M): NppMethods[M]['result'] {
  if (reply.error !== undefined) fail(`'${method}' answered ${describeError(reply)}`)
  try {
    checkResult(method, reply.result)
  } catch (err) {
    if (err instanceof ProverProtocolError) fail(err.message)
    throw err
  }
  return reply.result as NppMethods[M]['result']
}

/** The reply must be the error `code` */
export function expectError(reply: Reply, code: number, what: string): void {
  if (reply.error === undefined) {
    fail(
      `${what}: expected error ${errorName(code)}, got the result ${JSON.stringify(reply.result)?.slice(0, 120)}`
    )
  }
  if (reply.error.code !== code)
    fail(`${what}: expected error ${errorName(code)}, got ${describeError(reply)}`)
  if (typeof reply.error.message !== 'string') fail(`${what}: the error has no string 'message'`)
}

export async function sha256File(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex')
}

/** A copy of `path` with one byte flipped in its middle (past any header) */
export async function tamperedCopy(path: string, out: string): Promise<void> {
  const bytes = await readFile(path)
  if (bytes.length === 0) fail(`${path} is empty: nothing to tamper with`)
  const at = Math.floor(bytes.length / 2)
  bytes.writeUInt8((bytes.readUInt8(at) ^ 0x55) & 0xff, at)
  await writeFile(out, bytes)
}

/** Writes `size` random bytes to `path`, a megabyte at a time */
export async function randomFile(path: string, size: number): Promise<void> {
  const file = await open(path, 'w')
  try {
    for (let written = 0; written < size; written += 1 << 20) {
      await file.write(randomBytes(Math.min(1 << 20, size - written)))
    }
  } finally {
    await file.close()
  }
}

export class KitContext {
  readonly options: KitOptions
  hello: HelloResult | undefined
  /** By kind: the first segmented program and the first that is not */
  readonly runs = new Map<'segmented' | 'unsegmented', ProgramRun>()
  /** Every session the kit started, for the checks over all they carried */
  readonly sessions: KitSession[] = []
  private current: KitSession | undefined
  private files = 0

  constructor(options: KitOptions) {
    this.options = options
  }

  /** A fresh path in the kit's work folder */
  path(name: string): string {
    this.files++
    return join(this.options.workDir, `${this.files}-${name}`)
  }

  /** The running session, started (and greeted, once hello passed) if there is none */
  async session(): Promise<KitSession> {
    if (this.current !== undefined && this.current.exited === undefined) return this.current
    this.current = this.standalone()
    if (this.hello !== undefined) {
      resultOf(await this.current.call('hello', DAEMON_HELLO, specDeadlines.helloMs), 'hello')
    }
    return this.current
  }

  /** A prover of its own, for checks that end it (shutdown, end of input, another version) */
  standalone(): KitSession {
    const session = new KitSession(this.options.command)
    this.sessions.push(session)
    return session
  }

  /** Ends the running session (a check that hung), so that the next check starts a new one */
  async killSession(): Promise<void> {
    const session = this.current
    this.current = undefined
    await session?.close(0)
  }

  run(kind: 'segmented' | 'unsegmented'): ProgramRun {
    if (this.hello === undefined) fail("needs the programs from 'hello', which did not pass")
    const run = this.runs.get(kind)
    if (run === undefined) throw new CheckSkipped(`the prover has no ${kind} program`)
    return run
  }

  /** The state a check needs from an earlier one, or a failure that names the earlier check */
  need<T>(value: T | undefined, earlier: string): T {
    if (value === undefined) fail(`needs the result of '${earlier}', which did not pass`)
    return value
  }
}
