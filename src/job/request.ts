import { basename, isAbsolute } from 'node:path'
import { parseDuration } from '../config/index.js'
import { MAX_DURATION_MS } from '../config/duration.js'
import { showValue } from '../config/errors.js'
import type { HintsSource, InputMode, JobRequest } from '../jobs-model/types.js'

/** Limits of a job request; the HTTP API, the CLI and the engine read them from here */
export const jobRequestLimits = {
  /** Program ids as provers report them: short, lower case, safe in file names and log lines */
  programPattern: /^[a-z0-9][a-z0-9._-]{0,63}$/,
  /** The program a request names none */
  defaultProgram: 'rescue-sponge',
  /** PATH_MAX on Linux: no input or hints path is longer */
  maxPathLength: 4096,
  maxDataIdLength: 128,
  minPriority: -1000,
  maxPriority: 1000,
  /** Below a second a job cannot even reserve its peers */
  minTimeoutMs: 1000,
  /** setTimeout fires at once above 2^31-1 ms */
  maxTimeoutMs: MAX_DURATION_MS,
  /** Most compute units one request may ask for: far beyond any network, small enough to sum safely */
  maxComputeCapacity: 1_000_000,
  maxWebhookUrlLength: 2048
} as const

/** A request the submitter cannot take as written; `field` names the JSON field (`hints.path` when nested) */
export class JobRequestError extends Error {
  override name = 'JobRequestError'
  readonly field: string

  constructor(field: string, message: string) {
    super(message)
    this.field = field
  }
}

/**
 * A valid request the submitter will not run now: `status` is the HTTP status the API answers with
 * (409 capacity or queue full, 503 no prover), `code` a stable word callers match on (e.g. QUEUE_FULL).
 */
export class JobRefusedError extends Error {
  override name = 'JobRefusedError'
  readonly code: string
  readonly status: number

  constructor(code: string, message: string, status = 409) {
    super(message)
    this.code = code
    this.status = status
  }
}

export interface JobRequestDefaults {
  /** The whole job's time limit when the request names none (jobs.default_timeout) */
  timeoutMs: number
  /** The programs some prover of the network offers, when known; others are refused */
  programs?: readonly string[]
}

/** The body of `POST /v1/jobs` as a client writes it: JobRequest with its defaults left out */
export interface JobRequestBody {
  program?: string
  inputMode: InputMode
  input: string
  hints?: HintsSource
  computeCapacity: number
  minimalComputeCapacity?: number
  priority?: number
  dataId?: string
  /** Milliseconds, or a duration like "90s" or "10m" */
  timeoutMs?: number | string
  webhookUrl?: string
  saveProof?: boolean
}

const FIELDS: ReadonlySet<string> = new Set<keyof JobRequestBody>([
  'program',
  'inputMode',
  'input',
  'hints',
  'computeCapacity',
  'minimalComputeCapacity',
  'priority',
  'dataId',
  'timeoutMs',
  'webhookUrl',
  'saveProof'
])
const HINTS_FIELDS: ReadonlySet<string> = new Set(['kind', 'path'])

type Fields = Record<string, unknown>

function isObject(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function expected(field: string, what: string, got: unknown): JobRequestError {
  return new JobRequestError(field, `${field}: expected ${what}, got ${showValue(got)}`)
}

function refuseUnknown(fields: Fields, known: ReadonlySet<string>, prefix: string): void {
  const unknown = Object.keys(fields).filter((key) => !known.has(key))
  const first = unknown[0]
  if (first === undefined) return
  const names = unknown.map((key) => `'${prefix}${key.slice(0, 64)}'`).join(', ')
  throw new JobRequestError(
    `${prefix}${first}`,
    `unknown field${unknown.length > 1 ? 's' : ''} ${names} (known: ${[...known].map((key) => prefix + key).join(', ')})`
  )
}

/** JSON null counts as not given, like a missing field */
function given(value: unknown): boolean {
  return value !== undefined && value !== null
}

function integer(field: string, value: unknown, min: number, max: number, what?: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw expected(field, what ?? `an integer from ${min} to ${max}`, value)
  }
  return value
}

function hasControl(text: string): boolean {
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u001f\u007f]/u.test(text)
}

function absolutePath(field: string, value: unknown): string {
  if (
    typeof value !== 'string' ||
    !isAbsolute(value) ||
    value.length > jobRequestLimits.maxPathLength ||
    value.includes('\0')
  ) {
    throw expected(field, 'an absolute path', value)
  }
  return value
}

function parseProgram(value: unknown, programs: readonly string[] | undefined): string {
  if (!given(value)) return jobRequestLimits.defaultProgram
  if (typeof value !== 'string' || !jobRequestLimits.programPattern.test(value)) {
    throw expected('program', 'a program id like "rescue-sponge" (a-z, 0-9, ".", "_", "-")', value)
  }
  if (programs !== undefined && !programs.includes(value)) {
    const known = programs.length === 0 ? 'none' : programs.join(', ')
    throw new JobRequestError('program', `unknown program '${value}' (known: ${known})`)
  }
  return value
}

function parseInputMode(value: unknown): InputMode {
  if (value === 'data' || value === 'path') return value
  throw expected(
    'inputMode',
    '"data" (the submitter reads the file) or "path" (a name in every peer\'s inputs folder)',
    value
  )
}

