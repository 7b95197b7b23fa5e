import type { InputsHeader } from '../../../protocols/inputs/pb/inputs.js'
import type { ProofFile } from '../../../protocols/proof/codec.js'
import type { ByteSink, FileSink } from '../../files/file-sink.js'
import type { ProgressNotification } from '../../prover/types.js'

/**
 * What WorkerService holds per (submitter, job id): a segment session (session.ts) or a whole-job one
 * (../whole-session.ts)
 */
export interface JobSession {
  /** Aborts when the session ends */
  readonly signal: AbortSignal
  run(): Promise<void>
  stop(reason: string): Promise<void>
  onProgress(progress: ProgressNotification): void
  sliceSink(header: InputsHeader): Promise<FileSink>
  hintsSink(): Promise<ByteSink>
  heldProof(segment?: number): ProofFile | undefined
  openStream(): () => void
}
