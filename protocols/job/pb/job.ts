/* eslint-disable require-yield */

import { decodeMessage, encodeMessage, enumeration, MaxLengthError, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface SubmitterFrame {
  reserve?: Reserve
  assign?: Assign
  challenge?: Challenge
  aggregate?: AggregateRole
  fetch?: FetchProof
  keepAlive?: KeepAlive
  cancel?: Cancel
  release?: Release
  forget?: Forget
}

export namespace SubmitterFrame {
  let _codec: Codec<SubmitterFrame>

  export const codec = (): Codec<SubmitterFrame> => {
    if (_codec == null) {
      _codec = message<SubmitterFrame>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.reserve != null) {
          w.uint32(10)
          Reserve.codec().encode(obj.reserve, w)
        }

        if (obj.assign != null) {
          w.uint32(18)
          Assign.codec().encode(obj.assign, w)
        }

        if (obj.challenge != null) {
          w.uint32(26)
          Challenge.codec().encode(obj.challenge, w)
        }

        if (obj.aggregate != null) {
          w.uint32(34)
          AggregateRole.codec().encode(obj.aggregate, w)
        }

        if (obj.fetch != null) {
          w.uint32(42)
          FetchProof.codec().encode(obj.fetch, w)
        }

        if (obj.keepAlive != null) {
          w.uint32(50)
          KeepAlive.codec().encode(obj.keepAlive, w)
        }

        if (obj.cancel != null) {
          w.uint32(58)
          Cancel.codec().encode(obj.cancel, w)
        }

        if (obj.release != null) {
          w.uint32(66)
          Release.codec().encode(obj.release, w)
        }

        if (obj.forget != null) {
          w.uint32(74)
          Forget.codec().encode(obj.forget, w)
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
            case 1: {
              obj.reserve = Reserve.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.reserve
              })
              break
            }
            case 2: {
              obj.assign = Assign.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.assign
              })
              break
            }
            case 3: {
              obj.challenge = Challenge.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.challenge
              })
              break
            }
            case 4: {
              obj.aggregate = AggregateRole.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.aggregate
              })
              break
            }
            case 5: {
              obj.fetch = FetchProof.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.fetch
              })
              break
            }
            case 6: {
              obj.keepAlive = KeepAlive.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.keepAlive
              })
              break
            }
            case 7: {
              obj.cancel = Cancel.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.cancel
              })
              break
            }
            case 8: {
              obj.release = Release.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.release
              })
              break
            }
            case 9: {
              obj.forget = Forget.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.forget
              })
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
              yield * Reserve.codec().stream(reader, reader.uint32(), `${prefix}.reserve`, {
                limits: opts.limits?.reserve
              })

              break
            }
            case 2: {
              yield * Assign.codec().stream(reader, reader.uint32(), `${prefix}.assign`, {
                limits: opts.limits?.assign
              })

              break
            }
            case 3: {
              yield * Challenge.codec().stream(reader, reader.uint32(), `${prefix}.challenge`, {
                limits: opts.limits?.challenge
              })

              break
            }
            case 4: {
              yield * AggregateRole.codec().stream(reader, reader.uint32(), `${prefix}.aggregate`, {
                limits: opts.limits?.aggregate
              })

              break
            }
            case 5: {
              yield * FetchProof.codec().stream(reader, reader.uint32(), `${prefix}.fetch`, {
                limits: opts.limits?.fetch
              })

              break
            }
            case 6: {
              yield * KeepAlive.codec().stream(reader, reader.uint32(), `${prefix}.keepAlive`, {
                limits: opts.limits?.keepAlive
              })

              break
            }
            case 7: {
              yield * Cancel.codec().stream(reader, reader.uint32(), `${prefix}.cancel`, {
                limits: opts.limits?.cancel
              })

              break
            }
            case 8: {
              yield * Release.codec().stream(reader, reader.uint32(), `${prefix}.release`, {
                limits: opts.limits?.release
              })

              break
            }
            case 9: {
              yield * Forget.codec().stream(reader, reader.uint32(), `${prefix}.forget`, {
                limits: opts.limits?.forget
              })

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

  export interface SubmitterFrameReserveJobIdFieldEvent {
    field: '$.reserve.jobId'
    value: string
  }

  export interface SubmitterFrameReserveProgramFieldEvent {
    field: '$.reserve.program'
    value: string
  }

  export interface SubmitterFrameReserveUnitsFieldEvent {
    field: '$.reserve.units'
    value: number
  }

  export interface SubmitterFrameReserveMinUnitsFieldEvent {
    field: '$.reserve.minUnits'
    value: number
  }

  export interface SubmitterFrameReserveInputSizeFieldEvent {
    field: '$.reserve.inputSize'
    value: bigint
  }

  export interface SubmitterFrameReserveLeaseMsFieldEvent {
    field: '$.reserve.leaseMs'
    value: number
  }

  export interface SubmitterFrameReserveKeepAliveMsFieldEvent {
    field: '$.reserve.keepAliveMs'
    value: number
  }

  export interface SubmitterFrameReserveWholeFieldEvent {
    field: '$.reserve.whole'
    value: boolean
  }

  export interface SubmitterFrameAssignInputSizeFieldEvent {
    field: '$.assign.inputSize'
    value: bigint
  }

  export interface SubmitterFrameAssignInputModeFieldEvent {
    field: '$.assign.inputMode'
    value: InputMode
  }

  export interface SubmitterFrameAssignInputNameFieldEvent {
    field: '$.assign.inputName'
    value: string
  }

  export interface SubmitterFrameAssignHintsFieldEvent {
    field: '$.assign.hints'
    value: boolean
  }

  export interface SubmitterFrameAssignSegmentsIndexFieldEvent {
    field: '$.assign.segments[].index'
    value: number
    index: number
  }

  export interface SubmitterFrameAssignSegmentsStartBlockFieldEvent {
    field: '$.assign.segments[].startBlock'
    value: bigint
    index: number
  }

  export interface SubmitterFrameAssignSegmentsBlockCountFieldEvent {
    field: '$.assign.segments[].blockCount'
    value: bigint
    index: number
  }

  export interface SubmitterFrameAssignSegmentsInputOffsetFieldEvent {
    field: '$.assign.segments[].inputOffset'
    value: bigint
    index: number
  }

  export interface SubmitterFrameAssignSegmentsInputLengthFieldEvent {
    field: '$.assign.segments[].inputLength'
    value: bigint
    index: number
  }

  export interface SubmitterFrameAssignSegmentsInputSha256FieldEvent {
    field: '$.assign.segments[].inputSha256'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface SubmitterFrameChallengeChallengeFieldEvent {
    field: '$.challenge.challenge'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SubmitterFrameAggregateContributionsFieldEvent {
    field: '$.aggregate.contributions[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export interface SubmitterFrameFetchSegmentFieldEvent {
    field: '$.fetch.segment'
    value: number
  }

  export interface SubmitterFrameFetchPeerIdFieldEvent {
    field: '$.fetch.peerId'
    value: string
  }

  export interface SubmitterFrameFetchAddrsFieldEvent {
    field: '$.fetch.addrs[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export interface SubmitterFrameFetchSizeFieldEvent {
    field: '$.fetch.size'
    value: bigint
  }

  export interface SubmitterFrameFetchSha256FieldEvent {
    field: '$.fetch.sha256'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SubmitterFrameCancelReasonFieldEvent {
    field: '$.cancel.reason'
    value: string
  }

  export interface SubmitterFrameForgetSegmentsFieldEvent {
    field: '$.forget.segments[]'
    index: number
    value: number
  }

  export function encode (obj: Partial<SubmitterFrame>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, SubmitterFrame.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SubmitterFrame>): SubmitterFrame {
    return decodeMessage(buf, SubmitterFrame.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SubmitterFrame>): Generator<SubmitterFrameReserveJobIdFieldEvent | SubmitterFrameReserveProgramFieldEvent | SubmitterFrameReserveUnitsFieldEvent | SubmitterFrameReserveMinUnitsFieldEvent | SubmitterFrameReserveInputSizeFieldEvent | SubmitterFrameReserveLeaseMsFieldEvent | SubmitterFrameReserveKeepAliveMsFieldEvent | SubmitterFrameReserveWholeFieldEvent | SubmitterFrameAssignInputSizeFieldEvent | SubmitterFrameAssignInputModeFieldEvent | SubmitterFrameAssignInputNameFieldEvent | SubmitterFrameAssignHintsFieldEvent | SubmitterFrameAssignSegmentsIndexFieldEvent | SubmitterFrameAssignSegmentsStartBlockFieldEvent | SubmitterFrameAssignSegmentsBlockCountFieldEvent | SubmitterFrameAssignSegmentsInputOffsetFieldEvent | SubmitterFrameAssignSegmentsInputLengthFieldEvent | SubmitterFrameAssignSegmentsInputSha256FieldEvent | SubmitterFrameChallengeChallengeFieldEvent | SubmitterFrameAggregateContributionsFieldEvent | SubmitterFrameFetchSegmentFieldEvent | SubmitterFrameFetchPeerIdFieldEvent | SubmitterFrameFetchAddrsFieldEvent | SubmitterFrameFetchSizeFieldEvent | SubmitterFrameFetchSha256FieldEvent | SubmitterFrameCancelReasonFieldEvent | SubmitterFrameForgetSegmentsFieldEvent> {
    return streamMessage(buf, SubmitterFrame.codec(), opts)
  }
}

export interface PeerFrame {
  reserved?: Reserved
  refused?: Refused
  contribution?: Contribution
  proved?: Proved
  progress?: Progress
  final?: Final
  failed?: Failed
  keepAlive?: KeepAlive
}

export namespace PeerFrame {
  let _codec: Codec<PeerFrame>

  export const codec = (): Codec<PeerFrame> => {
    if (_codec == null) {
      _codec = message<PeerFrame>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.reserved != null) {
          w.uint32(10)
          Reserved.codec().encode(obj.reserved, w)
        }

        if (obj.refused != null) {
          w.uint32(18)
          Refused.codec().encode(obj.refused, w)
        }

        if (obj.contribution != null) {
          w.uint32(26)
          Contribution.codec().encode(obj.contribution, w)
        }

        if (obj.proved != null) {
          w.uint32(34)
          Proved.codec().encode(obj.proved, w)
        }

        if (obj.progress != null) {
          w.uint32(42)
          Progress.codec().encode(obj.progress, w)
        }

        if (obj.final != null) {
          w.uint32(50)
          Final.codec().encode(obj.final, w)
        }

        if (obj.failed != null) {
          w.uint32(58)
          Failed.codec().encode(obj.failed, w)
        }

        if (obj.keepAlive != null) {
          w.uint32(66)
          KeepAlive.codec().encode(obj.keepAlive, w)
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
            case 1: {
              obj.reserved = Reserved.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.reserved
              })
              break
            }
            case 2: {
              obj.refused = Refused.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.refused
              })
              break
            }
            case 3: {
              obj.contribution = Contribution.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.contribution
              })
              break
            }
            case 4: {
              obj.proved = Proved.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.proved
              })
              break
            }
            case 5: {
              obj.progress = Progress.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.progress
              })
              break
            }
            case 6: {
              obj.final = Final.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.final
              })
              break
            }
            case 7: {
              obj.failed = Failed.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.failed
              })
              break
            }
            case 8: {
              obj.keepAlive = KeepAlive.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.keepAlive
              })
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
              yield * Reserved.codec().stream(reader, reader.uint32(), `${prefix}.reserved`, {
                limits: opts.limits?.reserved
              })

              break
            }
            case 2: {
              yield * Refused.codec().stream(reader, reader.uint32(), `${prefix}.refused`, {
                limits: opts.limits?.refused
              })

              break
            }
            case 3: {
              yield * Contribution.codec().stream(reader, reader.uint32(), `${prefix}.contribution`, {
                limits: opts.limits?.contribution
              })

              break
            }
            case 4: {
              yield * Proved.codec().stream(reader, reader.uint32(), `${prefix}.proved`, {
                limits: opts.limits?.proved
              })

              break
            }
            case 5: {
              yield * Progress.codec().stream(reader, reader.uint32(), `${prefix}.progress`, {
                limits: opts.limits?.progress
              })

              break
            }
            case 6: {
              yield * Final.codec().stream(reader, reader.uint32(), `${prefix}.final`, {
                limits: opts.limits?.final
              })

              break
            }
            case 7: {
              yield * Failed.codec().stream(reader, reader.uint32(), `${prefix}.failed`, {
                limits: opts.limits?.failed
              })

              break
            }
            case 8: {
              yield * KeepAlive.codec().stream(reader, reader.uint32(), `${prefix}.keepAlive`, {
                limits: opts.limits?.keepAlive
              })

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

  export interface PeerFrameReservedLeaseIdFieldEvent {
    field: '$.reserved.leaseId'
    value: string
  }

  export interface PeerFrameReservedUnitsFieldEvent {
    field: '$.reserved.units'
    value: number
  }

  export interface PeerFrameReservedLeaseMsFieldEvent {
    field: '$.reserved.leaseMs'
    value: number
  }

  export interface PeerFrameReservedSubmitterCapFieldEvent {
    field: '$.reserved.submitterCap'
    value: number
  }

  export interface PeerFrameRefusedCodeFieldEvent {
    field: '$.refused.code'
    value: RefuseCode
  }

  export interface PeerFrameRefusedMessageFieldEvent {
    field: '$.refused.message'
    value: string
  }

  export interface PeerFrameRefusedFreeUnitsFieldEvent {
    field: '$.refused.freeUnits'
    value: number
  }

  export interface PeerFrameContributionSegmentFieldEvent {
    field: '$.contribution.segment'
    value: number
  }

  export interface PeerFrameContributionContributionFieldEvent {
    field: '$.contribution.contribution'
    value: Uint8Array<ArrayBuffer>
  }

  export interface PeerFrameProvedSegmentFieldEvent {
    field: '$.proved.segment'
    value: number
  }

  export interface PeerFrameProvedSizeFieldEvent {
    field: '$.proved.size'
    value: bigint
  }

  export interface PeerFrameProvedSha256FieldEvent {
    field: '$.proved.sha256'
    value: Uint8Array<ArrayBuffer>
  }

  export interface PeerFrameProvedMillisFieldEvent {
    field: '$.proved.millis'
    value: number
  }

  export interface PeerFrameProgressPhaseFieldEvent {
    field: '$.progress.phase'
    value: string
  }

  export interface PeerFrameProgressSegmentFieldEvent {
    field: '$.progress.segment'
    value: number
  }

  export interface PeerFrameProgressDoneFieldEvent {
    field: '$.progress.done'
    value: number
  }

  export interface PeerFrameProgressTotalFieldEvent {
    field: '$.progress.total'
    value: number
  }

  export interface PeerFrameFinalDigestFieldEvent {
    field: '$.final.digest'
    value: Uint8Array<ArrayBuffer>
  }

  export interface PeerFrameFinalSizeFieldEvent {
    field: '$.final.size'
    value: bigint
  }

  export interface PeerFrameFinalSha256FieldEvent {
    field: '$.final.sha256'
    value: Uint8Array<ArrayBuffer>
  }

  export interface PeerFrameFinalSegmentsFieldEvent {
    field: '$.final.segments'
    value: number
  }

  export interface PeerFrameFailedCodeFieldEvent {
    field: '$.failed.code'
    value: FailCode
  }

  export interface PeerFrameFailedMessageFieldEvent {
    field: '$.failed.message'
    value: string
  }

  export interface PeerFrameFailedSegmentFieldEvent {
    field: '$.failed.segment'
    value: number
  }

  export interface PeerFrameFailedProofSha256FieldEvent {
    field: '$.failed.proofSha256'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<PeerFrame>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, PeerFrame.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PeerFrame>): PeerFrame {
    return decodeMessage(buf, PeerFrame.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PeerFrame>): Generator<PeerFrameReservedLeaseIdFieldEvent | PeerFrameReservedUnitsFieldEvent | PeerFrameReservedLeaseMsFieldEvent | PeerFrameReservedSubmitterCapFieldEvent | PeerFrameRefusedCodeFieldEvent | PeerFrameRefusedMessageFieldEvent | PeerFrameRefusedFreeUnitsFieldEvent | PeerFrameContributionSegmentFieldEvent | PeerFrameContributionContributionFieldEvent | PeerFrameProvedSegmentFieldEvent | PeerFrameProvedSizeFieldEvent | PeerFrameProvedSha256FieldEvent | PeerFrameProvedMillisFieldEvent | PeerFrameProgressPhaseFieldEvent | PeerFrameProgressSegmentFieldEvent | PeerFrameProgressDoneFieldEvent | PeerFrameProgressTotalFieldEvent | PeerFrameFinalDigestFieldEvent | PeerFrameFinalSizeFieldEvent | PeerFrameFinalSha256FieldEvent | PeerFrameFinalSegmentsFieldEvent | PeerFrameFailedCodeFieldEvent | PeerFrameFailedMessageFieldEvent | PeerFrameFailedSegmentFieldEvent | PeerFrameFailedProofSha256FieldEvent> {
    return streamMessage(buf, PeerFrame.codec(), opts)
  }
}

export interface Reserve {
  jobId: string
  program: string
  units: number
  minUnits: number
  inputSize: bigint
  leaseMs: number
  keepAliveMs: number
  whole?: boolean
}

export namespace Reserve {
  let _codec: Codec<Reserve>

  export const codec = (): Codec<Reserve> => {
    if (_codec == null) {
      _codec = message<Reserve>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.jobId != null && obj.jobId !== '')) {
          w.uint32(10)
          w.string(obj.jobId)
        }

        if ((obj.program != null && obj.program !== '')) {
          w.uint32(18)
          w.string(obj.program)
        }

        if ((obj.units != null && obj.units !== 0)) {
          w.uint32(24)
          w.uint32(obj.units)
        }

        if ((obj.minUnits != null && obj.minUnits !== 0)) {
          w.uint32(32)
          w.uint32(obj.minUnits)
        }

        if ((obj.inputSize != null && obj.inputSize !== 0n)) {
          w.uint32(40)
          w.uint64(obj.inputSize)
        }

        if ((obj.leaseMs != null && obj.leaseMs !== 0)) {
          w.uint32(48)
          w.uint32(obj.leaseMs)
        }

        if ((obj.keepAliveMs != null && obj.keepAliveMs !== 0)) {
          w.uint32(56)
          w.uint32(obj.keepAliveMs)
        }

        if (obj.whole != null) {
          w.uint32(64)
          w.bool(obj.whole)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          jobId: '',
          program: '',
          units: 0,
          minUnits: 0,
          inputSize: 0n,
          leaseMs: 0,
          keepAliveMs: 0
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
              obj.program = reader.string()
              break
            }
            case 3: {
              obj.units = reader.uint32()
              break
            }
            case 4: {
              obj.minUnits = reader.uint32()
              break
            }
            case 5: {
              obj.inputSize = reader.uint64()
              break
            }
            case 6: {
              obj.leaseMs = reader.uint32()
              break
            }
            case 7: {
              obj.keepAliveMs = reader.uint32()
              break
            }
            case 8: {
              obj.whole = reader.bool()
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
              yield {
                field: `${prefix}.minUnits`,
                value: reader.uint32()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.inputSize`,
                value: reader.uint64()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.leaseMs`,
                value: reader.uint32()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.keepAliveMs`,
                value: reader.uint32()
              }
              break
            }
            case 8: {
              yield {
                field: `${prefix}.whole`,
                value: reader.bool()
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

  export interface ReserveJobIdFieldEvent {
    field: '$.jobId'
    value: string
  }

  export interface ReserveProgramFieldEvent {
    field: '$.program'
    value: string
  }

  export interface ReserveUnitsFieldEvent {
    field: '$.units'
    value: number
  }

  export interface ReserveMinUnitsFieldEvent {
    field: '$.minUnits'
    value: number
  }

  export interface ReserveInputSizeFieldEvent {
    field: '$.inputSize'
    value: bigint
  }

  export interface ReserveLeaseMsFieldEvent {
    field: '$.leaseMs'
    value: number
  }

  export interface ReserveKeepAliveMsFieldEvent {
    field: '$.keepAliveMs'
    value: number
  }

  export interface ReserveWholeFieldEvent {
    field: '$.whole'
    value: boolean
  }

  export function encode (obj: Partial<Reserve>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Reserve.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Reserve>): Reserve {
    return decodeMessage(buf, Reserve.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Reserve>): Generator<ReserveJobIdFieldEvent | ReserveProgramFieldEvent | ReserveUnitsFieldEvent | ReserveMinUnitsFieldEvent | ReserveInputSizeFieldEvent | ReserveLeaseMsFieldEvent | ReserveKeepAliveMsFieldEvent | ReserveWholeFieldEvent> {
    return streamMessage(buf, Reserve.codec(), opts)
  }
}

export interface Reserved {
  leaseId: string
  units: number
  leaseMs: number
  submitterCap: number
}

export namespace Reserved {
  let _codec: Codec<Reserved>

  export const codec = (): Codec<Reserved> => {
    if (_codec == null) {
      _codec = message<Reserved>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.leaseId != null && obj.leaseId !== '')) {
          w.uint32(10)
          w.string(obj.leaseId)
        }

        if ((obj.units != null && obj.units !== 0)) {
          w.uint32(16)
          w.uint32(obj.units)
        }

        if ((obj.leaseMs != null && obj.leaseMs !== 0)) {
          w.uint32(24)
          w.uint32(obj.leaseMs)
        }

        if ((obj.submitterCap != null && obj.submitterCap !== 0)) {
          w.uint32(32)
          w.uint32(obj.submitterCap)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          leaseId: '',
          units: 0,
          leaseMs: 0,
          submitterCap: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.leaseId = reader.string()
              break
            }
            case 2: {
              obj.units = reader.uint32()
              break
            }
            case 3: {
              obj.leaseMs = reader.uint32()
              break
            }
            case 4: {
              obj.submitterCap = reader.uint32()
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
                field: `${prefix}.leaseId`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.units`,
                value: reader.uint32()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.leaseMs`,
                value: reader.uint32()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.submitterCap`,
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

  export interface ReservedLeaseIdFieldEvent {
    field: '$.leaseId'
    value: string
  }

  export interface ReservedUnitsFieldEvent {
    field: '$.units'
    value: number
  }

  export interface ReservedLeaseMsFieldEvent {
    field: '$.leaseMs'
    value: number
  }

  export interface ReservedSubmitterCapFieldEvent {
    field: '$.submitterCap'
    value: number
  }

  export function encode (obj: Partial<Reserved>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Reserved.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Reserved>): Reserved {
    return decodeMessage(buf, Reserved.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Reserved>): Generator<ReservedLeaseIdFieldEvent | ReservedUnitsFieldEvent | ReservedLeaseMsFieldEvent | ReservedSubmitterCapFieldEvent> {
    return streamMessage(buf, Reserved.codec(), opts)
  }
}

export enum RefuseCode {
  BUSY = 'BUSY',
  UNAUTHORIZED = 'UNAUTHORIZED',
  UNSUPPORTED_PROGRAM = 'UNSUPPORTED_PROGRAM',
  TOO_LARGE = 'TOO_LARGE',
  NO_PROVER = 'NO_PROVER',
  BAD_REQUEST = 'BAD_REQUEST'
}

enum __RefuseCodeValues {
  BUSY = 0,
  UNAUTHORIZED = 1,
  UNSUPPORTED_PROGRAM = 2,
  TOO_LARGE = 3,
  NO_PROVER = 4,
  BAD_REQUEST = 5
}

export namespace RefuseCode {
  export const codec = (): Codec<RefuseCode> => {
    return enumeration<RefuseCode>(__RefuseCodeValues)
  }
}

export interface Refused {
  code: RefuseCode
  message: string
  freeUnits: number
}

export namespace Refused {
  let _codec: Codec<Refused>

  export const codec = (): Codec<Refused> => {
    if (_codec == null) {
      _codec = message<Refused>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.code != null && __RefuseCodeValues[obj.code] !== 0) {
          w.uint32(8)
          RefuseCode.codec().encode(obj.code, w)
        }

        if ((obj.message != null && obj.message !== '')) {
          w.uint32(18)
          w.string(obj.message)
        }

        if ((obj.freeUnits != null && obj.freeUnits !== 0)) {
          w.uint32(24)
          w.uint32(obj.freeUnits)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          code: RefuseCode.BUSY,
          message: '',
          freeUnits: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.code = RefuseCode.codec().decode(reader)
              break
            }
            case 2: {
              obj.message = reader.string()
              break
            }
            case 3: {
              obj.freeUnits = reader.uint32()
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
                field: `${prefix}.code`,
                value: RefuseCode.codec().decode(reader)
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
                field: `${prefix}.freeUnits`,
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

  export interface RefusedCodeFieldEvent {
    field: '$.code'
    value: RefuseCode
  }

  export interface RefusedMessageFieldEvent {
    field: '$.message'
    value: string
  }

  export interface RefusedFreeUnitsFieldEvent {
    field: '$.freeUnits'
    value: number
  }

  export function encode (obj: Partial<Refused>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Refused.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Refused>): Refused {
    return decodeMessage(buf, Refused.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Refused>): Generator<RefusedCodeFieldEvent | RefusedMessageFieldEvent | RefusedFreeUnitsFieldEvent> {
    return streamMessage(buf, Refused.codec(), opts)
  }
}

export enum InputMode {
  DATA = 'DATA',
  PATH = 'PATH'
}

enum __InputModeValues {
  DATA = 0,
  PATH = 1
}

export namespace InputMode {
  export const codec = (): Codec<InputMode> => {
    return enumeration<InputMode>(__InputModeValues)
  }
}

export interface SegmentSpec {
  index: number
  startBlock: bigint
  blockCount: bigint
  inputOffset: bigint
  inputLength: bigint
  inputSha256: Uint8Array<ArrayBuffer>
}

export namespace SegmentSpec {
  let _codec: Codec<SegmentSpec>

  export const codec = (): Codec<SegmentSpec> => {
    if (_codec == null) {
      _codec = message<SegmentSpec>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.index != null && obj.index !== 0)) {
          w.uint32(8)
          w.uint32(obj.index)
        }

        if ((obj.startBlock != null && obj.startBlock !== 0n)) {
          w.uint32(16)
          w.uint64(obj.startBlock)
        }

        if ((obj.blockCount != null && obj.blockCount !== 0n)) {
          w.uint32(24)
          w.uint64(obj.blockCount)
        }

        if ((obj.inputOffset != null && obj.inputOffset !== 0n)) {
          w.uint32(32)
          w.uint64(obj.inputOffset)
        }

        if ((obj.inputLength != null && obj.inputLength !== 0n)) {
          w.uint32(40)
          w.uint64(obj.inputLength)
        }

        if ((obj.inputSha256 != null && obj.inputSha256.byteLength > 0)) {
          w.uint32(50)
          w.bytes(obj.inputSha256)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          index: 0,
          startBlock: 0n,
          blockCount: 0n,
          inputOffset: 0n,
          inputLength: 0n,
          inputSha256: uint8ArrayAlloc(0)
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
              obj.startBlock = reader.uint64()
              break
            }
            case 3: {
              obj.blockCount = reader.uint64()
              break
            }
            case 4: {
              obj.inputOffset = reader.uint64()
              break
            }
            case 5: {
              obj.inputLength = reader.uint64()
              break
            }
            case 6: {
              obj.inputSha256 = reader.bytes()
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
                field: `${prefix}.startBlock`,
                value: reader.uint64()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.blockCount`,
                value: reader.uint64()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.inputOffset`,
                value: reader.uint64()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.inputLength`,
                value: reader.uint64()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.inputSha256`,
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

  export interface SegmentSpecIndexFieldEvent {
    field: '$.index'
    value: number
  }

  export interface SegmentSpecStartBlockFieldEvent {
    field: '$.startBlock'
    value: bigint
  }

  export interface SegmentSpecBlockCountFieldEvent {
    field: '$.blockCount'
    value: bigint
  }

  export interface SegmentSpecInputOffsetFieldEvent {
    field: '$.inputOffset'
    value: bigint
  }

  export interface SegmentSpecInputLengthFieldEvent {
    field: '$.inputLength'
    value: bigint
  }

  export interface SegmentSpecInputSha256FieldEvent {
    field: '$.inputSha256'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<SegmentSpec>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, SegmentSpec.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SegmentSpec>): SegmentSpec {
    return decodeMessage(buf, SegmentSpec.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SegmentSpec>): Generator<SegmentSpecIndexFieldEvent | SegmentSpecStartBlockFieldEvent | SegmentSpecBlockCountFieldEvent | SegmentSpecInputOffsetFieldEvent | SegmentSpecInputLengthFieldEvent | SegmentSpecInputSha256FieldEvent> {
    return streamMessage(buf, SegmentSpec.codec(), opts)
  }
}

export interface Assign {
  inputSize: bigint
  inputMode: InputMode
  inputName: string
  hints: boolean
  segments: SegmentSpec[]
}

export namespace Assign {
  let _codec: Codec<Assign>

  export const codec = (): Codec<Assign> => {
    if (_codec == null) {
      _codec = message<Assign>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.inputSize != null && obj.inputSize !== 0n)) {
          w.uint32(8)
          w.uint64(obj.inputSize)
        }

        if (obj.inputMode != null && __InputModeValues[obj.inputMode] !== 0) {
          w.uint32(16)
          InputMode.codec().encode(obj.inputMode, w)
        }

        if ((obj.inputName != null && obj.inputName !== '')) {
          w.uint32(26)
          w.string(obj.inputName)
        }

        if ((obj.hints != null && obj.hints !== false)) {
          w.uint32(32)
          w.bool(obj.hints)
        }

        if (obj.segments != null && obj.segments.length > 0) {
          for (const value of obj.segments) {
            w.uint32(42)
            SegmentSpec.codec().encode(value, w)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          inputSize: 0n,
          inputMode: InputMode.DATA,
          inputName: '',
          hints: false,
          segments: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.inputSize = reader.uint64()
              break
            }
            case 2: {
              obj.inputMode = InputMode.codec().decode(reader)
              break
            }
            case 3: {
              obj.inputName = reader.string()
              break
            }
            case 4: {
              obj.hints = reader.bool()
              break
            }
            case 5: {
              if (opts.limits?.segments != null && obj.segments.length === opts.limits.segments) {
                throw new MaxLengthError('Decode error - repeated field "segments" had too many elements')
              }

              obj.segments.push(SegmentSpec.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.segments$
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
          segments: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.inputSize`,
                value: reader.uint64()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.inputMode`,
                value: InputMode.codec().decode(reader)
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.inputName`,
                value: reader.string()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.hints`,
                value: reader.bool()
              }
              break
            }
            case 5: {
              if (opts.limits?.segments != null && obj.segments === opts.limits.segments) {
                throw new MaxLengthError('Streaming decode error - repeated field "segments" had too many elements')
              }

              for (const evt of SegmentSpec.codec().stream(reader, reader.uint32(), `${prefix}.segments[]`, {
                limits: opts.limits?.segments$
              })) {
                yield {
                  ...evt,
                  index: obj.segments
                }
              }

              obj.segments++

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

  export interface AssignInputSizeFieldEvent {
    field: '$.inputSize'
    value: bigint
  }

  export interface AssignInputModeFieldEvent {
    field: '$.inputMode'
    value: InputMode
  }

  export interface AssignInputNameFieldEvent {
    field: '$.inputName'
    value: string
  }

  export interface AssignHintsFieldEvent {
    field: '$.hints'
    value: boolean
  }

  export interface AssignSegmentsIndexFieldEvent {
    field: '$.segments[].index'
    value: number
    index: number
  }

  export interface AssignSegmentsStartBlockFieldEvent {
    field: '$.segments[].startBlock'
    value: bigint
    index: number
  }

  export interface AssignSegmentsBlockCountFieldEvent {
    field: '$.segments[].blockCount'
    value: bigint
    index: number
  }

  export interface AssignSegmentsInputOffsetFieldEvent {
    field: '$.segments[].inputOffset'
    value: bigint
    index: number
  }

  export interface AssignSegmentsInputLengthFieldEvent {
    field: '$.segments[].inputLength'
    value: bigint
    index: number
  }

  export interface AssignSegmentsInputSha256FieldEvent {
    field: '$.segments[].inputSha256'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export function encode (obj: Partial<Assign>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Assign.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Assign>): Assign {
    return decodeMessage(buf, Assign.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Assign>): Generator<AssignInputSizeFieldEvent | AssignInputModeFieldEvent | AssignInputNameFieldEvent | AssignHintsFieldEvent | AssignSegmentsIndexFieldEvent | AssignSegmentsStartBlockFieldEvent | AssignSegmentsBlockCountFieldEvent | AssignSegmentsInputOffsetFieldEvent | AssignSegmentsInputLengthFieldEvent | AssignSegmentsInputSha256FieldEvent> {
    return streamMessage(buf, Assign.codec(), opts)
  }
}

export interface Contribution {
  segment: number
  contribution: Uint8Array<ArrayBuffer>
}

export namespace Contribution {
  let _codec: Codec<Contribution>

  export const codec = (): Codec<Contribution> => {
    if (_codec == null) {
      _codec = message<Contribution>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.segment != null && obj.segment !== 0)) {
          w.uint32(8)
          w.uint32(obj.segment)
        }

        if ((obj.contribution != null && obj.contribution.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.contribution)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          segment: 0,
          contribution: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.segment = reader.uint32()
              break
            }
            case 2: {
              obj.contribution = reader.bytes()
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
                field: `${prefix}.segment`,
                value: reader.uint32()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.contribution`,
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

  export interface ContributionSegmentFieldEvent {
    field: '$.segment'
    value: number
  }

  export interface ContributionContributionFieldEvent {
    field: '$.contribution'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<Contribution>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Contribution.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Contribution>): Contribution {
    return decodeMessage(buf, Contribution.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Contribution>): Generator<ContributionSegmentFieldEvent | ContributionContributionFieldEvent> {
    return streamMessage(buf, Contribution.codec(), opts)
  }
}

export interface Challenge {
  challenge: Uint8Array<ArrayBuffer>
}

export namespace Challenge {
  let _codec: Codec<Challenge>

  export const codec = (): Codec<Challenge> => {
    if (_codec == null) {
      _codec = message<Challenge>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.challenge != null && obj.challenge.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.challenge)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          challenge: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.challenge = reader.bytes()
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
                field: `${prefix}.challenge`,
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

  export interface ChallengeChallengeFieldEvent {
    field: '$.challenge'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<Challenge>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Challenge.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Challenge>): Challenge {
    return decodeMessage(buf, Challenge.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Challenge>): Generator<ChallengeChallengeFieldEvent> {
    return streamMessage(buf, Challenge.codec(), opts)
  }
}

export interface Proved {
  segment: number
  size: bigint
  sha256: Uint8Array<ArrayBuffer>
  millis: number
}

export namespace Proved {
  let _codec: Codec<Proved>

  export const codec = (): Codec<Proved> => {
    if (_codec == null) {
      _codec = message<Proved>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.segment != null && obj.segment !== 0)) {
          w.uint32(8)
          w.uint32(obj.segment)
        }

        if ((obj.size != null && obj.size !== 0n)) {
          w.uint32(16)
          w.uint64(obj.size)
        }

        if ((obj.sha256 != null && obj.sha256.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.sha256)
        }

        if ((obj.millis != null && obj.millis !== 0)) {
          w.uint32(32)
          w.uint32(obj.millis)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          segment: 0,
          size: 0n,
          sha256: uint8ArrayAlloc(0),
          millis: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.segment = reader.uint32()
              break
            }
            case 2: {
              obj.size = reader.uint64()
              break
            }
            case 3: {
              obj.sha256 = reader.bytes()
              break
            }
            case 4: {
              obj.millis = reader.uint32()
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
                field: `${prefix}.segment`,
                value: reader.uint32()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.size`,
                value: reader.uint64()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.sha256`,
                value: reader.bytes()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.millis`,
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

  export interface ProvedSegmentFieldEvent {
    field: '$.segment'
    value: number
  }

  export interface ProvedSizeFieldEvent {
    field: '$.size'
    value: bigint
  }

  export interface ProvedSha256FieldEvent {
    field: '$.sha256'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ProvedMillisFieldEvent {
    field: '$.millis'
    value: number
  }

  export function encode (obj: Partial<Proved>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Proved.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Proved>): Proved {
    return decodeMessage(buf, Proved.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Proved>): Generator<ProvedSegmentFieldEvent | ProvedSizeFieldEvent | ProvedSha256FieldEvent | ProvedMillisFieldEvent> {
    return streamMessage(buf, Proved.codec(), opts)
  }
}

export interface Progress {
  phase: string
  segment: number
  done: number
  total: number
}

export namespace Progress {
  let _codec: Codec<Progress>

  export const codec = (): Codec<Progress> => {
    if (_codec == null) {
      _codec = message<Progress>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.phase != null && obj.phase !== '')) {
          w.uint32(10)
          w.string(obj.phase)
        }

        if ((obj.segment != null && obj.segment !== 0)) {
          w.uint32(16)
          w.uint32(obj.segment)
        }

        if ((obj.done != null && obj.done !== 0)) {
          w.uint32(24)
          w.uint32(obj.done)
        }

        if ((obj.total != null && obj.total !== 0)) {
          w.uint32(32)
          w.uint32(obj.total)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          phase: '',
          segment: 0,
          done: 0,
          total: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.phase = reader.string()
              break
            }
            case 2: {
              obj.segment = reader.uint32()
              break
            }
            case 3: {
              obj.done = reader.uint32()
              break
            }
            case 4: {
              obj.total = reader.uint32()
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
                field: `${prefix}.phase`,
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
                field: `${prefix}.done`,
                value: reader.uint32()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.total`,
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

  export interface ProgressPhaseFieldEvent {
    field: '$.phase'
    value: string
  }

  export interface ProgressSegmentFieldEvent {
    field: '$.segment'
    value: number
  }

  export interface ProgressDoneFieldEvent {
    field: '$.done'
    value: number
  }

  export interface ProgressTotalFieldEvent {
    field: '$.total'
    value: number
  }

  export function encode (obj: Partial<Progress>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Progress.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Progress>): Progress {
    return decodeMessage(buf, Progress.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Progress>): Generator<ProgressPhaseFieldEvent | ProgressSegmentFieldEvent | ProgressDoneFieldEvent | ProgressTotalFieldEvent> {
    return streamMessage(buf, Progress.codec(), opts)
  }
}

export interface AggregateRole {
  contributions: Uint8Array<ArrayBuffer>[]
}

export namespace AggregateRole {
  let _codec: Codec<AggregateRole>

  export const codec = (): Codec<AggregateRole> => {
    if (_codec == null) {
      _codec = message<AggregateRole>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.contributions != null && obj.contributions.length > 0) {
          for (const value of obj.contributions) {
            w.uint32(10)
            w.bytes(value)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          contributions: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.contributions != null && obj.contributions.length === opts.limits.contributions) {
                throw new MaxLengthError('Decode error - repeated field "contributions" had too many elements')
              }

              obj.contributions.push(reader.bytes())
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
          contributions: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.contributions != null && obj.contributions === opts.limits.contributions) {
                throw new MaxLengthError('Streaming decode error - repeated field "contributions" had too many elements')
              }

              yield {
                field: `${prefix}.contributions[]`,
                index: obj.contributions,
                value: reader.bytes()
              }

              obj.contributions++

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

  export interface AggregateRoleContributionsFieldEvent {
    field: '$.contributions[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<AggregateRole>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, AggregateRole.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<AggregateRole>): AggregateRole {
    return decodeMessage(buf, AggregateRole.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<AggregateRole>): Generator<AggregateRoleContributionsFieldEvent> {
    return streamMessage(buf, AggregateRole.codec(), opts)
  }
}

export interface FetchProof {
  segment: number
  peerId: string
  addrs: Uint8Array<ArrayBuffer>[]
  size: bigint
  sha256: Uint8Array<ArrayBuffer>
}

export namespace FetchProof {
  let _codec: Codec<FetchProof>

  export const codec = (): Codec<FetchProof> => {
    if (_codec == null) {
      _codec = message<FetchProof>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.segment != null && obj.segment !== 0)) {
          w.uint32(8)
          w.uint32(obj.segment)
        }

        if ((obj.peerId != null && obj.peerId !== '')) {
          w.uint32(18)
          w.string(obj.peerId)
        }

        if (obj.addrs != null && obj.addrs.length > 0) {
          for (const value of obj.addrs) {
            w.uint32(26)
            w.bytes(value)
          }
        }

        if ((obj.size != null && obj.size !== 0n)) {
          w.uint32(32)
          w.uint64(obj.size)
        }

        if ((obj.sha256 != null && obj.sha256.byteLength > 0)) {
          w.uint32(42)
          w.bytes(obj.sha256)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          segment: 0,
          peerId: '',
          addrs: [],
          size: 0n,
          sha256: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.segment = reader.uint32()
              break
            }
            case 2: {
              obj.peerId = reader.string()
              break
            }
            case 3: {
              if (opts.limits?.addrs != null && obj.addrs.length === opts.limits.addrs) {
                throw new MaxLengthError('Decode error - repeated field "addrs" had too many elements')
              }

              obj.addrs.push(reader.bytes())
              break
            }
            case 4: {
              obj.size = reader.uint64()
              break
            }
            case 5: {
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
        const obj = {
          addrs: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.segment`,
                value: reader.uint32()
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
            case 4: {
              yield {
                field: `${prefix}.size`,
                value: reader.uint64()
              }
              break
            }
            case 5: {
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

  export interface FetchProofSegmentFieldEvent {
    field: '$.segment'
    value: number
  }

  export interface FetchProofPeerIdFieldEvent {
    field: '$.peerId'
    value: string
  }

  export interface FetchProofAddrsFieldEvent {
    field: '$.addrs[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export interface FetchProofSizeFieldEvent {
    field: '$.size'
    value: bigint
  }

  export interface FetchProofSha256FieldEvent {
    field: '$.sha256'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<FetchProof>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, FetchProof.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<FetchProof>): FetchProof {
    return decodeMessage(buf, FetchProof.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<FetchProof>): Generator<FetchProofSegmentFieldEvent | FetchProofPeerIdFieldEvent | FetchProofAddrsFieldEvent | FetchProofSizeFieldEvent | FetchProofSha256FieldEvent> {
    return streamMessage(buf, FetchProof.codec(), opts)
  }
}

export interface Final {
  digest: Uint8Array<ArrayBuffer>
  size: bigint
  sha256: Uint8Array<ArrayBuffer>
  segments: number
}

export namespace Final {
  let _codec: Codec<Final>

  export const codec = (): Codec<Final> => {
    if (_codec == null) {
      _codec = message<Final>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.digest != null && obj.digest.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.digest)
        }

        if ((obj.size != null && obj.size !== 0n)) {
          w.uint32(16)
          w.uint64(obj.size)
        }

        if ((obj.sha256 != null && obj.sha256.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.sha256)
        }

        if ((obj.segments != null && obj.segments !== 0)) {
          w.uint32(32)
          w.uint32(obj.segments)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          digest: uint8ArrayAlloc(0),
          size: 0n,
          sha256: uint8ArrayAlloc(0),
          segments: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.digest = reader.bytes()
              break
            }
            case 2: {
              obj.size = reader.uint64()
              break
            }
            case 3: {
              obj.sha256 = reader.bytes()
              break
            }
            case 4: {
              obj.segments = reader.uint32()
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
                field: `${prefix}.digest`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.size`,
                value: reader.uint64()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.sha256`,
                value: reader.bytes()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.segments`,
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

  export interface FinalDigestFieldEvent {
    field: '$.digest'
    value: Uint8Array<ArrayBuffer>
  }

  export interface FinalSizeFieldEvent {
    field: '$.size'
    value: bigint
  }

  export interface FinalSha256FieldEvent {
    field: '$.sha256'
    value: Uint8Array<ArrayBuffer>
  }

  export interface FinalSegmentsFieldEvent {
    field: '$.segments'
    value: number
  }

  export function encode (obj: Partial<Final>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Final.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Final>): Final {
    return decodeMessage(buf, Final.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Final>): Generator<FinalDigestFieldEvent | FinalSizeFieldEvent | FinalSha256FieldEvent | FinalSegmentsFieldEvent> {
    return streamMessage(buf, Final.codec(), opts)
  }
}

export enum FailCode {
  INTERNAL = 'INTERNAL',
  INPUT = 'INPUT',
  HINTS = 'HINTS',
  PROVER = 'PROVER',
  PROOF_INVALID = 'PROOF_INVALID',
  TIMEOUT = 'TIMEOUT',
  CANCELLED = 'CANCELLED',
  PROTOCOL = 'PROTOCOL',
  TRANSFER = 'TRANSFER'
}

enum __FailCodeValues {
  INTERNAL = 0,
  INPUT = 1,
  HINTS = 2,
  PROVER = 3,
  PROOF_INVALID = 4,
  TIMEOUT = 5,
  CANCELLED = 6,
  PROTOCOL = 7,
  TRANSFER = 8
}

export namespace FailCode {
  export const codec = (): Codec<FailCode> => {
    return enumeration<FailCode>(__FailCodeValues)
  }
}

export interface Failed {
  code: FailCode
  message: string
  segment?: number
  proofSha256: Uint8Array<ArrayBuffer>
}

export namespace Failed {
  let _codec: Codec<Failed>

  export const codec = (): Codec<Failed> => {
    if (_codec == null) {
      _codec = message<Failed>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.code != null && __FailCodeValues[obj.code] !== 0) {
          w.uint32(8)
          FailCode.codec().encode(obj.code, w)
        }

        if ((obj.message != null && obj.message !== '')) {
          w.uint32(18)
          w.string(obj.message)
        }

        if (obj.segment != null) {
          w.uint32(24)
          w.uint32(obj.segment)
        }

        if ((obj.proofSha256 != null && obj.proofSha256.byteLength > 0)) {
          w.uint32(34)
          w.bytes(obj.proofSha256)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          code: FailCode.INTERNAL,
          message: '',
          proofSha256: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.code = FailCode.codec().decode(reader)
              break
            }
            case 2: {
              obj.message = reader.string()
              break
            }
            case 3: {
              obj.segment = reader.uint32()
              break
            }
            case 4: {
              obj.proofSha256 = reader.bytes()
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
                field: `${prefix}.code`,
                value: FailCode.codec().decode(reader)
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
                field: `${prefix}.segment`,
                value: reader.uint32()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.proofSha256`,
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

  export interface FailedCodeFieldEvent {
    field: '$.code'
    value: FailCode
  }

  export interface FailedMessageFieldEvent {
    field: '$.message'
    value: string
  }

  export interface FailedSegmentFieldEvent {
    field: '$.segment'
    value: number
  }

  export interface FailedProofSha256FieldEvent {
    field: '$.proofSha256'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<Failed>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Failed.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Failed>): Failed {
    return decodeMessage(buf, Failed.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Failed>): Generator<FailedCodeFieldEvent | FailedMessageFieldEvent | FailedSegmentFieldEvent | FailedProofSha256FieldEvent> {
    return streamMessage(buf, Failed.codec(), opts)
  }
}

export interface Forget {
  segments: number[]
}

export namespace Forget {
  let _codec: Codec<Forget>

  export const codec = (): Codec<Forget> => {
    if (_codec == null) {
      _codec = message<Forget>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.segments != null && obj.segments.length > 0) {
          for (const value of obj.segments) {
            w.uint32(8)
            w.uint32(value)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          segments: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.segments != null && obj.segments.length === opts.limits.segments) {
                throw new MaxLengthError('Decode error - repeated field "segments" had too many elements')
              }

              obj.segments.push(reader.uint32())
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
          segments: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.segments != null && obj.segments === opts.limits.segments) {
                throw new MaxLengthError('Streaming decode error - repeated field "segments" had too many elements')
              }

              yield {
                field: `${prefix}.segments[]`,
                index: obj.segments,
                value: reader.uint32()
              }

              obj.segments++

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

  export interface ForgetSegmentsFieldEvent {
    field: '$.segments[]'
    index: number
    value: number
  }

  export function encode (obj: Partial<Forget>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Forget.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Forget>): Forget {
    return decodeMessage(buf, Forget.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Forget>): Generator<ForgetSegmentsFieldEvent> {
    return streamMessage(buf, Forget.codec(), opts)
  }
}

export interface KeepAlive {}

export namespace KeepAlive {
  let _codec: Codec<KeepAlive>

  export const codec = (): Codec<KeepAlive> => {
    if (_codec == null) {
      _codec = message<KeepAlive>((obj, w, opts = {}) => {
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

  export function encode (obj: Partial<KeepAlive>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, KeepAlive.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<KeepAlive>): KeepAlive {
    return decodeMessage(buf, KeepAlive.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<KeepAlive>): Generator<{}> {
    return streamMessage(buf, KeepAlive.codec(), opts)
  }
}

export interface Cancel {
  reason: string
}

export namespace Cancel {
  let _codec: Codec<Cancel>

  export const codec = (): Codec<Cancel> => {
    if (_codec == null) {
      _codec = message<Cancel>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.reason != null && obj.reason !== '')) {
          w.uint32(10)
          w.string(obj.reason)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          reason: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.reason = reader.string()
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
                field: `${prefix}.reason`,
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

  export interface CancelReasonFieldEvent {
    field: '$.reason'
    value: string
  }

  export function encode (obj: Partial<Cancel>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Cancel.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Cancel>): Cancel {
    return decodeMessage(buf, Cancel.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Cancel>): Generator<CancelReasonFieldEvent> {
    return streamMessage(buf, Cancel.codec(), opts)
  }
}

export interface Release {}

export namespace Release {
  let _codec: Codec<Release>

  export const codec = (): Codec<Release> => {
    if (_codec == null) {
      _codec = message<Release>((obj, w, opts = {}) => {
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

  export function encode (obj: Partial<Release>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Release.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Release>): Release {
    return decodeMessage(buf, Release.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Release>): Generator<{}> {
    return streamMessage(buf, Release.codec(), opts)
  }
}
