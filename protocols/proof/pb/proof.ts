import { decodeMessage, encodeMessage, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface ProofRequest {
  jobId: string
  segment?: number
  submitter: string
}

export namespace ProofRequest {
  let _codec: Codec<ProofRequest>

  export const codec = (): Codec<ProofRequest> => {
    if (_codec == null) {
      _codec = message<ProofRequest>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.jobId != null && obj.jobId !== '')) {
          w.uint32(10)
          w.string(obj.jobId)
        }

        if (obj.segment != null) {
          w.uint32(16)
          w.uint32(obj.segment)
        }

        if ((obj.submitter != null && obj.submitter !== '')) {
          w.uint32(26)
          w.string(obj.submitter)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          jobId: '',
          submitter: ''
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
              obj.submitter = reader.string()
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
                field: `${prefix}.submitter`,
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

  export interface ProofRequestJobIdFieldEvent {
    field: '$.jobId'
    value: string
  }

  export interface ProofRequestSegmentFieldEvent {
    field: '$.segment'
    value: number
  }

  export interface ProofRequestSubmitterFieldEvent {
    field: '$.submitter'
    value: string
  }

  export function encode (obj: Partial<ProofRequest>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, ProofRequest.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ProofRequest>): ProofRequest {
    return decodeMessage(buf, ProofRequest.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ProofRequest>): Generator<ProofRequestJobIdFieldEvent | ProofRequestSegmentFieldEvent | ProofRequestSubmitterFieldEvent> {
    return streamMessage(buf, ProofRequest.codec(), opts)
  }
}

export interface ProofHeader {
  ok: boolean
  message: string
  size: bigint
  sha256: Uint8Array<ArrayBuffer>
}

export namespace ProofHeader {
  let _codec: Codec<ProofHeader>

  export const codec = (): Codec<ProofHeader> => {
    if (_codec == null) {
      _codec = message<ProofHeader>((obj, w, opts = {}) => {
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

        if ((obj.size != null && obj.size !== 0n)) {
          w.uint32(24)
          w.uint64(obj.size)
        }

        if ((obj.sha256 != null && obj.sha256.byteLength > 0)) {
          w.uint32(34)
          w.bytes(obj.sha256)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          ok: false,
          message: '',
          size: 0n,
          sha256: uint8ArrayAlloc(0)
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
            case 3: {
              obj.size = reader.uint64()
              break
            }
            case 4: {
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
            case 3: {
              yield {
                field: `${prefix}.size`,
                value: reader.uint64()
              }
              break
            }
            case 4: {
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

  export interface ProofHeaderOkFieldEvent {
    field: '$.ok'
    value: boolean
  }

  export interface ProofHeaderMessageFieldEvent {
    field: '$.message'
    value: string
  }

  export interface ProofHeaderSizeFieldEvent {
    field: '$.size'
    value: bigint
  }

  export interface ProofHeaderSha256FieldEvent {
    field: '$.sha256'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<ProofHeader>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, ProofHeader.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ProofHeader>): ProofHeader {
    return decodeMessage(buf, ProofHeader.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ProofHeader>): Generator<ProofHeaderOkFieldEvent | ProofHeaderMessageFieldEvent | ProofHeaderSizeFieldEvent | ProofHeaderSha256FieldEvent> {
    return streamMessage(buf, ProofHeader.codec(), opts)
  }
}
