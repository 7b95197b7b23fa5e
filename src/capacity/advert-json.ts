import { multiaddr } from '@multiformats/multiaddr'
import type { CapacityAdvert } from './advert.js'

/** The JSON form of an advert, for the local API and `--json` output (bigints become numbers or strings) */
export interface CapacityJson {
  seq: string
  time: string
  unitsTotal: number
  unitsFree: number
  gpus: Array<{
    index: number
    name: string
    memoryTotalMiB: number
    memoryUsedMiB: number
    utilizationPercent: number
  }>
  cpuCores: number
  memoryBytes: number
  /** backend: 'npp' proves segments of jobs, 'cli' only whole jobs (one peer per job) */
  prover: { name: string; version: string; backend: string } | null
  programs: string[]
  tags: string[]
  activeJobs: number
  version: string
  addrs: string[]
}

export function advertToJson(advert: CapacityAdvert): CapacityJson {
  return {
    seq: advert.seq.toString(),
    time: new Date(Number(advert.timestampMs)).toISOString(),
    unitsTotal: advert.unitsTotal,
    unitsFree: advert.unitsFree,
    gpus: advert.gpus.map((gpu) => ({
      index: gpu.index,
      name: gpu.name,
      memoryTotalMiB: gpu.memoryTotalMib,
      memoryUsedMiB: gpu.memoryUsedMib,
      utilizationPercent: gpu.utilizationPercent
    })),
    cpuCores: advert.cpuCores,
    memoryBytes: Number(advert.memoryBytes),
    prover:
      advert.proverName === ''
        ? null
        : { name: advert.proverName, version: advert.proverVersion, backend: advertBackend(advert) },
    programs: advert.programs,
    tags: advert.tags,
    activeJobs: advert.activeJobs,
    version: advert.version,
    addrs: advert.addrs.map((bytes) => multiaddr(bytes).toString())
  }
}

/** An advert's prover backend; older peers leave it empty and have only ever run npp */
export function advertBackend(advert: CapacityAdvert): string {
  return advert.proverBackend === '' ? 'npp' : advert.proverBackend
}
