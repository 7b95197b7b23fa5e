/** The job path's wire protocols (protocols/<name>/README.md), their caps and deadlines */

export const JOB_PROTOCOL = '/proofmesh/job/1.0.0'
export const INPUTS_PROTOCOL = '/proofmesh/inputs/1.0.0'
export const HINTS_PROTOCOL = '/proofmesh/hints/1.0.0'
export const PROOF_PROTOCOL = '/proofmesh/proof/1.0.0'

/** A job frame carries at most a segment list and the contributions of every segment: 1 MiB is ample */
export const MAX_JOB_FRAME_BYTES = 1024 * 1024
/** Headers and acknowledgements of the bulk protocols are a few dozen bytes */
export const MAX_HEADER_BYTES = 4 * 1024
/** One hints chunk */
export const MAX_HINTS_CHUNK_BYTES = 64 * 1024
/**
 * Hints chunks one stream may deliver per second (one second's worth may come at once). Each chunk costs a decode,
 * a sink write and a wake-up whatever its size: without a cap a peer could keep another busy with a flood of
 * tiny chunks. 2000/s is 128 MiB/s at full 64 KiB chunks, far above what the hints of a job need (the reference
 * prover writes ~250 bytes per segment); a stream over it is failed.
 */
export const MAX_HINTS_CHUNKS_PER_SECOND = 2000
/** Hints larger than this are refused (the reference prover writes ~250 bytes per segment) */
export const MAX_HINTS_BYTES = 256 * 1024 * 1024
/** A partial or final proof larger than this is refused */
export const MAX_PROOF_BYTES = 1024 * 1024 * 1024
/**
 * Most segments one job may have: AggregateRole carries a 32-byte contribution per segment in one frame of at
 * most MAX_JOB_FRAME_BYTES (1 MiB holds ~30,000); the layout of a 4 GiB input needs a few thousand
 */
export const MAX_SEGMENTS_PER_JOB = 16_384
/** Addresses a FetchProof may name for the peer holding a proof */
export const MAX_ADDRS_PER_PEER = 64

/** Raw bulk data received is taken from the stream and written to its file in pieces of up to this size */
export const BULK_CHUNK_BYTES = 1024 * 1024

/**
 * Raw bulk data is read from its file and sent in pieces of this size. One send() goes through yamux, noise and
 * into the socket in one synchronous pass, and what the socket does not take at once waits in buffers on the
 * JS heap: with 1 MiB pieces those lived long enough to reach V8's old generation, and a 256 MiB slice cost 13-16
 * full (mark-compact) collections and ~10% more CPU per MiB; with 256 KiB pieces none (test/bench/inputs-throughput,
 * full_gcs). Smaller pieces cost more CPU again (64 KiB: +35%).
 */
export const BULK_SEND_CHUNK_BYTES = 256 * 1024

/**
 * A slice or the hints travel on their own streams and can overtake the Assign they belong to on the job stream;
 * they wait this long for it before they are refused as not assigned
 */
export const ASSIGN_WAIT_MS = 10_000
/** A reply must arrive within this time on a job stream that waits for one (Reserve → Reserved) */
export const JOB_REPLY_TIMEOUT_MS = 10_000
/**
 * A bulk stream's opening frame must arrive within this time; the bytes after it are bounded by the job's own
 * life (its session ends on Release, Cancel or lease expiry), as a large slice may take longer than any fixed time
 */
export const BULK_IDLE_TIMEOUT_MS = 30_000

/** Per connection: one job stream per job, so allow many; bulk streams run a few at a time */
export const MAX_JOB_STREAMS = 64
export const MAX_BULK_STREAMS = 16
