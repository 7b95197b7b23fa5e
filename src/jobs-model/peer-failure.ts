import type { PeerFailure } from './types.js'

/**
 * `INPUT (segment 3): input "b.bin" does not exist in the inputs folder`: the code, the segment, the reason.
 * A peer journaled failed before reasons were kept has none.
 */
export function describePeerFailure(failure: PeerFailure | undefined): string {
  if (failure === undefined) return 'no reason recorded'
  const segment = failure.segment === undefined ? '' : ` (segment ${failure.segment})`
  return `${failure.code}${segment}: ${failure.message}`
}
