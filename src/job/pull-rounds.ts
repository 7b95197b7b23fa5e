import { MAX_PULL_ROUNDS } from '../../protocols/capacity/pull-constants.js'

/** What a submitter asks its neighbours for when its table is short of a job's units (capacity/pull.ts) */
export interface CapacityWish {
  program: string
  /** Units missing from the table */
  units: number
  /** Peers the table lists for the program already: the answers leave them out */
  known: readonly string[]
  /** Neighbours asked in this job's earlier rounds; the round adds its own */
  asked: Set<string>
  signal?: AbortSignal
}

export interface PullRoundResult {
  /** Neighbours asked; 0 when every neighbour was asked already */
  asked: number
  /** Peers listed by the round, and their free units */
  listed: number
  units: number
}

export type PullCapacity = (wish: CapacityWish) => Promise<PullRoundResult>

interface JobPulls {
  rounds: number
  inFlight: boolean
  asked: Set<string>
}

/**
 * The scheduler's use of capacity pulls: a queued job whose table is short of its units has its neighbours asked,
 * at most `maxRounds` rounds (each a few other neighbours) before the table is taken as it is. While a round is in
 * flight the job waits (a round is bounded by its own deadline); `onRound` then looks at the queue again.
 */
export class PullRounds {
  private readonly jobs = new Map<string, JobPulls>()
  private readonly pull: PullCapacity
  private readonly onRound: (jobId: string, result: PullRoundResult | undefined) => void
  private readonly maxRounds: number

  constructor(
    pull: PullCapacity,
    onRound: (jobId: string, result: PullRoundResult | undefined) => void,
    maxRounds = MAX_PULL_ROUNDS
  ) {
    this.pull = pull
    this.onRound = onRound
    this.maxRounds = maxRounds
  }

  /**
   * Whether the job should wait for a pull round: true while one is in flight, or when another has just been
   * started; false once the job's rounds are spent (or its neighbours all asked)
   */
  wait(jobId: string, wish: Omit<CapacityWish, 'asked'>): boolean {
    let state = this.jobs.get(jobId)
    if (state === undefined) {
      state = { rounds: 0, inFlight: false, asked: new Set() }
      this.jobs.set(jobId, state)
    }
    if (state.inFlight) return true
    if (state.rounds >= this.maxRounds) return false
    state.rounds++
    state.inFlight = true
    const job = state
    this.pull({ ...wish, asked: job.asked })
      .then(
        (result) => {
          // nobody left to ask: no further round would either
          if (result.asked === 0) job.rounds = this.maxRounds
          return result
        },
        () => undefined
      )
      .then((result) => {
        job.inFlight = false
        this.onRound(jobId, result)
      })
      .catch(() => undefined)
    return true
  }

  /** The job started or ended: its rounds are forgotten */
  forget(jobId: string): void {
    this.jobs.delete(jobId)
  }
}
