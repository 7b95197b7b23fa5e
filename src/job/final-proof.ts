import { shortPeerId } from '../jobs-model/peer-id.js'
import { type TransferLimits, underTransferDeadline } from '../net/transfer-deadline.js'
import type { PeerAddress, SubmitterTransport } from './transport.js'

/**
 * Pulls a job's final proof from the peer that made it into `dest` under the transfer limits
 * (jobs.transfer_idle_timeout, jobs.transfer_min_rate): a holder serving one byte every few seconds would otherwise
 * hold the job until its own timeout. The size cap is the proof protocol's (MAX_PROOF_BYTES). Throws the
 * deadline's error, or the transfer's; `signal`'s reason when it aborted.
 */
export async function pullFinalProof(
  transport: Pick<SubmitterTransport, 'fetchFinalProof'>,
  peer: PeerAddress,
  jobId: string,
  dest: string,
  limits: TransferLimits,
  signal: AbortSignal
): Promise<{ size: number; sha256: Uint8Array }> {
  return underTransferDeadline(
    `fetching the final proof from peer ${shortPeerId(peer.peerId)}`,
    limits,
    signal,
    async (bounded, moved) => transport.fetchFinalProof(peer, jobId, dest, bounded, moved)
  )
}
