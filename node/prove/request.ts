/** `proofmesh prove`: its flags, checked and turned into the POST /v1/jobs body before the daemon is asked anything */
import { isAbsolute, resolve } from 'node:path'
import { parseDuration } from '../../src/config/index.js'
import { type JobRequestBody, jobRequestLimits, parseJobRequest } from '../../src/job/request.js'
import { usage } from '../errors.js'
import { integerFlag } from '../options.js'

export interface ProveArgs {
  config?: string
  'data-dir'?: string
  inputs?: string
  'direct-inputs'?: boolean
  hints?: string
  'stream-hints'?: boolean
  'compute-capacity'?: number
  'minimal-compute-capacity'?: number
  priority?: number
  program?: string
  'data-id'?: string
  timeout?: string
  'webhook-url'?: string
  'save-proofs'?: boolean
  wait?: boolean
  out?: string
  json?: boolean
  ephemeral?: boolean
  bootstrap?: string[]
  'swarm-key'?: string
}

/** The integer flags of `prove`, with the range each takes */
export const PROVE_INTEGER_FLAGS = {
  'compute-capacity': { min: 1, max: jobRequestLimits.maxComputeCapacity },
  'minimal-compute-capacity': { min: 1, max: Number.MAX_SAFE_INTEGER },
  priority: { min: jobRequestLimits.minPriority, max: jobRequestLimits.maxPriority }
} as const

const UNIX_PREFIX = 'unix://'

/** The request fields the flags set, named by the flag that sets them (for the daemon's own checks) */
const FLAG_OF_FIELD: Record<string, string> = {
  program: '--program',
  inputMode: '--direct-inputs',
  input: '--inputs',
  hints: '--hints',
  'hints.kind': '--hints',
  'hints.path': '--hints',
  computeCapacity: '--compute-capacity',
  minimalComputeCapacity: '--minimal-compute-capacity',
  priority: '--priority',
  dataId: '--data-id',
  timeoutMs: '--timeout',
  webhookUrl: '--webhook-url',
  saveProof: '--no-save-proofs'
}

/**
 * The flags as the POST /v1/jobs body, exactly what is sent: only the fields the user set, the daemon filling
 * the rest from its config. Paths are made absolute against `cwd`. Throws CliError (exit 2) on a bad flag.
 */
export function buildProveRequest(args: ProveArgs, cwd = process.cwd()): JobRequestBody {
  const inputs = args.inputs ?? ''
  if (inputs === '')
    throw usage(
      '--inputs is required: a file (with --direct-inputs) or a name in the peers\u2019 inputs folder'
    )
  const direct = args['direct-inputs'] === true
  if (!direct && isAbsolute(inputs)) {
    throw usage(
      `--inputs ${inputs}: without --direct-inputs it names a file inside every peer's inputs folder; pass -x to send this file`
    )
  }
  const computeCapacity = integerFlag(
    '--compute-capacity',
    args['compute-capacity'],
    PROVE_INTEGER_FLAGS['compute-capacity'].min,
    PROVE_INTEGER_FLAGS['compute-capacity'].max
  )
  if (computeCapacity === undefined)
    throw usage('--compute-capacity is required: how many compute units the job needs')
  const body: JobRequestBody = {
    inputMode: direct ? 'data' : 'path',
    input: direct ? resolve(cwd, inputs) : inputs,
    computeCapacity
  }
  if (args.program !== undefined) {
    if (!jobRequestLimits.programPattern.test(args.program)) {
      throw usage(
        `--program ${args.program}: expected a program id like rescue-sponge (a-z, 0-9, ".", "_", "-")`
      )
    }
    body.program = args.program
  }
  const hints = args.hints
  if (args['stream-hints'] === true) {
    if (hints === undefined) throw usage('--stream-hints needs --hints unix:///path/to/hints.sock')
    const socket = hints.startsWith(UNIX_PREFIX) ? hints.slice(UNIX_PREFIX.length) : hints
    if (socket === '') throw usage(`--hints ${hints}: expected unix:///path/to/hints.sock`)
    body.hints = { kind: 'socket', path: resolve(cwd, socket) }
  } else if (hints !== undefined) {
    if (hints === '') throw usage('--hints needs a file')
    if (hints.startsWith('unix:'))
      throw usage(`--hints ${hints} is a socket: add --stream-hints to read hints from it`)
    body.hints = { kind: 'file', path: resolve(cwd, hints) }
  }
  const minimal = integerFlag(
    '--minimal-compute-capacity',
    args['minimal-compute-capacity'],
    PROVE_INTEGER_FLAGS['minimal-compute-capacity'].min,
    PROVE_INTEGER_FLAGS['minimal-compute-capacity'].max
  )
  if (minimal !== undefined) {
    if (minimal > computeCapacity) {
      throw usage(`--minimal-compute-capacity ${minimal} is more than --compute-capacity ${computeCapacity}`)
    }
    body.minimalComputeCapacity = minimal
  }
  const priority = integerFlag(
    '--priority',
    args.priority,
    PROVE_INTEGER_FLAGS.priority.min,
    PROVE_INTEGER_FLAGS.priority.max
  )
  if (priority !== undefined) body.priority = priority
  if (args['data-id'] !== undefined) body.dataId = args['data-id']
  if (args.timeout !== undefined) {
    let ms: number
    try {
      ms = parseDuration(args.timeout)
    } catch {
      throw usage(`--timeout ${args.timeout}: expected a duration like 90s, 10m or 1h30m`)
    }
    if (ms < jobRequestLimits.minTimeoutMs) throw usage(`--timeout ${args.timeout}: a job needs at least 1s`)
    body.timeoutMs = ms
  }
  if (args['webhook-url'] !== undefined) body.webhookUrl = args['webhook-url']
  if (args['save-proofs'] === false) body.saveProof = false
  // The daemon's own checks, run here too so a bad flag never costs a round trip
  try {
    parseJobRequest(body, { timeoutMs: jobRequestLimits.minTimeoutMs })
  } catch (err) {
    const error = err as Error & { field?: string }
    if (error.name !== 'JobRequestError') throw err
    const flag = FLAG_OF_FIELD[error.field ?? ''] ?? 'the request'
    throw usage(`${flag}: ${error.message}`)
  }
  return body
}
