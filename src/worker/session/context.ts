import type { PeerFrame } from '../../../protocols/job/pb/job.js'
import type { Logger } from '../../log/index.js'
import type { SegmentedProver } from '../../prover/types.js'
import type { SessionError } from './failure.js'

/** What the parts of one session share: the job, its folder and prover, the session's life and its voice */
export interface SessionContext {
  jobId: string
  /** The peer that leased this session: one job id may have sessions here for several submitters */
  submitter: string
  /**
   * The session's name for the prover's contribute and prove calls and its cancel: unique on this peer, so that
   * ending one submitter's session never cancels another's work on the same job id. Aggregate is called with the
   * job id itself, which the challenge and the final proof bind.
   */
  proverJob: string
  program: string
  /** The input's size in bytes, as Reserve gave it */
  inputSize: number
  /** This job's own folder on this peer: slices, hints, proofs; removed when the session ends */
  workDir: string
  prover: SegmentedProver
  log: Logger
  /** Aborts when the session ends: every wait and every prover call of the session stops with it */
  signal: AbortSignal
  /** Sends a frame to the submitter, in order with the others */
  send(frame: PeerFrame): void
  /** Reports a failure of this peer's share to the submitter (Failed); the session goes on */
  fail(error: SessionError): void
}
