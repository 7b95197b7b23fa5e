import { decodeMessage, encodeMessage, enumeration, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export enum HintsKind {
  START = 'START',
  DATA = 'DATA',
  END = 'END'
}

enum __HintsKindValues {
  START = 0,
  DATA = 1,
  END = 2
}

export namespace HintsKind {
  export const codec = (): Codec<HintsKind> => {
    return enumeration<HintsKind>(__HintsKindValues)
  }
}

export interface HintsChunk {
  kind: HintsKind
  seq: bigint
  jobId: string
  data: Uint8Array<ArrayBuffer>
  total: bigint
  sha256: Uint8Array<ArrayBuffer>
}

export namespace HintsChunk {
  let _codec: Codec<HintsChunk>

  export const codec = (): Codec<HintsChunk> => {
    if (_codec == null) {
      _codec = message<HintsChunk>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.kind != null && __HintsKindValues[obj.kind] !== 0) {
          w.uint32(8)
          HintsKind.codec().encode(obj.kind, w)
        }

        if ((obj.seq != null && obj.seq !== 0n)) {
          w.uint32(16)
          w.uint64(obj.seq)
        }

        if ((obj.jobId != null && obj.jobId !== '')) {
          w.uint32(26)
          w.string(obj.jobId)
        }

        if ((obj.data != null && obj.data.byteLength > 0)) {
          w.uint32(34)
          w.bytes(obj.data)
        }

        if ((obj.total != null && obj.total !== 0n)) {
          w.uint32(40)
          w.uint64(obj.total)
        }

        if ((obj.sha256 != null && obj.sha256.byteLength > 0)) {
          w.uint32(50)
          w.bytes(obj.sha256)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          kind: HintsKind.START,
          seq: 0n,
          jobId: '',
          data: uint8ArrayAlloc(0),
          total: 0n,
          sha256: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.kind = HintsKind.codec().decode(reader)
              break
            }
            case 2: {
              obj.seq = reader.uint64()
              break
            }
            case 3: {
              obj.jobId = reader.string()
              break
            }
            case 4: {
              obj.data = reader.bytes()
              break
            }
            case 5: {
              obj.total = reader.uint64()
              break
            }
            case 6: {
              obj.sha256 = reader.bytes()
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
                field: `${prefix}.kind`,
                value: HintsKind.codec().decode(reader)
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.seq`,
                value: reader.uint64()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.jobId`,
                value: reader.string()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.data`,
                value: reader.bytes()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.total`,
                value: reader.uint64()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.sha256`,
                value: reader.bytes()
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

  export interface HintsChunkKindFieldEvent {
    field: '$.kind'
    value: HintsKind
  }

  export interface HintsChunkSeqFieldEvent {
    field: '$.seq'
    value: bigint
  }

  export interface HintsChunkJobIdFieldEvent {
    field: '$.jobId'
    value: string
  }

  export interface HintsChunkDataFieldEvent {
    field: '$.data'
    value: Uint8Array<ArrayBuffer>
  }

  export interface HintsChunkTotalFieldEvent {
    field: '$.total'
    value: bigint
  }

  export interface HintsChunkSha256FieldEvent {
    field: '$.sha256'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<HintsChunk>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, HintsChunk.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<HintsChunk>): HintsChunk {
    return decodeMessage(buf, HintsChunk.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<HintsChunk>): Generator<HintsChunkKindFieldEvent | HintsChunkSeqFieldEvent | HintsChunkJobIdFieldEvent | HintsChunkDataFieldEvent | HintsChunkTotalFieldEvent | HintsChunkSha256FieldEvent> {
    return streamMessage(buf, HintsChunk.codec(), opts)
  }
}

export interface HintsDone {
  ok: boolean
  message: string
}

export namespace HintsDone {
  let _codec: Codec<HintsDone>

  export const codec = (): Codec<HintsDone> => {
    if (_codec == null) {
      _codec = message<HintsDone>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.ok != null && obj.ok !== false)) {
          w.uint32(8)
          w.bool(obj.ok)
        }

        if ((obj.message != null && obj.message !== '')) {
          w.uint32(18)
          w.string(obj.message)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          ok: false,
          message: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.ok = reader.bool()
              break
            }
            case 2: {
              obj.message = reader.string()
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
                field: `${prefix}.ok`,
                value: reader.bool()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.message`,
                value: reader.string()
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

  export interface HintsDoneOkFieldEvent {
    field: '$.ok'
    value: boolean
  }

  export interface HintsDoneMessageFieldEvent {
    field: '$.message'
    value: string
  }

  export function encode (obj: Partial<HintsDone>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, HintsDone.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<HintsDone>): HintsDone {
    return decodeMessage(buf, HintsDone.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<HintsDone>): Generator<HintsDoneOkFieldEvent | HintsDoneMessageFieldEvent> {
    return streamMessage(buf, HintsDone.codec(), opts)
  }
}
