import { CODE_P2P, CODE_P2P_CIRCUIT, type Multiaddr, multiaddr } from '@multiformats/multiaddr'
import { CapacityAdvert } from '../../protocols/capacity/pb/capacity.js'
import { AdvertValidationError } from './advert-error.js'
import { checkAdvertWire } from './advert-wire.js'
import {
  ADVERT_LIMITS,
  MAX_ACTIVE_JOBS,
  MAX_ADVERT_BYTES,
  MAX_CPU_CORES,
  MAX_GPU_MEMORY_MIB,
  MAX_MEMORY_BYTES,
  MAX_NAME_LENGTH,
  MAX_UNITS
} from './constants.js'
import '../net/uint64-wire.js'

export { CapacityAdvert } from '../../protocols/capacity/pb/capacity.js'
export { AdvertValidationError, type AdvertVerdict } from './advert-error.js'

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
   * An advert stamped longer ago than this is ignored (the gossip validator passes the advert's own TTL:
   * advertTtlMs): a replayed advert of a peer that left must not bring it back.
   */
  maxAgeMs?: number | ((advert: CapacityAdvert) => number)
  /** An advert stamped further ahead of our clock than this is ignored (the gossip validator: MAX_CLOCK_SKEW_MS) */
  maxAheadMs?: number
  /**
   * The peer id that signed the advert: an address naming another peer (`/p2p/<someone else>`) is rejected, so
   * that nobody can make submitters dial a third party in its name
   */
  signer?: string
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
  checkAdvertWire(data)
  let advert: CapacityAdvert
  try {
    advert = CapacityAdvert.decode(data, { limits: ADVERT_LIMITS })
  } catch (err) {
    throw reject('malformed', `advert does not decode: ${(err as Error).message}`)
  }
  checkRanges(advert, context.signer)
  if (context.lastSeq !== undefined && advert.seq <= context.lastSeq) {
    throw new AdvertValidationError('ignore', 'stale', `seq ${advert.seq} is not after ${context.lastSeq}`)
  }
  const now = context.now ?? Date.now()
  const stamped = Number(advert.timestampMs)
  if (context.maxAheadMs !== undefined && stamped > now + context.maxAheadMs) {
    throw new AdvertValidationError('ignore', 'future', `timestamp ${advert.timestampMs} is ahead of ${now}`)
  }
  const maxAgeMs = typeof context.maxAgeMs === 'function' ? context.maxAgeMs(advert) : context.maxAgeMs
  if (maxAgeMs !== undefined && stamped < now - maxAgeMs) {
    throw new AdvertValidationError(
      'ignore',
      'stale_time',
      `timestamp ${advert.timestampMs} is more than ${maxAgeMs} ms before ${now}`
    )
  }
  return advert
}

function checkRanges(advert: CapacityAdvert, signer: string | undefined): void {
  if (advert.seq === 0n) throw reject('range', 'seq must be positive')
  if (advert.unitsTotal > MAX_UNITS) throw reject('range', `units_total ${advert.unitsTotal} > ${MAX_UNITS}`)
  if (advert.unitsFree > advert.unitsTotal) {
    throw reject('range', `units_free ${advert.unitsFree} > units_total ${advert.unitsTotal}`)
  }
  if (advert.cpuCores > MAX_CPU_CORES)
    throw reject('range', `cpu_cores ${advert.cpuCores} > ${MAX_CPU_CORES}`)
  if (advert.memoryBytes > MAX_MEMORY_BYTES) {
    throw reject('range', `memory_bytes ${advert.memoryBytes} > ${MAX_MEMORY_BYTES}`)
  }
  if (advert.activeJobs > MAX_ACTIVE_JOBS) {
    throw reject('range', `active_jobs ${advert.activeJobs} > ${MAX_ACTIVE_JOBS}`)
  }
  const indexes = new Set<number>()
  for (const gpu of advert.gpus) {
    if (gpu.index >= ADVERT_LIMITS.gpus)
      throw reject('range', `gpu index ${gpu.index} >= ${ADVERT_LIMITS.gpus}`)
    if (indexes.has(gpu.index)) throw reject('range', `gpu index ${gpu.index} listed twice`)
    indexes.add(gpu.index)
    if (gpu.name.length > MAX_NAME_LENGTH) throw reject('range', 'gpu name too long')
    if (gpu.utilizationPercent > 100) throw reject('range', `gpu utilization ${gpu.utilizationPercent} > 100`)
    if (gpu.memoryTotalMib > MAX_GPU_MEMORY_MIB) {
      throw reject('range', `gpu memory ${gpu.memoryTotalMib} MiB > ${MAX_GPU_MEMORY_MIB}`)
    }
    if (gpu.memoryUsedMib > gpu.memoryTotalMib) throw reject('range', 'gpu memory used > total')
  }
  const names = [
    advert.proverName,
    advert.proverVersion,
    advert.proverBackend,
    advert.version,
    ...advert.programs,
    ...advert.tags
  ]
  if (names.some((name) => name.length > MAX_NAME_LENGTH)) {
    throw reject('range', `a name is longer than ${MAX_NAME_LENGTH} characters`)
  }
  for (const bytes of advert.addrs) {
    let addr: Multiaddr
    try {
      addr = multiaddr(bytes)
    } catch {
      throw reject('malformed', 'an address is not a multiaddr')
    }
    if (signer !== undefined && !addressOf(addr, signer)) {
      throw reject('address', `an address names another peer than its signer: ${addr.toString()}`)
    }
  }
}

/**
 * Whether an address may be the signer's own: it names no peer, or its last peer id is the signer's and every
 * other one is a relay (followed by /p2p-circuit)
 */
export function addressOf(addr: Multiaddr, signer: string): boolean {
  const components = addr.getComponents()
  const peers = components.flatMap((component, i) => (component.code === CODE_P2P ? [i] : []))
  if (peers.length === 0) return true
  const last = peers[peers.length - 1] as number
  if (components[last]?.value !== signer) return false
  return peers.slice(0, -1).every((i) => components[i + 1]?.code === CODE_P2P_CIRCUIT)
}
