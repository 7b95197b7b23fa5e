import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { jobSegments } from '../job/layout.js'
import { computeChallenge } from './challenge.js'
import { ProverRpcError } from './errors.js'
import {
  type CallOptions,
  type JobProveParams,
  type JobProveResult,
  NppErrorCode,
  type Segment,
  type SegmentedProver
} from './types.js'

/** Sends only the Segment fields, not what a layout adds (the peer, v1's worker) */
export function segmentOf(segment: Segment): Segment {
  const { index, startBlock, blockCount, inputOffset, inputLength } = segment
  return { index, startBlock, blockCount, inputOffset, inputLength }
}

/**
 * Every phase on one prover alone: lay the job out for this one peer, plan it (writing hints into `workdir`),
 * contribute each segment, fix the challenge, prove each segment, aggregate into `out`. Segments run one at a
 * time: the prover already uses every core on one segment. `options` apply to each call.
 */
export async function proveJobInPhases(
  prover: Pick<SegmentedProver, 'info' | 'plan' | 'contribute' | 'prove' | 'aggregate'>,
  params: JobProveParams,
  options?: CallOptions
): Promise<JobProveResult> {
  const started = Date.now()
  const { job, program, workdir } = params
  const spec = prover.info.programs.find((candidate) => candidate.id === program)
  if (spec === undefined) {
    throw new ProverRpcError(NppErrorCode.UNKNOWN_PROGRAM, `the prover does not run ${program}`)
  }
  const input = { path: params.input, offset: 0 }
  const { size } = await stat(params.input)
  const segments = jobSegments(spec, size, [{ id: 'local', units: 1 }]).map(segmentOf)
  const plan = await prover.plan({ job, program, input, segments, hintsOut: join(workdir, 'hints') }, options)
  const hints = plan.hints?.path
  const contributions: string[] = []
  for (const segment of segments) {
    const { contribution } = await prover.contribute(
      { job, program, inputSize: plan.inputSize, segment, input, hints },
      options
    )
    contributions.push(contribution)
  }
  const challenge = computeChallenge(job, contributions)
  const proofs: string[] = []
  for (const segment of segments) {
    const out = join(workdir, `proof-${segment.index}`)
    await prover.prove(
      { job, program, inputSize: plan.inputSize, segment, input, hints, challenge, out },
      options
    )
    proofs.push(out)
  }
  const final = await prover.aggregate(
    { job, program, inputSize: plan.inputSize, challenge, contributions, proofs, out: params.out },
    options
  )
  // The prover reports the hash it wrote; hashing the file again would only re-read what it just wrote
  return {
    out: params.out,
    size: final.size,
    sha256: final.sha256,
    millis: Date.now() - started,
    segments: final.segments,
    digest: final.digest
  }
}
