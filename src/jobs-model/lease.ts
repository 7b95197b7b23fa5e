/** What the worker side records of each lease it grants (one row per leaseId in the journal) */
export interface LeaseRecord {
  leaseId: string
  jobId: string
  /** Peer id of the job's submitter */
  submitter: string
  units: number
  grantedAt: number
  expiresAt: number
  endedAt?: number
  endReason?: string
}
