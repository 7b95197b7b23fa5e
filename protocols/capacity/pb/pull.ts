import { decodeMessage, encodeMessage, MaxLengthError, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface PullRequest {
  topic: string
  program: string
  units: number
  exclude: Uint8Array<ArrayBuffer>[]
}

export namespace PullRequest {
  let _codec: Codec<PullRequest>

  export const codec = (): Codec<PullRequest> => {
    if (_codec == null) {
      _codec = message<PullRequest>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.topic != null && obj.topic !== '')) {
          w.uint32(10)
          w.string(obj.topic)
        }

        if ((obj.program != null && obj.program !== '')) {
          w.uint32(18)
          w.string(obj.program)
        }

        if ((obj.units != null && obj.units !== 0)) {
          w.uint32(24)
          w.uint32(obj.units)
        }

        if (obj.exclude != null && obj.exclude.length > 0) {
          for (const value of obj.exclude) {
            w.uint32(34)
            w.bytes(value)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          topic: '',
          program: '',
          units: 0,
          exclude: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.topic = reader.string()
              break
            }
            case 2: {
              obj.program = reader.string()
              break
            }
            case 3: {
              obj.units = reader.uint32()
              break
            }
            case 4: {
              if (opts.limits?.exclude != null && obj.exclude.length === opts.limits.exclude) {
                throw new MaxLengthError('Decode error - repeated field "exclude" had too many elements')
              }

              obj.exclude.push(reader.bytes())
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
          exclude: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.topic`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.program`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.units`,
                value: reader.uint32()
              }
              break
            }
            case 4: {
              if (opts.limits?.exclude != null && obj.exclude === opts.limits.exclude) {
                throw new MaxLengthError('Streaming decode error - repeated field "exclude" had too many elements')
              }

              yield {
                field: `${prefix}.exclude[]`,
                index: obj.exclude,
                value: reader.bytes()
              }

              obj.exclude++

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

  export interface PullRequestTopicFieldEvent {
    field: '$.topic'
    value: string
  }

  export interface PullRequestProgramFieldEvent {
    field: '$.program'
    value: string
  }

  export interface PullRequestUnitsFieldEvent {
    field: '$.units'
    value: number
  }

  export interface PullRequestExcludeFieldEvent {
    field: '$.exclude[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<PullRequest>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, PullRequest.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PullRequest>): PullRequest {
    return decodeMessage(buf, PullRequest.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PullRequest>): Generator<PullRequestTopicFieldEvent | PullRequestProgramFieldEvent | PullRequestUnitsFieldEvent | PullRequestExcludeFieldEvent> {
    return streamMessage(buf, PullRequest.codec(), opts)
  }
}

export interface SignedAdvert {
  from: Uint8Array<ArrayBuffer>
  data: Uint8Array<ArrayBuffer>
  seqno: Uint8Array<ArrayBuffer>
  signature: Uint8Array<ArrayBuffer>
  key: Uint8Array<ArrayBuffer>
}

export namespace SignedAdvert {
  let _codec: Codec<SignedAdvert>

  export const codec = (): Codec<SignedAdvert> => {
    if (_codec == null) {
      _codec = message<SignedAdvert>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.from != null && obj.from.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.from)
        }

        if ((obj.data != null && obj.data.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.data)
        }

        if ((obj.seqno != null && obj.seqno.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.seqno)
        }

        if ((obj.signature != null && obj.signature.byteLength > 0)) {
          w.uint32(34)
          w.bytes(obj.signature)
        }

        if ((obj.key != null && obj.key.byteLength > 0)) {
          w.uint32(42)
          w.bytes(obj.key)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          from: uint8ArrayAlloc(0),
          data: uint8ArrayAlloc(0),
          seqno: uint8ArrayAlloc(0),
          signature: uint8ArrayAlloc(0),
          key: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.from = reader.bytes()
              break
            }
            case 2: {
              obj.data = reader.bytes()
              break
            }
            case 3: {
              obj.seqno = reader.bytes()
              break
            }
            case 4: {
              obj.signature = reader.bytes()
              break
            }
            case 5: {
              obj.key = reader.bytes()
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
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.data`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.seqno`,
                value: reader.bytes()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.signature`,
                value: reader.bytes()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.key`,
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

  export interface SignedAdvertFromFieldEvent {
    field: '$.from'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SignedAdvertDataFieldEvent {
    field: '$.data'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SignedAdvertSeqnoFieldEvent {
    field: '$.seqno'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SignedAdvertSignatureFieldEvent {
    field: '$.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SignedAdvertKeyFieldEvent {
    field: '$.key'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<SignedAdvert>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, SignedAdvert.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SignedAdvert>): SignedAdvert {
    return decodeMessage(buf, SignedAdvert.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SignedAdvert>): Generator<SignedAdvertFromFieldEvent | SignedAdvertDataFieldEvent | SignedAdvertSeqnoFieldEvent | SignedAdvertSignatureFieldEvent | SignedAdvertKeyFieldEvent> {
    return streamMessage(buf, SignedAdvert.codec(), opts)
  }
}

export interface PullResponse {
  adverts: SignedAdvert[]
}

export namespace PullResponse {
  let _codec: Codec<PullResponse>

  export const codec = (): Codec<PullResponse> => {
    if (_codec == null) {
      _codec = message<PullResponse>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.adverts != null && obj.adverts.length > 0) {
          for (const value of obj.adverts) {
            w.uint32(10)
            SignedAdvert.codec().encode(value, w)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          adverts: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.adverts != null && obj.adverts.length === opts.limits.adverts) {
                throw new MaxLengthError('Decode error - repeated field "adverts" had too many elements')
              }

              obj.adverts.push(SignedAdvert.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.adverts$
              }))
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
          adverts: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.adverts != null && obj.adverts === opts.limits.adverts) {
                throw new MaxLengthError('Streaming decode error - repeated field "adverts" had too many elements')
              }

              for (const evt of SignedAdvert.codec().stream(reader, reader.uint32(), `${prefix}.adverts[]`, {
                limits: opts.limits?.adverts$
              })) {
                yield {
                  ...evt,
                  index: obj.adverts
                }
              }

              obj.adverts++

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

  export interface PullResponseAdvertsFromFieldEvent {
    field: '$.adverts[].from'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface PullResponseAdvertsDataFieldEvent {
    field: '$.adverts[].data'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface PullResponseAdvertsSeqnoFieldEvent {
    field: '$.adverts[].seqno'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface PullResponseAdvertsSignatureFieldEvent {
    field: '$.adverts[].signature'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface PullResponseAdvertsKeyFieldEvent {
    field: '$.adverts[].key'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export function encode (obj: Partial<PullResponse>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, PullResponse.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PullResponse>): PullResponse {
    return decodeMessage(buf, PullResponse.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PullResponse>): Generator<PullResponseAdvertsFromFieldEvent | PullResponseAdvertsDataFieldEvent | PullResponseAdvertsSeqnoFieldEvent | PullResponseAdvertsSignatureFieldEvent | PullResponseAdvertsKeyFieldEvent> {
    return streamMessage(buf, PullResponse.codec(), opts)
  }
}
