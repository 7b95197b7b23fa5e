import { type ChildProcess, spawn } from 'node:child_process'
import { stat } from 'node:fs/promises'
import { basename, dirname } from 'node:path'
import { TypedEventEmitter } from '@libp2p/interface'
import type { Logger } from '../log/index.js'
import { sha256File } from '../sha256-file.js'
import { ProverCommandError, ProverNotRunningError, ProverRpcError } from './errors.js'
import { LineSplitter, LineTail } from './lines.js'
import { lowerPriority } from './priority.js'
import { abortReason, callDeadline, sleep } from './signals.js'
import {
  type CallOptions,
  type JobProveParams,
  type JobProveResult,
  NppErrorCode,
  type ProverBackend,
  type ProverBackendEvents,
  type ProverInfo,
  type VerifyParams,
  type VerifyResult
} from './types.js'

export const cliBackendDefaults = {
  /** A one-shot command proves the whole input on one machine, which can take long */
  callTimeoutMs: 60 * 60_000,
  /** How long a command gets after SIGTERM before its process group is killed */
  killGraceMs: 5_000,
  stderrTailLines: 20,
  /** Nice levels below this process a command runs at (the daemon passes prover.nice) */
  nice: 0,
  /** Output is free text for people; longer lines are cut rather than buffered */
  maxOutputLineBytes: 64 * 1024,
  /** The program id advertised when the config names none */
  program: 'cli'
}

/**
 * One-shot command lines, split into argv like a shell would split words (quotes and backslashes work)
 * but run without one. Placeholders are replaced inside each argv element, so a value with spaces
 * stays one argument. prove: {input} {output} {job} {workdir}; verify: {proof} {job} {workdir}.
 */
export interface CliTemplates {
  /** e.g. `cargo-zisk prove -e {input} -o {output}`; exit 0 means {output} holds the proof */
  prove: string
  /** e.g. `cargo-zisk verify -p {proof}`; exit 0 means valid, any other exit code means invalid */
  verify: string
  /** The program id to advertise */
  program?: string
}

export interface CliProverBackendInit {
  templates: CliTemplates
  callTimeoutMs?: number
  killGraceMs?: number
  /** Nice levels below this process (see lowerPriority) */
  nice?: number
}

export interface CliProverBackendComponents {
  logger: Logger
}

type Placeholder = 'input' | 'output' | 'proof' | 'job' | 'workdir'

const PLACEHOLDER = /\{([a-z]+)\}/g
const PROVE_PLACEHOLDERS: ReadonlySet<string> = new Set<Placeholder>(['input', 'output', 'job', 'workdir'])
const VERIFY_PLACEHOLDERS: ReadonlySet<string> = new Set<Placeholder>(['proof', 'job', 'workdir'])
/** Characters that would mean something to a shell; without one they would silently become arguments */
const SHELL_SYNTAX = new Set(['|', '&', ';', '<', '>', '`', '$'])

/** Splits a command template into argv: whitespace separates, '…' and "…" quote, \ escapes; no expansion */
export function splitCommandTemplate(template: string): string[] {
  const argv: string[] = []
  let word = ''
  let inWord = false
  let quote: string | undefined
  for (let i = 0; i < template.length; i++) {
    const ch = template.charAt(i)
    if (quote === "'") {
      if (ch === "'") {
        quote = undefined
      } else {
        word += ch
      }
    } else if (quote === '"') {
      const next = template.charAt(i + 1)
      if (ch === '"') {
        quote = undefined
      } else if (ch === '\\' && (next === '"' || next === '\\')) {
        word += next
        i++
      } else {
        word += ch
      }
    } else if (ch === "'" || ch === '"') {
      quote = ch
      inWord = true
    } else if (ch === '\\') {
      if (i + 1 >= template.length) {
        throw new TypeError(`command template ends with a backslash: ${template}`)
      }
      word += template.charAt(++i)
      inWord = true
    } else if (/\s/.test(ch)) {
      if (inWord) {
        argv.push(word)
        word = ''
        inWord = false
      }
    } else if (SHELL_SYNTAX.has(ch)) {
      throw new TypeError(`command template uses shell syntax '${ch}', but runs without a shell: ${template}`)
    } else {
      word += ch
      inWord = true
    }
  }
  if (quote !== undefined) {
    throw new TypeError(`command template has an unterminated quote: ${template}`)
  }
  if (inWord) {
    argv.push(word)
  }
  if (argv.length === 0) {
    throw new TypeError('command template is empty')
  }
  return argv
}

/** Replaces every {placeholder} inside each argv element; a placeholder without a value throws */
export function substituteTemplate(argv: string[], values: Partial<Record<Placeholder, string>>): string[] {
  return argv.map((arg) =>
    arg.replace(PLACEHOLDER, (whole: string, name: string) => {
      const value = values[name as Placeholder]
      if (value === undefined) {
        throw new TypeError(`no value for ${whole} in command template`)
      }
      return value
    })
  )
}

