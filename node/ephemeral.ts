import type { JobEvent, JobRecord } from '../src/job/types.js'
import { CliError } from './errors.js'

/** `proofmesh prove --ephemeral`: a submitter that lives for one job, with no daemon */
export interface EphemeralOptions {
  bootstrap: string[]
  swarmKey?: string
  dataDir?: string
  out?: string
  saveProof: boolean
  json: boolean
  wait: true
}

/** One submitted job as `prove --wait` follows it, whether through the daemon's API or in-process */
export interface JobSession {
  /** The job's events, oldest first; ends once the job is over */
  events(): AsyncIterable<JobEvent>
  /** The job's current record */
  job(): Promise<JobRecord>
  /** Writes the final proof to `file` (atomically) */
  downloadProof(file: string): Promise<void>
  close(): Promise<void>
}

/**
 * Runs `request` (the POST /v1/jobs body) on a short-lived node joined through `options.bootstrap`, hands the
 * job to `follow` and resolves with its exit code.
 */
export async function runEphemeralProve(
  _request: Record<string, unknown>,
  _options: EphemeralOptions,
  _follow: (session: JobSession) => Promise<number>
): Promise<number> {
  throw new CliError('--ephemeral is not available yet', 1)
}
