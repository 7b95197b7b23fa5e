import { shortPeerId } from '../jobs-model/peer-id.js'
import type { JobRequest } from '../jobs-model/types.js'
import type { Candidate } from './link.js'

/** What the peers that run a queued job's program hold for it, as the scheduler counts it */
export interface JobCapacity {
  /** Units they have */
  total: number
  /** Units they would let this submitter hold at once, each under the cap its grants stated */
  grantable: number
  /** Units free for it now */
  free: number
  /** A whole job's: the single peer that would let this submitter hold the most (undefined with no peer) */
  largest?: { peerId: string; units: number; grantable: number }
}

/**
 * A segmented job spreads over every peer that runs its program, so their units add up. A whole job (a cli prover's,
 * src/job/whole-run.ts) runs on exactly one peer: three 2-unit cli peers cannot hold a 4-unit whole job, and adding
 * them up left such a job requeued until its timeout. For it every figure is one peer's: the largest.
 *
 * `limit(peerId, units)`: the most of `units` that peer lets this submitter hold (SubmitterCaps.limit). The
 * candidates' `unitsFree` are taken as they come (the scheduler already holds them to the caps and the back-off).
 */
export function jobCapacity(
  candidates: readonly Candidate[],
  limit: (peerId: string, units: number) => number,
  whole: boolean
): JobCapacity {
  if (!whole) {
    return {
      total: candidates.reduce((sum, candidate) => sum + candidate.unitsTotal, 0),
      grantable: candidates.reduce(
        (sum, candidate) => sum + limit(candidate.peerId, candidate.unitsTotal),
        0
      ),
      free: candidates.reduce((sum, candidate) => sum + candidate.unitsFree, 0)
    }
  }
  let largest: JobCapacity['largest']
  for (const { peerId, unitsTotal } of candidates) {
    const grantable = limit(peerId, unitsTotal)
    if (
      largest === undefined ||
      grantable > largest.grantable ||
      (grantable === largest.grantable && unitsTotal > largest.units)
    )
      largest = { peerId, units: unitsTotal, grantable }
  }
  return {
    total: Math.max(0, ...candidates.map((candidate) => candidate.unitsTotal)),
    grantable: largest?.grantable ?? 0,
    free: Math.max(0, ...candidates.map((candidate) => candidate.unitsFree)),
    largest
  }
}

/** Why the job can never be placed (the CAPACITY failure's message), or undefined while it could be */
export function capacityShortfall(
  request: Pick<JobRequest, 'program' | 'computeCapacity' | 'minimalComputeCapacity'>,
  capacity: JobCapacity,
  whole: boolean
): string | undefined {
  const { program, computeCapacity, minimalComputeCapacity } = request
  if (capacity.grantable >= minimalComputeCapacity) return undefined
  const requested = `requested ${computeCapacity} units (at least ${minimalComputeCapacity})`
  if (!whole) {
    const capped =
      capacity.grantable < capacity.total
        ? `, and its peers let this submitter hold ${capacity.grantable} of them at once (each peer's security.max_units_per_submitter)`
        : ''
    return `${requested}, the network has ${capacity.total} for ${program}${capped}`
  }
  const { largest } = capacity
  if (largest === undefined)
    return `${requested}, and no peer proving whole jobs (cli backend) runs ${program}`
  const capped =
    largest.grantable < largest.units
      ? `, of which it lets this submitter hold ${largest.grantable} at once (its security.max_units_per_submitter)`
      : ''
  return `${requested}, but a whole job (cli backend) runs on one peer, and the largest running ${program}, ${shortPeerId(largest.peerId)}, has ${largest.units}${capped}`
}
