import type { CapacityAdvert } from '../../src/capacity/advert.js'

/** A valid advert of a modest CPU peer; tests override what they exercise */
export function makeAdvert(fields: Partial<CapacityAdvert> = {}): CapacityAdvert {
  return {
    seq: BigInt(Date.now()),
    timestampMs: BigInt(Date.now()),
    unitsTotal: 8,
    unitsFree: 8,
    gpus: [],
    cpuCores: 8,
    memoryBytes: 0n,
    proverName: '',
    proverVersion: '',
    proverBackend: '',
    programs: [],
    tags: [],
    activeJobs: 0,
    version: 'test',
    addrs: [],
    ttlMs: 0,
    ...fields
  }
}
