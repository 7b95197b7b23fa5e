import { shortPeerId } from '../jobs-model/peer-id.js'
import { toError } from '../net/framed-stream.js'
import { IdleDeadline, touchOnGrowth } from './idle-deadline.js'
import type { PeerAddress, SubmitterTransport } from './transport.js'

/**
 * Pulls a job's final proof from the peer that made it into `dest`, failing once no byte moved for `idleMs`
 * (jobs.transfer_idle_timeout): a holder serving one byte every few seconds would otherwise hold the job until its
 * own timeout. The size cap is the proof protocol's (MAX_PROOF_BYTES). Throws the idle deadline's error, or the
 * transfer's; `signal`'s reason when it aborted.
 */
export async function pullFinalProof(
  transport: Pick<SubmitterTransport, 'fetchFinalProof'>,
  peer: PeerAddress,
  jobId: string,
  dest: string,
  idleMs: number,
  signal: AbortSignal
): Promise<{ size: number; sha256: Uint8Array }> {
  const idle = new IdleDeadline(`fetching the final proof from peer ${shortPeerId(peer.peerId)}`, idleMs)
  const stopWatch = touchOnGrowth(idle, dest, Math.max(25, idleMs / 5))
  try {
    return await transport.fetchFinalProof(peer, jobId, dest, AbortSignal.any([signal, idle.signal]))
  } catch (err) {
    signal.throwIfAborted()
    throw toError(idle.signal.reason ?? err)
  } finally {
    stopWatch()
    idle.stop()
  }
}