function parseInput(value: unknown, mode: InputMode): string {
  if (mode === 'data') return absolutePath('input', value)
  if (
    typeof value !== 'string' ||
    value === '' ||
    value.length > jobRequestLimits.maxPathLength ||
    value.includes('\0')
  ) {
    throw expected('input', "a file name inside every peer's inputs folder", value)
  }
  return value
}

function parseHints(value: unknown): HintsSource {
  if (!isObject(value))
    throw expected('hints', '{ "kind": "file" | "socket", "path": "/absolute/path" }', value)
  refuseUnknown(value, HINTS_FIELDS, 'hints.')
  const kind = value.kind
  if (kind !== 'file' && kind !== 'socket') throw expected('hints.kind', '"file" or "socket"', kind)
  return { kind, path: absolutePath('hints.path', value.path) }
}

function parseDataId(value: unknown, input: string): string {
  if (!given(value)) {
    return (basename(input) || input).slice(0, jobRequestLimits.maxDataIdLength)
  }
  if (
    typeof value !== 'string' ||
    value === '' ||
    value.length > jobRequestLimits.maxDataIdLength ||
    hasControl(value)
  ) {
    throw expected(
      'dataId',
      `a label of 1 to ${jobRequestLimits.maxDataIdLength} characters without control characters`,
      value
    )
  }
  return value
}

function parseTimeout(value: unknown, fallback: number): number {
  if (!given(value)) return fallback
  const { minTimeoutMs, maxTimeoutMs } = jobRequestLimits
  const what = `milliseconds (${minTimeoutMs} or more) or a duration like "90s" or "10m"`
  let ms: number
  if (typeof value === 'number') {
    ms = value
  } else if (typeof value === 'string') {
    try {
      ms = parseDuration(value)
    } catch {
      throw expected('timeoutMs', what, value)
    }
  } else {
    throw expected('timeoutMs', what, value)
  }
  if (!Number.isInteger(ms) || ms < minTimeoutMs || ms > maxTimeoutMs) {
    throw expected('timeoutMs', `${what}, at least 1s and at most 24d`, value)
  }
  return ms
}

function parseWebhookUrl(value: unknown): string {
  if (!given(value) || value === '') return ''
  const what = 'an http:// or https:// URL, or "" for the daemon\'s jobs.webhook_url'
  if (
    typeof value !== 'string' ||
    value.length > jobRequestLimits.maxWebhookUrlLength ||
    !/^https?:\/\/\S+$/i.test(value)
  ) {
    throw expected('webhookUrl', what, value)
  }
  try {
    new URL(value)
  } catch {
    throw expected('webhookUrl', what, value)
  }
  return value
}

/**
 * Validates an untrusted JSON body into a JobRequest, filling the defaults. Throws JobRequestError naming the
 * first bad field; unknown fields are refused rather than ignored, so a typo never silently means a default.
 * Only the shape is checked here: whether a data-mode file is readable, or a path-mode name exists in the peers'
 * inputs folders, is for the engine and the workers.
 */
export function parseJobRequest(body: unknown, defaults: JobRequestDefaults): JobRequest {
  if (!isObject(body)) {
    throw new JobRequestError('', `the job request must be a JSON object, got ${showValue(body)}`)
  }
  refuseUnknown(body, FIELDS, '')
  const program = parseProgram(body.program, defaults.programs)
  if (!given(body.inputMode))
    throw new JobRequestError('inputMode', 'inputMode is required ("data" or "path")')
  const inputMode = parseInputMode(body.inputMode)
  if (!given(body.input)) throw new JobRequestError('input', 'input is required')
  const input = parseInput(body.input, inputMode)
  if (!given(body.computeCapacity)) {
    throw new JobRequestError('computeCapacity', 'computeCapacity is required (an integer, 1 or more)')
  }
  const computeCapacity = integer(
    'computeCapacity',
    body.computeCapacity,
    1,
    jobRequestLimits.maxComputeCapacity,
    `an integer from 1 to ${jobRequestLimits.maxComputeCapacity}`
  )
  const minimalComputeCapacity = given(body.minimalComputeCapacity)
    ? integer(
        'minimalComputeCapacity',
        body.minimalComputeCapacity,
        1,
        computeCapacity,
        `an integer from 1 to computeCapacity (${computeCapacity})`
      )
    : computeCapacity
  const priority = given(body.priority)
    ? integer('priority', body.priority, jobRequestLimits.minPriority, jobRequestLimits.maxPriority)
    : 0
  if (given(body.saveProof) && typeof body.saveProof !== 'boolean') {
    throw expected('saveProof', 'true or false', body.saveProof)
  }
  const request: JobRequest = {
    program,
    inputMode,
    input,
    computeCapacity,
    minimalComputeCapacity,
    priority,
    dataId: parseDataId(body.dataId, input),
    timeoutMs: parseTimeout(body.timeoutMs, defaults.timeoutMs),
    webhookUrl: parseWebhookUrl(body.webhookUrl),
    saveProof: body.saveProof !== false
  }
  if (given(body.hints)) request.hints = parseHints(body.hints)
  return request
}
