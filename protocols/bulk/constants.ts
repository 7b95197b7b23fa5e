/** What the inputs, hints and proof protocols share: a small protobuf header, then bulk bytes, then a verdict */

/** Headers and acknowledgements of the bulk protocols are a few dozen bytes */
export const MAX_HEADER_BYTES = 4 * 1024

/** Raw bulk data received is taken from the stream and written to its file in pieces of up to this size */
export const BULK_CHUNK_BYTES = 1024 * 1024

/**
 * A bulk stream's opening frame must arrive within this time; the bytes after it are bounded by the job's own
 * life (its session ends on Release, Cancel or lease expiry), as a large slice may take longer than any fixed time
 */
export const BULK_IDLE_TIMEOUT_MS = 30_000

/** Per connection and protocol: bulk streams run a few at a time */
export const MAX_BULK_STREAMS = 16
