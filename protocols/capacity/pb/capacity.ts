import { decodeMessage, encodeMessage, MaxLengthError, message, streamMessage } from 'protons-runtime'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface CapacityAdvert {
  seq: bigint
  timestampMs: bigint
  unitsTotal: number
  unitsFree: number
  gpus: Gpu[]
  cpuCores: number
  memoryBytes: bigint
  proverName: string
  proverVersion: string
  programs: string[]
  tags: string[]
  activeJobs: number
  version: string
  addrs: Uint8Array<ArrayBuffer>[]
  proverBackend: string
  ttlMs: number
}

export namespace CapacityAdvert {
  let _codec: Codec<CapacityAdvert>

  export const codec = (): Codec<CapacityAdvert> => {
    if (_codec == null) {
      _codec = message<CapacityAdvert>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.seq != null && obj.seq !== 0n)) {
          w.uint32(8)
          w.uint64(obj.seq)
        }

        if ((obj.timestampMs != null && obj.timestampMs !== 0n)) {
          w.uint32(16)
          w.uint64(obj.timestampMs)
        }

        if ((obj.unitsTotal != null && obj.unitsTotal !== 0)) {
          w.uint32(24)
          w.uint32(obj.unitsTotal)
        }

        if ((obj.unitsFree != null && obj.unitsFree !== 0)) {
          w.uint32(32)
          w.uint32(obj.unitsFree)
        }

        if (obj.gpus != null && obj.gpus.length > 0) {
          for (const value of obj.gpus) {
            w.uint32(42)
            Gpu.codec().encode(value, w)
          }
        }

        if ((obj.cpuCores != null && obj.cpuCores !== 0)) {
          w.uint32(48)
          w.uint32(obj.cpuCores)
        }

        if ((obj.memoryBytes != null && obj.memoryBytes !== 0n)) {
          w.uint32(56)
          w.uint64(obj.memoryBytes)
        }

        if ((obj.proverName != null && obj.proverName !== '')) {
          w.uint32(66)
          w.string(obj.proverName)
        }

        if ((obj.proverVersion != null && obj.proverVersion !== '')) {
          w.uint32(74)
          w.string(obj.proverVersion)
        }

        if (obj.programs != null && obj.programs.length > 0) {
          for (const value of obj.programs) {
            w.uint32(82)
            w.string(value)
          }
        }

        if (obj.tags != null && obj.tags.length > 0) {
          for (const value of obj.tags) {
            w.uint32(90)
            w.string(value)
          }
        }

        if ((obj.activeJobs != null && obj.activeJobs !== 0)) {
          w.uint32(96)
          w.uint32(obj.activeJobs)
        }

        if ((obj.version != null && obj.version !== '')) {
          w.uint32(106)
          w.string(obj.version)
        }

        if (obj.addrs != null && obj.addrs.length > 0) {
          for (const value of obj.addrs) {
            w.uint32(114)
            w.bytes(value)
          }
        }

        if ((obj.proverBackend != null && obj.proverBackend !== '')) {
          w.uint32(122)
          w.string(obj.proverBackend)
        }

