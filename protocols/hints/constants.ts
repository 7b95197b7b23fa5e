/** `/proofmesh/hints/1.0.0` (README.md): its caps; the header cap, deadline and stream caps are ../bulk's */
export const HINTS_PROTOCOL = '/proofmesh/hints/1.0.0'

/** One hints chunk's data */
export const MAX_HINTS_CHUNK_BYTES = 64 * 1024
/** One HintsChunk frame: a chunk's data and the few fields around it */
export const MAX_HINTS_FRAME_BYTES = MAX_HINTS_CHUNK_BYTES + 256
/**
 * Hints chunks one stream may deliver per second (one second's worth may come at once). Each chunk costs a decode,
 * a sink write and a wake-up whatever its size: without a cap a peer could keep another busy with a flood of
 * tiny chunks. 2000/s is 128 MiB/s at full 64 KiB chunks, far above what the hints of a job need (the reference
 * prover writes ~250 bytes per segment); a stream over it is failed.
 */
export const MAX_HINTS_CHUNKS_PER_SECOND = 2000
/** Hints larger than this are refused (the reference prover writes ~250 bytes per segment) */
export const MAX_HINTS_BYTES = 256 * 1024 * 1024
