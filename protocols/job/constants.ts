/** `/proofmesh/job/1.0.0` (README.md): its id, caps and deadlines, each with its reason */
export const JOB_PROTOCOL = '/proofmesh/job/1.0.0'

/** A job frame carries at most a segment list and the contributions of every segment: 1 MiB is ample */
export const MAX_JOB_FRAME_BYTES = 1024 * 1024
/**
 * Most segments one job may have: AggregateRole carries a 32-byte contribution per segment in one frame of at
 * most MAX_JOB_FRAME_BYTES (1 MiB holds ~30,000); the layout of a 4 GiB input needs a few thousand
 */
export const MAX_SEGMENTS_PER_JOB = 16_384
/**
 * Segments one session may be assigned over its life: each segment once, and once more after a Forget (a move or
 * a backup copy). 40 Assigns of 16,384 segments on one lease took a worker from 113 MB to 718 MB; past this total
 * the session ends.
 */
export const MAX_ASSIGNED_PER_SESSION = 2 * MAX_SEGMENTS_PER_JOB
/**
 * Inputs and hints streams one session may have open at once: its submitter sends the slices of one Assign one
 * after another, beside the hints and a backup copy's slice; past this the stream is refused and the session ends
 */
export const MAX_SESSION_STREAMS = 16
/** Addresses a FetchProof may name for the peer holding a proof */
export const MAX_ADDRS_PER_PEER = 64

/** A reply must arrive within this time on a job stream that waits for one (Reserve → Reserved) */
export const JOB_REPLY_TIMEOUT_MS = 10_000
/**
 * A slice or the hints travel on their own streams and can overtake the Assign they belong to on the job stream;
 * they wait this long for it before they are refused as not assigned
 */
export const ASSIGN_WAIT_MS = 10_000

/**
 * A lease that has seen no Assign this long after Reserved ends, its units freed: a submitter that reserved and
 * never assigns (or keeps the units from others with keep-alives alone) holds them no longer. An honest submitter
 * assigns as soon as its plan is done, which runs between the two (hashing the input and writing the hints on its
 * own prover); a peer reserved as a spare that is never assigned loses only its place in that job.
 */
export const FIRST_ASSIGN_DEADLINE_MS = 5 * 60_000

/** Per connection: one job stream per job, so allow many */
export const MAX_JOB_STREAMS = 64
