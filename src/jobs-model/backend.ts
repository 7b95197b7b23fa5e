import type { JobState } from './states.js'
import type { JobEvent, JobRecord } from './types.js'

/** The job service as the local API sees it: the submitter's JobService implements it */
export interface JobsBackend {
  /** Throws JobRequestError (→ 400) for a bad request, or JobRefusedError (→ its status: 409 queue full, 503 no prover) */
  submit(body: unknown): Promise<JobRecord>
  list(filter: { states?: JobState[] }): JobRecord[]
  get(id: string): JobRecord | undefined
  /** Absolute path of the saved final proof, when there is one */
  proofPath(id: string): string | undefined
  cancel(id: string): Promise<JobRecord | undefined>
  /** The job's events with a sequence number above afterSeq, oldest first */
  events(id: string, afterSeq: number): JobEvent[]
  /** Live events of a job; returns the unsubscribe function */
  subscribe(id: string, listener: (event: JobEvent) => void): () => void
}
