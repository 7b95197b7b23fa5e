import { decodeMessage, encodeMessage, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface InputsHeader {
  jobId: string
  segment: number
  offset: bigint
  length: bigint
  total: bigint
  sha256: Uint8Array<ArrayBuffer>
}

export namespace InputsHeader {
  let _codec: Codec<InputsHeader>

  export const codec = (): Codec<InputsHeader> => {
    if (_codec == null) {
      _codec = message<InputsHeader>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.jobId != null && obj.jobId !== '')) {
          w.uint32(10)
          w.string(obj.jobId)
        }

        if ((obj.segment != null && obj.segment !== 0)) {
          w.uint32(16)
          w.uint32(obj.segment)
        }

        if ((obj.offset != null && obj.offset !== 0n)) {
          w.uint32(24)
          w.uint64(obj.offset)
        }

        if ((obj.length != null && obj.length !== 0n)) {
          w.uint32(32)
          w.uint64(obj.length)
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
          jobId: '',
          segment: 0,
          offset: 0n,
          length: 0n,
          total: 0n,
          sha256: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.jobId = reader.string()
              break
            }
            case 2: {
              obj.segment = reader.uint32()
              break
            }
            case 3: {
              obj.offset = reader.uint64()
              break
            }
            case 4: {
              obj.length = reader.uint64()
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
                field: `${prefix}.jobId`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.segment`,
                value: reader.uint32()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.offset`,
                value: reader.uint64()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.length`,
                value: reader.uint64()
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

  export interface InputsHeaderJobIdFieldEvent {
    field: '$.jobId'
    value: string
  }

  export interface InputsHeaderSegmentFieldEvent {
    field: '$.segment'
    value: number
  }

  export interface InputsHeaderOffsetFieldEvent {
    field: '$.offset'
    value: bigint
  }

  export interface InputsHeaderLengthFieldEvent {
    field: '$.length'
    value: bigint
  }

  export interface InputsHeaderTotalFieldEvent {
    field: '$.total'
    value: bigint
  }

  export interface InputsHeaderSha256FieldEvent {
    field: '$.sha256'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<InputsHeader>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, InputsHeader.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<InputsHeader>): InputsHeader {
    return decodeMessage(buf, InputsHeader.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<InputsHeader>): Generator<InputsHeaderJobIdFieldEvent | InputsHeaderSegmentFieldEvent | InputsHeaderOffsetFieldEvent | InputsHeaderLengthFieldEvent | InputsHeaderTotalFieldEvent | InputsHeaderSha256FieldEvent> {
    return streamMessage(buf, InputsHeader.codec(), opts)
  }
}

export interface InputsAccept {
  from: bigint
}

export namespace InputsAccept {
  let _codec: Codec<InputsAccept>

  export const codec = (): Codec<InputsAccept> => {
    if (_codec == null) {
      _codec = message<InputsAccept>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.from != null && obj.from !== 0n)) {
          w.uint32(8)
          w.uint64(obj.from)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          from: 0n
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.from = reader.uint64()
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
                field: `${prefix}.from`,
                value: reader.uint64()
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

  export interface InputsAcceptFromFieldEvent {
    field: '$.from'
    value: bigint
  }

  export function encode (obj: Partial<InputsAccept>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, InputsAccept.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<InputsAccept>): InputsAccept {
    return decodeMessage(buf, InputsAccept.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<InputsAccept>): Generator<InputsAcceptFromFieldEvent> {
    return streamMessage(buf, InputsAccept.codec(), opts)
  }
}

export interface InputsDone {
  ok: boolean
  message: string
}

export namespace InputsDone {
  let _codec: Codec<InputsDone>

  export const codec = (): Codec<InputsDone> => {
    if (_codec == null) {
      _codec = message<InputsDone>((obj, w, opts = {}) => {
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

  export interface InputsDoneOkFieldEvent {
    field: '$.ok'
    value: boolean
  }

  export interface InputsDoneMessageFieldEvent {
    field: '$.message'
    value: string
  }

  export function encode (obj: Partial<InputsDone>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, InputsDone.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<InputsDone>): InputsDone {
    return decodeMessage(buf, InputsDone.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<InputsDone>): Generator<InputsDoneOkFieldEvent | InputsDoneMessageFieldEvent> {
    return streamMessage(buf, InputsDone.codec(), opts)
  }
}
