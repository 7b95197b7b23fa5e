/** `prove --wait` follows a job the same way wherever it runs: in the local daemon or in an ephemeral peer */
import type { JobEvent, JobRecord } from '../../src/jobs-model/types.js'
import type { ApiClient } from '../api-client.js'

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

/** A job submitted to the local daemon, followed through its HTTP API */
export function daemonSession(client: ApiClient, jobId: string): JobSession {
  const path = `/v1/jobs/${encodeURIComponent(jobId)}`
  return {
    events: () => client.events(jobId),
    job: () => client.get<JobRecord>(path),
    downloadProof: async (file) => {
      await client.download(`${path}/proof`, file)
    },
    close: async () => undefined
  }
}
