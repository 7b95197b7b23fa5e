/** Topic names are versioned; one pair of functions builds and parses them */
export const CAPACITY_TOPIC_PREFIX = 'proofmesh/capacity/'
export const CAPACITY_TOPIC_VERSION = 2

export function capacityTopic(version: number = CAPACITY_TOPIC_VERSION): string {
  return `${CAPACITY_TOPIC_PREFIX}${version}`
}

export function parseCapacityTopic(topic: string): number | undefined {
  if (!topic.startsWith(CAPACITY_TOPIC_PREFIX)) return undefined
  const version = Number(topic.slice(CAPACITY_TOPIC_PREFIX.length))
  return Number.isInteger(version) && version > 0 ? version : undefined
}

/**
 * An advert with 64 GPUs, 64 programs and 32 tags at their length caps stays under 8 KiB; anything bigger is
 * not one of ours. A peer receives each advert of its neighbourhood (two hops: intake.ts) a few times at most, so
 * this also bounds its bandwidth per advert.
 */
export const MAX_ADVERT_BYTES = 8 * 1024

/** Repeated-field caps handed to the protons decoder, so a hostile advert cannot allocate before we check it */
export const ADVERT_LIMITS = { gpus: 64, programs: 64, tags: 32, addrs: 32 }

export const MAX_NAME_LENGTH = 128
/** As many as capacity.compute_units may be set to */
export const MAX_UNITS = 1_000_000

/**
 * Caps on what a peer says of its hardware, each well above any machine sold (the largest have under 2,000
 * hardware threads, 32 TiB of memory, GPUs of 288 GB): a figure beyond is a lie or a bug, rejected, so that no
 * table, metric or ranking ever carries 4,294,967,295 cores or 2^64 - 1 bytes
 */
export const MAX_CPU_CORES = 16_384
export const MAX_MEMORY_BYTES = 2n ** 48n
export const MAX_GPU_MEMORY_MIB = 2 ** 20
/** Jobs a peer works on at once; far above security.max_jobs_per_submitter times any realistic submitter count */
export const MAX_ACTIVE_JOBS = 65_536

/**
 * A sender's clock this far ahead of ours makes its advert suspect (Ignore, not Reject: clocks drift). Kept
 * short: an advert stamped ahead stays replayable that much longer once its peer has left.
 */
export const MAX_CLOCK_SKEW_MS = 30_000

/**
 * Adverts one origin peer may have accepted per advert interval, sustained: a token bucket per origin that holds
 * this many and refills at this rate. Our own publisher sends at most one advert per interval / this (timer,
 * changes and the first-neighbour advert alike), so an honest peer never runs dry; the full bucket absorbs
 * gossip's jitter (several adverts arriving together). A peer publishing faster has the excess ignored, and
 * gossipsub forwards no ignored message, so a flood stops at its first hop.
 */
export const ADVERTS_PER_INTERVAL = 4

/**
 * The window ADVERTS_PER_INTERVAL counts in, when the heartbeat is slower: adverts on change go out at once, so
 * a peer whose units change often publishes up to 4 per 5 s whatever its heartbeat, and no faster (a flood
 * still stops at its first hop).
 */
export const ADVERT_RATE_WINDOW_MS = 5_000

/** The window a peer of this heartbeat counts origin rates in (and spaces its own adverts by) */
export function advertRateWindowMs(advertIntervalMs: number): number {
  return Math.min(advertIntervalMs, ADVERT_RATE_WINDOW_MS)
}

/**
 * How long a receiver keeps an advert that names no TTL (ttl_ms 0: peers before the field existed advertised
 * every 5 s with a TTL of 3 intervals)
 */
export const LEGACY_ADVERT_TTL_MS = 15_000

/**
 * The longest TTL a receiver grants an advert, whatever it claims: a peer that crashed stays listed this long
 * at most (its neighbours drop it sooner, when its connection closes). Four times the default TTL (2 × 15 s).
 */
export const MAX_ADVERT_TTL_MS = 120_000

/** How long an advert of this peer is kept by receivers: what it says, capped; the legacy TTL when it says nothing */
export function advertTtlMs(advert: { ttlMs: number }): number {
  return advert.ttlMs === 0 ? LEGACY_ADVERT_TTL_MS : Math.min(advert.ttlMs, MAX_ADVERT_TTL_MS)
}

/**
 * Peers the capacity table lists at once: a proving network has tens to hundreds of peers; each entry is an
 * advert of at most 8 KiB (a few hundred bytes in practice). A new peer past this is ignored until others expire.
 */
export const MAX_PEERS = 4_096

/**
 * Origins whose bucket is remembered; past this the least recently heard one is forgotten (it comes back with a
 * full bucket), so many peer ids cannot grow the map without bound. A proving network has tens to hundreds of
 * peers; each entry is about 200 bytes.
 */
export const MAX_RATE_LIMITED_ORIGINS = 4_096
