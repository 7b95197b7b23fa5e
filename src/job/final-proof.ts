import { shortPeerId } from '../jobs-model/peer-id.js'
import { toError } from '../net/framed-stream.js'
import { TransferDeadline, type TransferLimits } from '../net/transfer-deadline.js'
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
  const transfer = new TransferDeadline(
    `fetching the final proof from peer ${shortPeerId(peer.peerId)}`,
    limits
  )
  try {
    return await transport.fetchFinalProof(
      peer,
      jobId,
      dest,
      AbortSignal.any([signal, transfer.signal]),
      (bytes) => transfer.moved(bytes)
    )
  } catch (err) {
    signal.throwIfAborted()
    throw toError(transfer.signal.reason ?? err)
  } finally {
    transfer.stop()
  }
}
