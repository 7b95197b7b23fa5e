import { NppErrorCode } from './types.js'

/**
 * The prover answered a request with a JSON-RPC error. `code` is one of NppErrorCode (or a code a
 * third-party prover made up); `data` is passed through as the prover sent it.
 */
export class ProverRpcError extends Error {
  readonly code: number
  readonly data: unknown

  constructor(code: number, message: string, data?: unknown) {
    super(message)
    this.name = 'ProverRpcError'
    this.code = code
    this.data = data
  }
}

/** The prover process exited (or could not be spawned) while calls were in flight */
export class ProverCrashedError extends Error {
  readonly exitCode: number | null
  readonly signal: NodeJS.Signals | null
  /** The last lines the prover wrote to stderr, oldest first */
  readonly stderr: string[]

  constructor(message: string, exitCode: number | null, signal: NodeJS.Signals | null, stderr: string[]) {
    super(message)
    this.name = 'ProverCrashedError'
    this.exitCode = exitCode
    this.signal = signal
    this.stderr = stderr
  }
}

/** A call did not finish within its time limit; for a job's call the client has sent `cancel` */
export class ProverTimeoutError extends Error {
  readonly method: string
  readonly timeoutMs: number

  constructor(method: string, timeoutMs: number) {
    super(`prover call '${method}' timed out after ${timeoutMs} ms`)
    this.name = 'ProverTimeoutError'
    this.method = method
    this.timeoutMs = timeoutMs
  }
}

/** The prover is not started, is stopping, or gave up restarting */
export class ProverNotRunningError extends Error {
  constructor(message = 'prover is not running', options?: ErrorOptions) {
    super(message, options)
    this.name = 'ProverNotRunningError'
  }
}

/** The prover broke the protocol: wrong version, an oversized or malformed reply */
export class ProverProtocolError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'ProverProtocolError'
  }
}

/** A one-shot command of the cli backend failed (non-zero exit or killed) */
export class ProverCommandError extends Error {
  readonly exitCode: number | null
  readonly signal: NodeJS.Signals | null
  readonly stderr: string[]

  constructor(message: string, exitCode: number | null, signal: NodeJS.Signals | null, stderr: string[]) {
    super(message)
    this.name = 'ProverCommandError'
    this.exitCode = exitCode
    this.signal = signal
    this.stderr = stderr
  }
}

/**
 * Both backends report a cancelled call with the NPP code CANCELLED, so that the job layer has one rule
 * whichever backend runs the job.
 */
export function isCancelledError(err: unknown): boolean {
  return err instanceof ProverRpcError && err.code === NppErrorCode.CANCELLED
}
