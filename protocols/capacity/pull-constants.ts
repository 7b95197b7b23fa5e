/** `/proofmesh/capacity-pull/1.0.0` (PULL.md): its id, caps, deadlines and rates */
export const PULL_PROTOCOL = '/proofmesh/capacity-pull/1.0.0'

/** Peers named in a request's exclusions: a job's own candidates are a few dozen at most (jobs.max_peers_per_job) */
export const MAX_PULL_EXCLUDE = 64

/** A request: the topic and program names (≤ 128 characters each) and 64 exclusions of ≤ 42 bytes: ~3 KiB */
export const MAX_PULL_REQUEST_BYTES = 4 * 1024

/**
 * Adverts in one answer: 16 peers at 10 units each is 160 units, more than two 64-unit jobs, and three answers
 * (PULL_FANOUT) give 48 candidates: enough for any job's peer cap (jobs.max_peers_per_job, 16 by default)
 */
export const MAX_PULL_ADVERTS = 16

/**
 * An answer's bytes: an advert encodes to ~150-400 bytes with its addresses (8 KiB at most), its envelope adds
 * ~150; 64 KiB holds 16 typical ones and a few large ones, and is what a peer can make an asker read per pull
 */
export const MAX_PULL_RESPONSE_BYTES = 64 * 1024

/**
 * The whole exchange on the asker's side, stream opening included: the peers asked are neighbours (a connection is
 * open) and an answer is one table scan, milliseconds; a saturated host stalled up to 3.4 s (job/reserve.ts), and
 * a pull is worth waiting for only while it is quicker than a job's queue poll gives up on the table
 */
export const PULL_TIMEOUT_MS = 2_000

/** The answerer's own deadline on reading the request and sending the answer */
export const PULL_SERVE_TIMEOUT_MS = 2_000

/** One pull at a time per connection, each way: an asker asks a peer once per round */
export const MAX_INBOUND_STREAMS = 1
export const MAX_OUTBOUND_STREAMS = 1

/** Pulls answered at once, all peers together: each costs a table scan and up to 64 KiB of answer */
export const MAX_PULLS_SERVING = 8

/**
 * Pulls answered per asking peer: 4 at once, then one per 2.5 s. A job pulls at most MAX_PULL_ROUNDS rounds of
 * PULL_FANOUT peers, so an honest submitter asks one peer at most twice per job; a peer past the rate is answered
 * with nothing (it pays the round trip, we pay no table scan)
 */
export const PULL_BURST = 4
export const PULL_RATE_WINDOW_MS = 10_000

/** Neighbours asked at once in one round: three answers are one round trip, and 48 candidates (MAX_PULL_ADVERTS) */
export const PULL_FANOUT = 3

/** Pull rounds per job: a second round asks three other neighbours when the first three had too little */
export const MAX_PULL_ROUNDS = 2
