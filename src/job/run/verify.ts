/** The final proof: pulled from the aggregator, verified on this daemon's prover, saved */
import { join } from 'node:path'
import { toString } from 'uint8arrays'
import { makeDirectory } from '../../config/directories.js'
import { toError } from '../../net/framed-stream.js'
import { writeAtomically } from '../files.js'
import { pullFinalProof } from '../final-proof.js'
import type { JobRunState, FinalReport } from './state.js'

/**
 * Why a final proof was not taken: it could not be pulled (TRANSFER: a stalled or trickling holder, pinned on it
 * by the transfer limits, no lie shown) or it is not a valid proof of this job (PROOF_INVALID: a lie)
 */
export interface Rejection {
  code: 'TRANSFER' | 'PROOF_INVALID'
  reason: string
}

/** Verifies a final proof against the input and saves it; resolves with why it was not taken, if it was not */
export async function verify(run: JobRunState, final: FinalReport): Promise<Rejection | undefined> {
  run.setState('verifying', 'verify')
  const { record, ctx } = run
  const received = join(ctx.settings.jobDir, 'final.proof')
  let got: { size: number; sha256: Uint8Array }
  try {
    got = await pullFinalProof(
      ctx.transport,
      final.link.peer,
      record.id,
      received,
      ctx.settings.transferLimits,
      ctx.signal
    )
  } catch (err) {
    return { code: 'TRANSFER', reason: `it could not be fetched: ${toError(err).message}` }
  }
  if (toString(got.sha256, 'base16') !== final.sha256)
    return { code: 'PROOF_INVALID', reason: 'the bytes received are not the ones the aggregator reported' }
  const verdict = await ctx.prover.verify(
    { program: record.request.program, proof: received, digest: record.expectedDigest, job: record.id },
    { signal: ctx.signal }
  )
  if (!verdict.valid) return { code: 'PROOF_INVALID', reason: verdict.reason ?? 'no reason given' }
  record.digest = verdict.digest
  let path = received
  if (record.request.saveProof) {
    makeDirectory(ctx.settings.proofsDir)
    path = join(ctx.settings.proofsDir, `${record.id}.proof`)
    await writeAtomically(received, path)
  }
  record.proof = { size: got.size, sha256: toString(got.sha256, 'base16'), path }
  run.endPhase('verify')
  run.setState('succeeded')
  return undefined
}
