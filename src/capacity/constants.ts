/** Topic names are versioned; one pair of functions builds and parses them */
export const CAPACITY_TOPIC_PREFIX = 'proofmesh/capacity/'
export const CAPACITY_TOPIC_VERSION = 1

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
 * not one of ours. Gossip forwards every advert to every peer, so this is also the per-peer bandwidth bound.
 */
export const MAX_ADVERT_BYTES = 8 * 1024

/** Repeated-field caps handed to the protons decoder, so a hostile advert cannot allocate before we check it */
export const ADVERT_LIMITS = { gpus: 64, programs: 64, tags: 32, addrs: 32 }

export const MAX_NAME_LENGTH = 128
export const MAX_UNITS = 1_000_000

/** A sender's clock this far ahead of ours makes its advert suspect (Ignore, not Reject: clocks drift) */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000
