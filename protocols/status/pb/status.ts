/* eslint-disable require-yield */

import { decodeMessage, encodeMessage, MaxLengthError, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface StatusRequest {}

export namespace StatusRequest {
  let _codec: Codec<StatusRequest>

  export const codec = (): Codec<StatusRequest> => {
    if (_codec == null) {
      _codec = message<StatusRequest>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {}

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
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

  export function encode (obj: Partial<StatusRequest>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, StatusRequest.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<StatusRequest>): StatusRequest {
    return decodeMessage(buf, StatusRequest.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<StatusRequest>): Generator<{}> {
    return streamMessage(buf, StatusRequest.codec(), opts)
  }
}

export interface PeerStatus {
  version: string
  peerId: string
  uptimeMs: bigint
  addrs: string[]
  capacity: Uint8Array<ArrayBuffer>
  activeJobs: number
  connectedPeers: number
  knownPeers: number
  topicPeers: number
}

export namespace PeerStatus {
  let _codec: Codec<PeerStatus>

  export const codec = (): Codec<PeerStatus> => {
    if (_codec == null) {
      _codec = message<PeerStatus>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.version != null && obj.version !== '')) {
          w.uint32(10)
          w.string(obj.version)
        }

        if ((obj.peerId != null && obj.peerId !== '')) {
          w.uint32(18)
          w.string(obj.peerId)
        }

        if ((obj.uptimeMs != null && obj.uptimeMs !== 0n)) {
          w.uint32(24)
          w.uint64(obj.uptimeMs)
        }

        if (obj.addrs != null && obj.addrs.length > 0) {
          for (const value of obj.addrs) {
            w.uint32(34)
            w.string(value)
          }
        }

        if ((obj.capacity != null && obj.capacity.byteLength > 0)) {
          w.uint32(42)
          w.bytes(obj.capacity)
        }

        if ((obj.activeJobs != null && obj.activeJobs !== 0)) {
          w.uint32(48)
          w.uint32(obj.activeJobs)
        }

        if ((obj.connectedPeers != null && obj.connectedPeers !== 0)) {
          w.uint32(56)
          w.uint32(obj.connectedPeers)
        }

        if ((obj.knownPeers != null && obj.knownPeers !== 0)) {
          w.uint32(64)
          w.uint32(obj.knownPeers)
        }

        if ((obj.topicPeers != null && obj.topicPeers !== 0)) {
          w.uint32(72)
          w.uint32(obj.topicPeers)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          version: '',
          peerId: '',
          uptimeMs: 0n,
          addrs: [],
          capacity: uint8ArrayAlloc(0),
          activeJobs: 0,
          connectedPeers: 0,
          knownPeers: 0,
          topicPeers: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.version = reader.string()
              break
            }
            case 2: {
              obj.peerId = reader.string()
              break
            }
            case 3: {
              obj.uptimeMs = reader.uint64()
              break
            }
            case 4: {
              if (opts.limits?.addrs != null && obj.addrs.length === opts.limits.addrs) {
                throw new MaxLengthError('Decode error - repeated field "addrs" had too many elements')
              }

              obj.addrs.push(reader.string())
              break
            }
            case 5: {
              obj.capacity = reader.bytes()
              break
            }
            case 6: {
              obj.activeJobs = reader.uint32()
              break
            }
            case 7: {
              obj.connectedPeers = reader.uint32()
              break
            }
            case 8: {
              obj.knownPeers = reader.uint32()
              break
            }
            case 9: {
              obj.topicPeers = reader.uint32()
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
          addrs: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.version`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.peerId`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.uptimeMs`,
                value: reader.uint64()
              }
              break
            }
            case 4: {
              if (opts.limits?.addrs != null && obj.addrs === opts.limits.addrs) {
                throw new MaxLengthError('Streaming decode error - repeated field "addrs" had too many elements')
              }

              yield {
                field: `${prefix}.addrs[]`,
                index: obj.addrs,
                value: reader.string()
              }

              obj.addrs++

              break
            }
            case 5: {
              yield {
                field: `${prefix}.capacity`,
                value: reader.bytes()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.activeJobs`,
                value: reader.uint32()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.connectedPeers`,
                value: reader.uint32()
              }
              break
            }
            case 8: {
              yield {
                field: `${prefix}.knownPeers`,
                value: reader.uint32()
              }
              break
            }
            case 9: {
              yield {
                field: `${prefix}.topicPeers`,
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

  export interface PeerStatusVersionFieldEvent {
    field: '$.version'
    value: string
  }

  export interface PeerStatusPeerIdFieldEvent {
    field: '$.peerId'
    value: string
  }

  export interface PeerStatusUptimeMsFieldEvent {
    field: '$.uptimeMs'
    value: bigint
  }

  export interface PeerStatusAddrsFieldEvent {
    field: '$.addrs[]'
    index: number
    value: string
  }

  export interface PeerStatusCapacityFieldEvent {
    field: '$.capacity'
    value: Uint8Array<ArrayBuffer>
  }

  export interface PeerStatusActiveJobsFieldEvent {
    field: '$.activeJobs'
    value: number
  }

  export interface PeerStatusConnectedPeersFieldEvent {
    field: '$.connectedPeers'
    value: number
  }

  export interface PeerStatusKnownPeersFieldEvent {
    field: '$.knownPeers'
    value: number
  }

  export interface PeerStatusTopicPeersFieldEvent {
    field: '$.topicPeers'
    value: number
  }

  export function encode (obj: Partial<PeerStatus>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, PeerStatus.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PeerStatus>): PeerStatus {
    return decodeMessage(buf, PeerStatus.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PeerStatus>): Generator<PeerStatusVersionFieldEvent | PeerStatusPeerIdFieldEvent | PeerStatusUptimeMsFieldEvent | PeerStatusAddrsFieldEvent | PeerStatusCapacityFieldEvent | PeerStatusActiveJobsFieldEvent | PeerStatusConnectedPeersFieldEvent | PeerStatusKnownPeersFieldEvent | PeerStatusTopicPeersFieldEvent> {
    return streamMessage(buf, PeerStatus.codec(), opts)
  }
}