function checkPlaceholders(
  command: string,
  argv: string[],
  allowed: ReadonlySet<string>,
  required: string
): void {
  const used = new Set(argv.flatMap((arg) => [...arg.matchAll(PLACEHOLDER)].map((match) => match[1] ?? '')))
  for (const name of used) {
    if (!allowed.has(name)) {
      throw new TypeError(`the ${command} template uses unknown placeholder {${name}}`)
    }
  }
  if (!used.has(required)) {
    throw new TypeError(`the ${command} template must use {${required}}`)
  }
}

/** Signals the command's whole process group, so that helpers it started stop with it */
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) {
    return
  }
  try {
    process.kill(-child.pid, signal)
  } catch {
    // ESRCH: the group is already gone
  }
}

interface CommandOutcome {
  exitCode: number | null
  signal: NodeJS.Signals | null
  stderr: string[]
  /** Set when the command was killed on purpose: timeout, abort, cancel or stop */
  stopReason: Error | undefined
}

interface RunningCommand {
  job: string | undefined
  stop: (reason: Error) => void
  closed: Promise<void>
}

/**
 * The backend for provers that only have a one-shot command line: each proveJob/verify runs one command
 * in its own process group (killed as a whole on timeout, cancel or stop). One peer per job, no segments.
 */
export class CliProverBackend extends TypedEventEmitter<ProverBackendEvents> implements ProverBackend {
  readonly kind = 'cli'
  readonly info: ProverInfo
  private readonly log: Logger
  private readonly proveArgv: string[]
  private readonly verifyArgv: string[]
  private readonly callTimeoutMs: number
  private readonly killGraceMs: number
  private readonly nice: number
  private readonly running = new Set<RunningCommand>()
  private started = false

  constructor(init: CliProverBackendInit, components: CliProverBackendComponents) {
    super()
    this.log = components.logger.child({ component: 'prover' })
    this.proveArgv = splitCommandTemplate(init.templates.prove)
    this.verifyArgv = splitCommandTemplate(init.templates.verify)
    checkPlaceholders('prove', this.proveArgv, PROVE_PLACEHOLDERS, 'output')
    checkPlaceholders('verify', this.verifyArgv, VERIFY_PLACEHOLDERS, 'proof')
    this.callTimeoutMs = init.callTimeoutMs ?? cliBackendDefaults.callTimeoutMs
    this.killGraceMs = init.killGraceMs ?? cliBackendDefaults.killGraceMs
    this.nice = init.nice ?? cliBackendDefaults.nice
    this.info = {
      backend: 'cli',
      name: basename(this.proveArgv[0] ?? 'cli'),
      // A one-shot command has no handshake to ask its version with
      version: 'unknown',
      programs: [
        {
          id: init.templates.program ?? cliBackendDefaults.program,
          description: init.templates.prove,
          segmented: false,
          blockBytes: 0,
          maxSegmentBlocks: 0
        }
      ],
      gpus: []
    }
  }

  start(): void {
    this.started = true
  }

  /** A one-shot command is started per call: the backend is ready whenever it is started */
  get ready(): boolean {
    return this.started
  }

  /** Kills every running command and waits (bounded) for them to exit */
  async stop(): Promise<void> {
    this.started = false
    const commands = [...this.running]
    for (const command of commands) {
      command.stop(new ProverNotRunningError('the prover backend is stopping'))
    }
    const closed = Promise.all(commands.map((command) => command.closed))
    // SIGTERM, then SIGKILL after killGraceMs: twice that is enough for any process that can exit at all
    const bound = new AbortController()
    await Promise.race([closed, sleep(2 * this.killGraceMs, bound.signal)])
    bound.abort()
  }

  /** Runs the prove template; the proof is at `params.out` when it resolves */
  async proveJob(params: JobProveParams, options: CallOptions = {}): Promise<JobProveResult> {
    const started = Date.now()
    const { job, workdir } = params
    const argv = substituteTemplate(this.proveArgv, { input: params.input, output: params.out, job, workdir })
    this.safeDispatchEvent('progress', { detail: { job, phase: 'prove', done: 0, total: 1 } })
    const outcome = await this.run('prove', argv, workdir, job, options)
    if (outcome.stopReason !== undefined) {
      throw outcome.stopReason
    }
    if (outcome.exitCode !== 0) {
      throw this.commandError('prove', outcome)
    }
    let size: number
    try {
      size = (await stat(params.out)).size
    } catch {
      throw new ProverCommandError(
        `the prove command exited 0 but wrote no proof at ${params.out}`,
        0,
        null,
        outcome.stderr
      )
    }
    const sha256 = await sha256File(params.out)
    this.safeDispatchEvent('progress', { detail: { job, phase: 'prove', done: 1, total: 1 } })
    return { out: params.out, size, sha256, millis: Date.now() - started, segments: 1 }
  }

