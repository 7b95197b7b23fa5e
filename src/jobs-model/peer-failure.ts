import type { PeerFailure } from './types.js'

/**
 * `INPUT (segment 3): input "b.bin" does not exist in the inputs folder`: the code, the segment, the reason.
 * A peer journaled failed before reasons were kept has none. The operator's page loads this module's compiled
 * file as it is (GET /ui/jobs-model/peer-failure.js): it imports types only.
 */
export function describePeerFailure(failure: PeerFailure | undefined): string {
  if (failure === undefined) return 'no reason recorded'
  const segment = failure.segment === undefined ? '' : ` (segment ${failure.segment})`
  return `${failure.code}${segment}: ${failure.message}`
}
