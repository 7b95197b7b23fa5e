import { multiaddr } from '@multiformats/multiaddr'
import { CapacityAdvert } from '../../protocols/capacity/pb/capacity.js'
import { ADVERT_LIMITS, MAX_ADVERT_BYTES, MAX_NAME_LENGTH, MAX_UNITS } from './constants.js'

export { CapacityAdvert } from '../../protocols/capacity/pb/capacity.js'

/** Why an advert was not accepted; `reject` penalises the sender in gossipsub's score, `ignore` does not */
export type AdvertVerdict = 'reject' | 'ignore'

export class AdvertValidationError extends Error {
  readonly verdict: AdvertVerdict
  readonly reason: string

  constructor(verdict: AdvertVerdict, reason: string, detail: string) {
    super(detail)
    this.name = 'AdvertValidationError'
    this.verdict = verdict
    this.reason = reason
  }
}

const reject = (reason: string, detail: string): AdvertValidationError =>
  new AdvertValidationError('reject', reason, detail)

export function encodeAdvert(advert: CapacityAdvert): Uint8Array {
  return CapacityAdvert.encode(advert)
}

export interface AdvertContext {
  /** The sequence number of the newest advert we hold from this peer */
  lastSeq?: bigint
  /** Our clock, in Unix ms */
  now?: number
  /**
   * An advert stamped longer ago than this is ignored (the gossip validator passes the peer TTL): a replayed
   * advert of a peer that left must not bring it back.
   */
  maxAgeMs?: number
  /** An advert stamped further ahead of our clock than this is ignored (the gossip validator: MAX_CLOCK_SKEW_MS) */
  maxAheadMs?: number
}

/**
 * Decodes and checks an advert's fields. Throws AdvertValidationError: malformed, oversize or out of range
 * is `reject`; a sequence number not after `lastSeq`, or a timestamp older than `maxAgeMs` or further ahead than
 * `maxAheadMs`, is `ignore`. The time rules apply only when named: an advert in a status reply was asked for,
 * and a peer whose clock drifted still answers.
 */
export function decodeAdvert(data: Uint8Array, context: AdvertContext = {}): CapacityAdvert {
  if (data.byteLength > MAX_ADVERT_BYTES) {
    throw reject('oversize', `advert of ${data.byteLength} bytes exceeds ${MAX_ADVERT_BYTES}`)
  }
  let advert: CapacityAdvert
  try {
    advert = CapacityAdvert.decode(data, { limits: ADVERT_LIMITS })
  } catch (err) {
    throw reject('malformed', `advert does not decode: ${(err as Error).message}`)
  }
  checkRanges(advert)
  if (context.lastSeq !== undefined && advert.seq <= context.lastSeq) {
    throw new AdvertValidationError('ignore', 'stale', `seq ${advert.seq} is not after ${context.lastSeq}`)
  }
  const now = context.now ?? Date.now()
  const stamped = Number(advert.timestampMs)
  if (context.maxAheadMs !== undefined && stamped > now + context.maxAheadMs) {
    throw new AdvertValidationError('ignore', 'future', `timestamp ${advert.timestampMs} is ahead of ${now}`)
  }
  if (context.maxAgeMs !== undefined && stamped < now - context.maxAgeMs) {
    throw new AdvertValidationError(
      'ignore',
      'stale_time',
      `timestamp ${advert.timestampMs} is more than ${context.maxAgeMs} ms before ${now}`
    )
  }
  return advert
}

function checkRanges(advert: CapacityAdvert): void {
  if (advert.seq === 0n) throw reject('range', 'seq must be positive')
  if (advert.unitsTotal > MAX_UNITS) throw reject('range', `units_total ${advert.unitsTotal} > ${MAX_UNITS}`)
  if (advert.unitsFree > advert.unitsTotal) {
    throw reject('range', `units_free ${advert.unitsFree} > units_total ${advert.unitsTotal}`)
  }
  for (const gpu of advert.gpus) {
    if (gpu.name.length > MAX_NAME_LENGTH) throw reject('range', 'gpu name too long')
    if (gpu.utilizationPercent > 100) throw reject('range', `gpu utilization ${gpu.utilizationPercent} > 100`)
    if (gpu.memoryUsedMib > gpu.memoryTotalMib) throw reject('range', 'gpu memory used > total')
  }
  const names = [advert.proverName, advert.proverVersion, advert.version, ...advert.programs, ...advert.tags]
  if (names.some((name) => name.length > MAX_NAME_LENGTH)) {
    throw reject('range', `a name is longer than ${MAX_NAME_LENGTH} characters`)
  }
  for (const addr of advert.addrs) {
    try {
      multiaddr(addr)
    } catch {
      throw reject('malformed', 'an address is not a multiaddr')
    }
  }
}
