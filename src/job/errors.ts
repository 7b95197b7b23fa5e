/** Why a job ended without a proof; `code` is what callers (the webhook, the CLI, tests) match on */
export class JobFailure extends Error {
  readonly code: string
  constructor(code: string, message: string) {
    super(message)
    this.name = 'JobFailure'
    this.code = code
  }
}

/**
 * The job must start again from the queue, its leases released: its challenge was fixed from a contribution that
 * two other peers showed wrong, and a peer takes one challenge per job. The liar is penalised, so that the next
 * run ranks it last; after jobs.max_retries restarts the job fails with this error's code.
 */
export class RestartJobError extends JobFailure {
  constructor(code: string, message: string) {
    super(code, message)
    this.name = 'RestartJobError'
  }
}

/** Not enough units could be leased right now: the job goes back to the queue */
export class CapacityShortError extends Error {
  readonly reserved: number
  constructor(message: string, reserved: number) {
    super(message)
    this.name = 'CapacityShortError'
    this.reserved = reserved
  }
}
