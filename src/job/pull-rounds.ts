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
 * A job's capacity pulls, at most `maxRounds` rounds (each a few other neighbours) for its whole life: the scheduler
 * holds a queued job whose table is short of its units while a round is in flight (a round is bounded by its own
 * deadline; `onRound` then looks at the queue again), and a running job whose reserve waves came up short may
 * spend a round that the scheduler left.
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
    const state = this.state(jobId)
    if (state.inFlight) return true
    if (state.rounds >= this.maxRounds) return false
    state.rounds++
    state.inFlight = true
    this.pull({ ...wish, asked: state.asked })
      .then(
        (result) => {
          // nobody left to ask: no further round would either
          if (result.asked === 0) state.rounds = this.maxRounds
          return result
        },
        () => undefined
      )
      .then((result) => {
        state.inFlight = false
        this.onRound(jobId, result)
      })
      .catch(() => undefined)
    return true
  }

  /**
   * A round for a job that is running (its reserve waves came up short), within the same budget; settles when the
   * round does, with undefined when the job's rounds are spent or one is in flight already
   */
  async round(jobId: string, wish: Omit<CapacityWish, 'asked'>): Promise<PullRoundResult | undefined> {
    const state = this.state(jobId)
    if (state.inFlight || state.rounds >= this.maxRounds) return undefined
    state.rounds++
    state.inFlight = true
    try {
      return await this.pull({ ...wish, asked: state.asked })
    } catch {
      return undefined
    } finally {
      state.inFlight = false
    }
  }

  /** The job ended: its rounds are forgotten */
  forget(jobId: string): void {
    this.jobs.delete(jobId)
  }

  private state(jobId: string): JobPulls {
    let state = this.jobs.get(jobId)
    if (state === undefined) {
      state = { rounds: 0, inFlight: false, asked: new Set() }
      this.jobs.set(jobId, state)
    }
    return state
  }
}