        if ((obj.ttlMs != null && obj.ttlMs !== 0)) {
          w.uint32(128)
          w.uint32(obj.ttlMs)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          seq: 0n,
          timestampMs: 0n,
          unitsTotal: 0,
          unitsFree: 0,
          gpus: [],
          cpuCores: 0,
          memoryBytes: 0n,
          proverName: '',
          proverVersion: '',
          programs: [],
          tags: [],
          activeJobs: 0,
          version: '',
          addrs: [],
          proverBackend: '',
          ttlMs: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.seq = reader.uint64()
              break
            }
            case 2: {
              obj.timestampMs = reader.uint64()
              break
            }
            case 3: {
              obj.unitsTotal = reader.uint32()
              break
            }
            case 4: {
              obj.unitsFree = reader.uint32()
              break
            }
            case 5: {
              if (opts.limits?.gpus != null && obj.gpus.length === opts.limits.gpus) {
                throw new MaxLengthError('Decode error - repeated field "gpus" had too many elements')
              }

              obj.gpus.push(Gpu.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.gpus$
              }))
              break
            }
            case 6: {
              obj.cpuCores = reader.uint32()
              break
            }
            case 7: {
              obj.memoryBytes = reader.uint64()
              break
            }
            case 8: {
              obj.proverName = reader.string()
              break
            }
            case 9: {
              obj.proverVersion = reader.string()
              break
            }
            case 10: {
              if (opts.limits?.programs != null && obj.programs.length === opts.limits.programs) {
                throw new MaxLengthError('Decode error - repeated field "programs" had too many elements')
              }

              obj.programs.push(reader.string())
              break
            }
            case 11: {
              if (opts.limits?.tags != null && obj.tags.length === opts.limits.tags) {
                throw new MaxLengthError('Decode error - repeated field "tags" had too many elements')
              }

              obj.tags.push(reader.string())
              break
            }
            case 12: {
              obj.activeJobs = reader.uint32()
              break
            }
            case 13: {
              obj.version = reader.string()
              break
            }
            case 14: {
              if (opts.limits?.addrs != null && obj.addrs.length === opts.limits.addrs) {
                throw new MaxLengthError('Decode error - repeated field "addrs" had too many elements')
              }

              obj.addrs.push(reader.bytes())
              break
            }
            case 15: {
              obj.proverBackend = reader.string()
              break
            }
            case 16: {
              obj.ttlMs = reader.uint32()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          gpus: 0,
          programs: 0,
          tags: 0,
          addrs: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.seq`,
                value: reader.uint64()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.timestampMs`,
                value: reader.uint64()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.unitsTotal`,
                value: reader.uint32()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.unitsFree`,
                value: reader.uint32()
              }
              break
            }
            case 5: {
              if (opts.limits?.gpus != null && obj.gpus === opts.limits.gpus) {
                throw new MaxLengthError('Streaming decode error - repeated field "gpus" had too many elements')
              }

              for (const evt of Gpu.codec().stream(reader, reader.uint32(), `${prefix}.gpus[]`, {
                limits: opts.limits?.gpus$
              })) {
                yield {
                  ...evt,
                  index: obj.gpus
                }
              }

              obj.gpus++

              break
            }
            case 6: {
              yield {
                field: `${prefix}.cpuCores`,
                value: reader.uint32()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.memoryBytes`,
                value: reader.uint64()
              }
              break
            }
            case 8: {
              yield {
                field: `${prefix}.proverName`,
                value: reader.string()
              }
              break
            }
            case 9: {
              yield {
                field: `${prefix}.proverVersion`,
                value: reader.string()
              }
              break
            }
            case 10: {
              if (opts.limits?.programs != null && obj.programs === opts.limits.programs) {
                throw new MaxLengthError('Streaming decode error - repeated field "programs" had too many elements')
              }

              yield {
                field: `${prefix}.programs[]`,
                index: obj.programs,
                value: reader.string()
              }

              obj.programs++

              break
            }
            case 11: {
              if (opts.limits?.tags != null && obj.tags === opts.limits.tags) {
                throw new MaxLengthError('Streaming decode error - repeated field "tags" had too many elements')
              }

              yield {
                field: `${prefix}.tags[]`,
                index: obj.tags,
                value: reader.string()
              }

              obj.tags++

              break
            }
            case 12: {
              yield {
                field: `${prefix}.activeJobs`,
                value: reader.uint32()
              }
              break
            }
            case 13: {
              yield {
                field: `${prefix}.version`,
                value: reader.string()
              }
              break
            }
            case 14: {
              if (opts.limits?.addrs != null && obj.addrs === opts.limits.addrs) {
                throw new MaxLengthError('Streaming decode error - repeated field "addrs" had too many elements')
              }

              yield {
                field: `${prefix}.addrs[]`,
                index: obj.addrs,
                value: reader.bytes()
              }

              obj.addrs++

              break
            }
            case 15: {
              yield {
                field: `${prefix}.proverBackend`,
                value: reader.string()
              }
              break
            }
            case 16: {
              yield {
                field: `${prefix}.ttlMs`,
                value: reader.uint32()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface CapacityAdvertSeqFieldEvent {
    field: '$.seq'
    value: bigint
  }

  export interface CapacityAdvertTimestampMsFieldEvent {
    field: '$.timestampMs'
    value: bigint
  }

  export interface CapacityAdvertUnitsTotalFieldEvent {
    field: '$.unitsTotal'
    value: number
  }

  export interface CapacityAdvertUnitsFreeFieldEvent {
    field: '$.unitsFree'
    value: number
  }

  export interface CapacityAdvertGpusIndexFieldEvent {
    field: '$.gpus[].index'
    value: number
    index: number
  }

  export interface CapacityAdvertGpusNameFieldEvent {
    field: '$.gpus[].name'
    value: string
    index: number
  }

  export interface CapacityAdvertGpusMemoryTotalMibFieldEvent {
    field: '$.gpus[].memoryTotalMib'
    value: number
    index: number
  }

  export interface CapacityAdvertGpusMemoryUsedMibFieldEvent {
    field: '$.gpus[].memoryUsedMib'
    value: number
    index: number
  }

  export interface CapacityAdvertGpusUtilizationPercentFieldEvent {
    field: '$.gpus[].utilizationPercent'
    value: number
    index: number
  }

  export interface CapacityAdvertCpuCoresFieldEvent {
    field: '$.cpuCores'
    value: number
  }

  export interface CapacityAdvertMemoryBytesFieldEvent {
    field: '$.memoryBytes'
    value: bigint
  }

  export interface CapacityAdvertProverNameFieldEvent {
    field: '$.proverName'
    value: string
  }

  export interface CapacityAdvertProverVersionFieldEvent {
    field: '$.proverVersion'
    value: string
  }

  export interface CapacityAdvertProgramsFieldEvent {
    field: '$.programs[]'
    index: number
    value: string
  }

  export interface CapacityAdvertTagsFieldEvent {
    field: '$.tags[]'
    index: number
    value: string
  }

  export interface CapacityAdvertActiveJobsFieldEvent {
    field: '$.activeJobs'
    value: number
  }

  export interface CapacityAdvertVersionFieldEvent {
    field: '$.version'
    value: string
  }

  export interface CapacityAdvertAddrsFieldEvent {
    field: '$.addrs[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export interface CapacityAdvertProverBackendFieldEvent {
    field: '$.proverBackend'
    value: string
  }

  export interface CapacityAdvertTtlMsFieldEvent {
    field: '$.ttlMs'
    value: number
  }

  export function encode (obj: Partial<CapacityAdvert>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, CapacityAdvert.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<CapacityAdvert>): CapacityAdvert {
    return decodeMessage(buf, CapacityAdvert.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<CapacityAdvert>): Generator<CapacityAdvertSeqFieldEvent | CapacityAdvertTimestampMsFieldEvent | CapacityAdvertUnitsTotalFieldEvent | CapacityAdvertUnitsFreeFieldEvent | CapacityAdvertGpusIndexFieldEvent | CapacityAdvertGpusNameFieldEvent | CapacityAdvertGpusMemoryTotalMibFieldEvent | CapacityAdvertGpusMemoryUsedMibFieldEvent | CapacityAdvertGpusUtilizationPercentFieldEvent | CapacityAdvertCpuCoresFieldEvent | CapacityAdvertMemoryBytesFieldEvent | CapacityAdvertProverNameFieldEvent | CapacityAdvertProverVersionFieldEvent | CapacityAdvertProgramsFieldEvent | CapacityAdvertTagsFieldEvent | CapacityAdvertActiveJobsFieldEvent | CapacityAdvertVersionFieldEvent | CapacityAdvertAddrsFieldEvent | CapacityAdvertProverBackendFieldEvent | CapacityAdvertTtlMsFieldEvent> {
    return streamMessage(buf, CapacityAdvert.codec(), opts)
  }
}

export interface Gpu {
  index: number
  name: string
  memoryTotalMib: number
  memoryUsedMib: number
  utilizationPercent: number
}

export namespace Gpu {
  let _codec: Codec<Gpu>

  export const codec = (): Codec<Gpu> => {
    if (_codec == null) {
      _codec = message<Gpu>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.index != null && obj.index !== 0)) {
          w.uint32(8)
          w.uint32(obj.index)
        }

        if ((obj.name != null && obj.name !== '')) {
          w.uint32(18)
          w.string(obj.name)
        }

        if ((obj.memoryTotalMib != null && obj.memoryTotalMib !== 0)) {
          w.uint32(24)
          w.uint32(obj.memoryTotalMib)
        }

        if ((obj.memoryUsedMib != null && obj.memoryUsedMib !== 0)) {
          w.uint32(32)
          w.uint32(obj.memoryUsedMib)
        }

        if ((obj.utilizationPercent != null && obj.utilizationPercent !== 0)) {
          w.uint32(40)
          w.uint32(obj.utilizationPercent)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          index: 0,
          name: '',
          memoryTotalMib: 0,
          memoryUsedMib: 0,
          utilizationPercent: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.index = reader.uint32()
              break
            }
            case 2: {
              obj.name = reader.string()
              break
            }
            case 3: {
              obj.memoryTotalMib = reader.uint32()
              break
            }
            case 4: {
              obj.memoryUsedMib = reader.uint32()
              break
            }
            case 5: {
              obj.utilizationPercent = reader.uint32()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.index`,
                value: reader.uint32()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.name`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.memoryTotalMib`,
                value: reader.uint32()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.memoryUsedMib`,
                value: reader.uint32()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.utilizationPercent`,
                value: reader.uint32()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface GpuIndexFieldEvent {
    field: '$.index'
    value: number
  }

  export interface GpuNameFieldEvent {
    field: '$.name'
    value: string
  }

  export interface GpuMemoryTotalMibFieldEvent {
    field: '$.memoryTotalMib'
    value: number
  }

  export interface GpuMemoryUsedMibFieldEvent {
    field: '$.memoryUsedMib'
    value: number
  }

  export interface GpuUtilizationPercentFieldEvent {
    field: '$.utilizationPercent'
    value: number
  }

  export function encode (obj: Partial<Gpu>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Gpu.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Gpu>): Gpu {
    return decodeMessage(buf, Gpu.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Gpu>): Generator<GpuIndexFieldEvent | GpuNameFieldEvent | GpuMemoryTotalMibFieldEvent | GpuMemoryUsedMibFieldEvent | GpuUtilizationPercentFieldEvent> {
    return streamMessage(buf, Gpu.codec(), opts)
  }
}
