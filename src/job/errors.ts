/** Why a job ended without a proof; `code` is what callers (the webhook, the CLI, tests) match on */
export class JobFailure extends Error {
  readonly code: string
  constructor(code: string, message: string) {
    super(message)
    this.name = 'JobFailure'
    this.code = code
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
