/** `/proofmesh/status/1.0.0` (README.md): its id, cap, deadline and stream caps */
export const STATUS_PROTOCOL = '/proofmesh/status/1.0.0'

/** A PeerStatus carries one advert (≤ 8 KiB) and up to a few dozen addresses */
export const MAX_STATUS_BYTES = 64 * 1024

/** The whole exchange, dial included; a healthy peer answers in milliseconds */
export const STATUS_TIMEOUT_MS = 10_000

/** Status is cheap but unauthenticated: bound how many a peer may have open at once */
export const MAX_INBOUND_STREAMS = 4
export const MAX_OUTBOUND_STREAMS = 4
