/**
 * Driving an NPP v1 prover's `plan`, where the prover splits the input for weighted workers, with a layout the
 * daemon chose: one worker per segment, weighted by its blocks, and `maxSegmentBlocks` the largest segment. v1's
 * proportional split (largest remainder) then gives exactly one segment per worker, in order; a prover whose
 * split differs (a padding block, another rounding) fails the call, since the daemon's layout is the one that
 * was leased. v2 provers receive the segments and need none of this.
 */
import { ProverProtocolError } from './errors.js'
import type { CallOptions, PlanParams, PlanResult, PlanV1Params, Segment } from './types.js'
import { checkV1Plan } from './validate.js'

type PlanCall = (params: PlanV1Params, options?: CallOptions) => Promise<PlanResult>

const workerOf = (segment: Segment): string => `s${segment.index}`

/** The v1 request that reproduces `params.segments` */
export function v1PlanParams(params: PlanParams): PlanV1Params {
  const { job, program, input, segments, hintsOut } = params
  return {
    job,
    program,
    input,
    workers: segments.map((segment) => ({ id: workerOf(segment), units: Math.max(1, segment.blockCount) })),
    maxSegmentBlocks: Math.max(1, ...segments.map((segment) => segment.blockCount)),
    hintsOut
  }
}

/** Calls a v1 prover's `plan` for the daemon's layout; the answer is v2's (the split, checked, is dropped) */
export async function planThroughV1(
  call: PlanCall,
  params: PlanParams,
  options?: CallOptions
): Promise<PlanResult> {
  const answer = checkV1Plan(await call(v1PlanParams(params), options))
  const { segments, ...result } = answer
  if (segments.length !== params.segments.length) {
    throw new ProverProtocolError(
      `the NPP v1 prover split the input into ${segments.length} segment(s) where the daemon laid out ${params.segments.length}`
    )
  }
  for (const [i, wanted] of params.segments.entries()) {
    const got = segments[i] as (typeof segments)[number]
    const same =
      got.worker === workerOf(wanted) &&
      got.index === wanted.index &&
      got.startBlock === wanted.startBlock &&
      got.blockCount === wanted.blockCount &&
      got.inputOffset === wanted.inputOffset &&
      got.inputLength === wanted.inputLength
    if (!same) {
      throw new ProverProtocolError(
        `the NPP v1 prover's segment ${i} is ${JSON.stringify(got)}, the daemon laid out ${JSON.stringify(wanted)}`
      )
    }
  }
  return result
}
