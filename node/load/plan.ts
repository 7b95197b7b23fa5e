/** `proofmesh bench load`: its flags, checked and turned into a plan before the daemon is asked anything */
import { parseDuration } from '../../src/config/index.js'
import { jobRequestLimits } from '../../src/job/request.js'
import { usage } from '../errors.js'
import { integerFlag } from '../options.js'

export interface BenchLoadArgs {
  config?: string
  'data-dir'?: string
  jobs?: number
  concurrency?: number
  size?: string
  'compute-capacity'?: number
  'minimal-compute-capacity'?: number
  program?: string
  timeout?: string
  json?: boolean
  'keep-inputs'?: boolean
}

export const benchLoadDefaults = {
  jobs: 10,
  concurrency: 2,
  size: '256k',
  timeout: '10m',
  maxJobs: 1_000_000,
  maxConcurrency: 1000,
  maxSize: 1024 ** 3,
  /** After a job's own timeout the daemon fails it; the client waits this much longer for that record */
  graceMs: 30_000,
  /** How long a record that trails its event stream, or a cancelled job, is polled for its end */
  settleMs: 15_000,
  pollMs: 500
}

const MIB = 1024 * 1024

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, m: MIB, g: 1024 * MIB }

/** "65536", "64k", "1m", "2MiB", "1.5MB": k, m and g are powers of 1024 whatever the suffix's spelling */
export function parseSize(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(?:([kmg])(?:i?b)?|b)?\s*$/i.exec(text)
  if (match === null) throw new Error(`expected bytes like 65536, 64k, 1m or 2MiB, got '${text}'`)
  return Math.floor(Number(match[1]) * (SIZE_UNITS[(match[2] ?? '').toLowerCase()] ?? 1))
}

export interface LoadPlan {
  jobs: number
  concurrency: number
  sizeBytes: number
  program: string
  timeoutMs: number
  computeCapacity?: number
  minimalComputeCapacity?: number
}

/** The integer flags of `bench load`, with the range each takes */
export const BENCH_INTEGER_FLAGS = {
  jobs: { min: 1, max: benchLoadDefaults.maxJobs },
  concurrency: { min: 1, max: benchLoadDefaults.maxConcurrency },
  'compute-capacity': { min: 1, max: jobRequestLimits.maxComputeCapacity },
  'minimal-compute-capacity': { min: 1, max: jobRequestLimits.maxComputeCapacity }
} as const

function benchInteger(flag: keyof typeof BENCH_INTEGER_FLAGS, value: number | undefined): number | undefined {
  const { min, max } = BENCH_INTEGER_FLAGS[flag]
  return integerFlag(`--${flag}`, value, min, max)
}

/** The flags, checked before anything is asked of the daemon; throws CliError (exit 2) */
export function planLoad(args: BenchLoadArgs): LoadPlan {
  const jobs = benchInteger('jobs', args.jobs ?? benchLoadDefaults.jobs) ?? 1
  const concurrency = benchInteger('concurrency', args.concurrency ?? benchLoadDefaults.concurrency) ?? 1
  const sizeText = args.size ?? benchLoadDefaults.size
  let sizeBytes: number
  try {
    sizeBytes = parseSize(sizeText)
  } catch (err) {
    throw usage(`--size: ${(err as Error).message}`)
  }
  if (sizeBytes < 1 || sizeBytes > benchLoadDefaults.maxSize) {
    throw usage(`--size ${sizeText}: a job's input is 1 byte to 1 GiB`)
  }
  const program = args.program ?? jobRequestLimits.defaultProgram
  if (!jobRequestLimits.programPattern.test(program)) {
    throw usage(`--program ${program}: expected a program id like rescue-sponge (a-z, 0-9, ".", "_", "-")`)
  }
  const timeoutText = args.timeout ?? benchLoadDefaults.timeout
  let timeoutMs: number
  try {
    timeoutMs = parseDuration(timeoutText)
  } catch {
    throw usage(`--timeout ${timeoutText}: expected a duration like 90s, 10m or 1h30m`)
  }
  if (timeoutMs < jobRequestLimits.minTimeoutMs || timeoutMs > jobRequestLimits.maxTimeoutMs) {
    throw usage(`--timeout ${timeoutText}: a job needs at least 1s`)
  }
  const computeCapacity = benchInteger('compute-capacity', args['compute-capacity'])
  const minimal = benchInteger('minimal-compute-capacity', args['minimal-compute-capacity'])
  if (minimal !== undefined && computeCapacity !== undefined && minimal > computeCapacity) {
    throw usage(`--minimal-compute-capacity ${minimal} is more than --compute-capacity ${computeCapacity}`)
  }
  return {
    jobs,
    concurrency: Math.min(concurrency, jobs),
    sizeBytes,
    program,
    timeoutMs,
    ...(computeCapacity === undefined ? {} : { computeCapacity }),
    ...(minimal === undefined ? {} : { minimalComputeCapacity: minimal })
  }
}