  /**
   * Runs the verify template in the proof's folder. Exit 0 is valid, another exit code is invalid with the
   * last stderr line as reason. A command cannot check `digest`, so it is ignored.
   */
  async verify(params: VerifyParams, options: CallOptions = {}): Promise<VerifyResult> {
    const workdir = dirname(params.proof)
    const argv = substituteTemplate(this.verifyArgv, { proof: params.proof, job: params.job, workdir })
    const outcome = await this.run('verify', argv, workdir, params.job, options)
    if (outcome.stopReason !== undefined) {
      throw outcome.stopReason
    }
    if (outcome.exitCode === 0) {
      return { valid: true }
    }
    if (outcome.exitCode === null) {
      throw this.commandError('verify', outcome)
    }
    return {
      valid: false,
      reason: outcome.stderr.at(-1) ?? `the verify command exited with code ${outcome.exitCode}`
    }
  }

  async cancel(job: string): Promise<number> {
    let cancelled = 0
    for (const command of this.running) {
      if (command.job === job) {
        command.stop(new ProverRpcError(NppErrorCode.CANCELLED, `job ${job} was cancelled`, { job }))
        cancelled++
      }
    }
    return cancelled
  }

  private commandError(what: string, outcome: CommandOutcome): ProverCommandError {
    const how = outcome.signal === null ? `code ${outcome.exitCode}` : `signal ${outcome.signal}`
    const last = outcome.stderr.at(-1)
    return new ProverCommandError(
      `the ${what} command exited with ${how}${last === undefined ? '' : `: ${last}`}`,
      outcome.exitCode,
      outcome.signal,
      outcome.stderr
    )
  }

  private async run(
    what: 'prove' | 'verify',
    argv: string[],
    cwd: string,
    job: string | undefined,
    options: CallOptions
  ): Promise<CommandOutcome> {
    if (!this.started) {
      throw new ProverNotRunningError(`cannot ${what}: the prover backend is not started`)
    }
    const [file, ...args] = argv
    if (file === undefined) {
      throw new TypeError('command template is empty')
    }
    const deadline = callDeadline(what, options.timeoutMs ?? this.callTimeoutMs, options.signal)
    if (deadline.signal.aborted) {
      deadline.clear()
      throw abortReason(deadline.signal)
    }
    const log = this.log.child({ job, command: what })
    const stderr = new LineTail(cliBackendDefaults.stderrTailLines)
    let markClosed: () => void = () => {}
    const closed = new Promise<void>((resolve) => {
      markClosed = resolve
    })
    try {
      return await new Promise<CommandOutcome>((resolve, reject) => {
        // detached: its own process group, so that a kill reaches whatever the command spawned
        const child = spawn(file, args, { cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
        let stopReason: Error | undefined
        let settled = false
        let killTimer: NodeJS.Timeout | undefined
        const command: RunningCommand = {
          job,
          closed,
          stop: (reason) => {
            if (stopReason !== undefined || settled) {
              return
            }
            stopReason = reason
            log.info({ pid: child.pid, reason: reason.name }, 'stopping the command')
            killGroup(child, 'SIGTERM')
            killTimer = setTimeout(() => {
              killGroup(child, 'SIGKILL')
            }, this.killGraceMs)
          }
        }
        const onAbort = (): void => {
          command.stop(abortReason(deadline.signal))
        }
        const settle = (): boolean => {
          if (settled) {
            return false
          }
          settled = true
          this.running.delete(command)
          clearTimeout(killTimer)
          deadline.signal.removeEventListener('abort', onAbort)
          markClosed()
          return true
        }
        this.running.add(command)
        deadline.signal.addEventListener('abort', onAbort, { once: true })

        const max = cliBackendDefaults.maxOutputLineBytes
        const out = new LineSplitter(
          max,
          (line) => {
            log.debug({ stream: 'stdout' }, line.toString('utf8'))
          },
          () => {}
        )
        const err = new LineSplitter(
          max,
          (line) => {
            const text = line.toString('utf8')
            stderr.push(text)
            log.info({ stream: 'stderr' }, text)
          },
          (head, length) => {
            stderr.push(`${head.toString('utf8')}… (${length} bytes, cut)`)
          }
        )
        child.stdout?.on('data', (chunk: Buffer) => {
          out.push(chunk)
        })
        child.stderr?.on('data', (chunk: Buffer) => {
          err.push(chunk)
        })
        child.once('spawn', () => {
          // a one-shot command starts working at once: threads it made before this keep the daemon's priority
          const nice = child.pid === undefined ? undefined : lowerPriority(child.pid, this.nice)
          log.debug({ pid: child.pid, argv, nice }, 'command started')
        })
        child.once('error', (error) => {
          if (settle()) {
            reject(new ProverCommandError(`cannot run '${file}': ${error.message}`, null, null, []))
          }
        })
        child.once('close', (exitCode: number | null, signal: NodeJS.Signals | null) => {
          if (settle()) {
            log.debug({ exitCode, signal }, 'command exited')
            resolve({ exitCode, signal, stderr: stderr.lines(), stopReason })
          }
        })
      })
    } finally {
      deadline.clear()
      markClosed()
    }
  }
}
