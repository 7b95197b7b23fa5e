/** `/proofmesh/proof/1.0.0` (README.md): its cap; the header cap, deadline and stream caps are ../bulk's */
export const PROOF_PROTOCOL = '/proofmesh/proof/1.0.0'

/** A partial or final proof larger than this is refused */
export const MAX_PROOF_BYTES = 1024 * 1024 * 1024
