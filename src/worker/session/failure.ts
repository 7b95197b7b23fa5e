/** What a failure of this peer's share is called on the job stream (Failed code, message, segment) */
import { FailCode } from '../../../protocols/job/pb/job.js'
import { TransferError } from '../../files/errors.js'
import { toError } from '../../net/framed-stream.js'
import { ProverRpcError } from '../../prover/errors.js'
import { NppErrorCode } from '../../prover/types.js'

/** A segment's wait for its input ended by a Forget: not a failure, nothing is reported */
export class WithdrawnError extends Error {
  constructor(segment: number) {
    super(`segment ${segment} was withdrawn`)
    this.name = 'WithdrawnError'
  }
}

/** A failure of this peer's share, reported to the submitter as Failed(code, message, segment) */
export class SessionError extends Error {
  readonly code: FailCode
  readonly segment?: number
  /** The aggregator blaming a proof: which proof (its SHA-256) */
  proofSha256?: Uint8Array
  constructor(code: FailCode, message: string, segment?: number) {
    super(message)
    this.name = 'SessionError'
    this.code = code
    this.segment = segment
  }
}

/** Maps an error of the prover, a transfer or a deadline to what the submitter is told */
export function failureOf(err: unknown, segment?: number): SessionError {
  if (err instanceof SessionError) return err
  if (err instanceof TransferError) return new SessionError(FailCode.TRANSFER, err.message, segment)
  if (err instanceof ProverRpcError) {
    const data = err.data as { segment?: unknown } | undefined
    const blamed = typeof data?.segment === 'number' ? data.segment : segment
    switch (err.code) {
      case NppErrorCode.PROOF_INVALID:
        return new SessionError(FailCode.PROOF_INVALID, err.message, blamed)
      // A proof of another prover version is no lie, but its owner's proof cannot be used here: reported as one
      // that cannot be had (not penalised; after the fetch retries its owner fails and its segments move), never as
      // this aggregator's own failure, which a peer could otherwise cause at will with an old magic
      case NppErrorCode.UNSUPPORTED_VERSION:
        return new SessionError(FailCode.TRANSFER, err.message, blamed)
      case NppErrorCode.INVALID_HINTS:
        return new SessionError(FailCode.HINTS, err.message, blamed)
      case NppErrorCode.IO_ERROR:
      case NppErrorCode.INVALID_SEGMENT:
        return new SessionError(FailCode.INPUT, err.message, blamed)
      case NppErrorCode.CANCELLED:
        return new SessionError(FailCode.CANCELLED, err.message, blamed)
      default:
        return new SessionError(FailCode.PROVER, err.message, blamed)
    }
  }
  const error = toError(err)
  if (error.name === 'AbortError' || error.name === 'TimeoutError')
    return new SessionError(FailCode.CANCELLED, error.message, segment)
  return new SessionError(FailCode.PROVER, error.message, segment)
}
