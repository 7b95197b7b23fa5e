import type { Link } from './link.js'

/** Where the job stands, as far as one peer's work is concerned */
export interface JobStanding {
  /** The peer is the job's aggregator */
  aggregator: boolean
  /** Every segment of the job is proved: the aggregator has all it needs */
  allProved: boolean
  /** The aggregator reported its final proof */
  finalIn: boolean
}

/**
 * Whether a peer has work in hand, so that its silence about it counts against jobs.progress_timeout: a segment
 * it has not contributed yet, a segment it has not proved once it holds the challenge, or, as the aggregator, the
 * final proof once every segment is proved. A peer waiting on the others (contributed, no challenge yet; an
 * aggregator whose partial proofs are still being made) has none: keep-alives are all it owes.
 */
export function awaitsWork(
  link: Pick<Link, 'segments' | 'proved' | 'contributed' | 'hasChallenge'>,
  job: JobStanding
): boolean {
  if (job.aggregator && job.allProved && !job.finalIn) return true
  return link.segments.some(
    (index) => !link.proved.has(index) && (link.hasChallenge || !link.contributed.has(index))
  )
}
