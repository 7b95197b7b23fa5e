/**
 * What the fuzzer writes on the five stream protocols, a generator of frames for each (most of them close to a
 * valid exchange: messages in order or not, fields right or wrong), and the garbage that the fuzzer's own proof
 * server answers a daemon that pulls a proof from it.
 */
import type { Stream } from '@libp2p/interface'
import { HintsChunk, HintsKind } from '../../../protocols/hints/pb/hints.js'
import { InputsHeader } from '../../../protocols/inputs/pb/inputs.js'
import {
  type Assign,
  type FetchProof,
  InputMode,
  type Reserve,
  type SegmentSpec,
  SubmitterFrame
} from '../../../protocols/job/pb/job.js'
import { ProofHeader, ProofRequest } from '../../../protocols/proof/pb/proof.js'
import { StatusRequest } from '../../../protocols/status/pb/status.js'
import { MAX_HEADER_BYTES } from '../../../protocols/bulk/constants.js'
import { MAX_HINTS_CHUNK_BYTES } from '../../../protocols/hints/constants.js'
import { MAX_STATUS_BYTES } from '../../../protocols/status/constants.js'
import { concat, empty, type FrameCase, lengthPrefixed, protobufNoise, sha256, varint } from './bytes.js'
import { type FuzzContext } from './context.js'
import { randomString, type Rng } from './rng.js'
import { CASE_DEADLINE_MS, PROGRAM } from './settings.js'

export function fuzzJobId(rng: Rng): string {
  switch (rng.int(10)) {
    case 0:
      return ''
    case 1:
      return 'x'.repeat(rng.pick([64, 65, 1000]))
    case 2:
      return rng.pick(['../etc', '..', '/tmp/x', 'a/b', 'a\u0000b', 'é'])
    case 3:
      return randomString(rng)
    default:
      // a small pool, so that cases collide with each other's leases
      return `fz${rng.int(512).toString(36)}`
  }
}

function reserveMessage(rng: Rng, jobId: string, inputSize: bigint, valid: boolean): Reserve {
  return {
    jobId,
    program: valid || rng.bool(0.7) ? PROGRAM : rng.pick(['', 'nope', randomString(rng)]),
    units: valid ? rng.range(1, 3) : rng.pick([0, 1, 2, 1000, 2 ** 32 - 1, rng.u32()]),
    minUnits: valid ? rng.range(0, 1) : rng.pick([0, 1, 9, 2 ** 32 - 1]),
    inputSize: valid ? inputSize : rng.pick([inputSize, 0n, rng.u64(), 2n ** 64n - 1n]),
    leaseMs: valid ? rng.range(500, 60_000) : rng.pick([0, 499, 500, 600_000, 600_001, rng.u32()]),
    keepAliveMs: rng.pick([0, 1, 100, 1000, 60_000, rng.u32()])
  }
}

function segmentSpec(rng: Rng, inputSize: bigint, index: number): SegmentSpec {
  const size = Number(inputSize)
  const offset = rng.bool(0.9) ? rng.int(size) : size + rng.int(10)
  return {
    index,
    startBlock: rng.bool(0.9) ? BigInt(rng.int(64)) : rng.u64(),
    blockCount: rng.bool(0.9) ? BigInt(rng.range(1, 64)) : rng.u64(),
    inputOffset: BigInt(offset),
    inputLength: rng.bool(0.9) ? BigInt(rng.int(Math.max(0, size - offset) + 1)) : rng.u64(),
    inputSha256: rng.bytes(rng.bool(0.9) ? 32 : rng.int(64))
  }
}

function assignMessage(rng: Rng, inputSize: bigint, valid: boolean): Assign {
  const mode = rng.bool(0.7) ? InputMode.DATA : InputMode.PATH
  const count = rng.range(valid ? 1 : 0, 4)
  const segments = Array.from({ length: count }, (_, i) =>
    segmentSpec(rng, inputSize, valid ? i : rng.pick([i, 0, rng.u32()]))
  )
  const inputName =
    mode === InputMode.PATH
      ? rng.pick([
          'input.bin',
          '../input.bin',
          '/etc/passwd',
          'a/../../b',
          '',
          '.',
          'x'.repeat(300),
          randomString(rng)
        ])
      : rng.bool(0.9)
        ? ''
        : randomString(rng)
  return {
    inputSize: valid ? inputSize : rng.pick([inputSize, inputSize + 1n, 0n, rng.u64()]),
    inputMode: mode,
    inputName,
    hints: rng.bool(0.3),
    segments
  }
}

/** A FetchProof; `toFuzzer`: mostly one the daemon can act on, pulling segment 0 from the fuzzer's proof server */
function fetchMessage(rng: Rng, ctx: FuzzContext, toFuzzer = false): FetchProof {
  const ours = ctx.host.getMultiaddrs().map((addr) => new Uint8Array(addr.bytes))
  const fuzzer = ctx.host.peerId.toString()
  return {
    segment: toFuzzer && rng.bool(0.7) ? 0 : rng.pick([0, 1, 2, 3, rng.u32()]),
    peerId:
      toFuzzer && rng.bool(0.8)
        ? fuzzer
        : rng.pick([fuzzer, ctx.daemonId.toString(), ctx.strangerId, '', 'not-a-peer-id', randomString(rng)]),
    addrs: rng.bool(0.7) ? ours : Array.from({ length: rng.int(3) }, () => rng.bytes(rng.int(40))),
    size: rng.pick([0n, 100n, 4096n, rng.u64()]),
    sha256: rng.bytes(rng.bool(0.9) ? 32 : rng.int(40))
  }
}

/** An envelope with zero to three fields set, each with random content */
function randomEnvelope(rng: Rng, ctx: FuzzContext): SubmitterFrame {
  const frame: SubmitterFrame = {}
  const inputSize = BigInt(rng.range(1, 1 << 20))
  const count = rng.pick([0, 1, 1, 1, 2, 3])
  for (let i = 0; i < count; i++) {
    switch (rng.int(9)) {
      case 0:
        frame.reserve = reserveMessage(rng, fuzzJobId(rng), inputSize, rng.bool(0.5))
        break
      case 1:
        frame.assign = assignMessage(rng, inputSize, rng.bool(0.5))
        break
      case 2:
        frame.challenge = { challenge: rng.bytes(rng.pick([0, 31, 32, 33, rng.int(200)])) }
        break
      case 3:
        frame.aggregate = { contributions: Array.from({ length: rng.int(6) }, () => rng.bytes(rng.int(80))) }
        break
      case 4:
        frame.fetch = fetchMessage(rng, ctx)
        break
      case 5:
        frame.keepAlive = {}
        break
      case 6:
        frame.cancel = { reason: randomString(rng, 200) }
        break
      case 7:
        frame.release = {}
        break
      default:
        frame.forget = { segments: Array.from({ length: rng.int(8) }, () => rng.u32()) }
    }
  }
  return frame
}

export function jobCase(rng: Rng, ctx: FuzzContext): FrameCase {
  const jobId = fuzzJobId(rng)
  const inputSize = BigInt(rng.range(1, 1 << 20))
  const encode = (frame: SubmitterFrame): Uint8Array => SubmitterFrame.encode(frame)
  const R = (): Uint8Array => encode({ reserve: reserveMessage(rng, jobId, inputSize, rng.bool(0.8)) })
  const A = (): Uint8Array => encode({ assign: assignMessage(rng, inputSize, rng.bool(0.8)) })
  const C = (): Uint8Array =>
    encode({ challenge: { challenge: rng.bytes(rng.bool(0.85) ? 32 : rng.int(80)) } })
  const G = (): Uint8Array =>
    encode({
      aggregate: { contributions: Array.from({ length: rng.int(5) }, () => rng.bytes(rng.int(80))) }
    })
  const F = (): Uint8Array => encode({ fetch: fetchMessage(rng, ctx, true) })
  const K = (): Uint8Array => encode({ keepAlive: {} })
  const X = (): Uint8Array => encode({ cancel: { reason: randomString(rng) } })
  const L = (): Uint8Array => encode({ release: {} })
  const O = (): Uint8Array =>
    encode({ forget: { segments: Array.from({ length: rng.int(6) }, () => rng.u32()) } })
  const Z = (): Uint8Array => encode(randomEnvelope(rng, ctx))
  const templates: Array<[string, Array<() => Uint8Array>]> = [
    ['Reserve', [R]],
    ['Reserve Assign', [R, A]],
    ['Reserve Assign Challenge Aggregate Fetch Fetch', [R, A, C, G, F, F]],
    ['Reserve Challenge Aggregate Fetch', [R, C, G, F]],
    ['Reserve Assign Challenge Aggregate Fetch Release', [R, A, C, G, F, L]],
    ['Assign Reserve', [A, R]],
    ['Reserve Reserve', [R, R]],
    ['Reserve Assign Assign', [R, A, A]],
    ['Reserve Challenge Challenge', [R, C, C]],
    ['Reserve Aggregate', [R, G]],
    ['Reserve Fetch', [R, F]],
    ['Reserve Challenge Aggregate Aggregate', [R, C, G, G]],
    ['Reserve Release Assign', [R, L, A]],
    ['Reserve Cancel Assign', [R, X, A]],
    ['Reserve KeepAlive Forget KeepAlive', [R, K, O, K]],
    ['Reserve random random random', [R, Z, Z, Z]],
    ['random', [Z]],
    ['random random random', [Z, Z, Z]]
  ]
  const [label, makers] = rng.pick(templates)
  const frames = makers.map((make) => make())
  // a FetchProof makes the daemon pull from the fuzzer (its garbage proof server), while the session lives
  const linger = makers.includes(F)
  if (rng.bool(0.3)) {
    // one frame out of place
    const at = rng.int(frames.length + 1)
    frames.splice(at, 0, Z())
    return { label: `${label} (random frame at ${at})`, frames, linger }
  }
  return { label, frames, linger }
}

export function inputsCase(rng: Rng, ctx: FuzzContext): FrameCase {
  const anchor = ctx.anchors.length > 0 && rng.bool(0.75) ? rng.pick(ctx.anchors) : undefined
  if (anchor === undefined || rng.bool(0.25)) {
    const header: InputsHeader = {
      jobId: anchor !== undefined && rng.bool(0.5) ? anchor.jobId : fuzzJobId(rng),
      segment: rng.pick([0, 1, 2, 3, rng.u32()]),
      offset: rng.pick([0n, BigInt(rng.int(5000)), rng.u64()]),
      length: rng.pick([0n, BigInt(rng.int(5000)), rng.u64()]),
      total: rng.pick([0n, 4096n, BigInt(rng.int(5000)), rng.u64()]),
      sha256: rng.bytes(rng.pick([0, 31, 32, 32, 33]))
    }
    return {
      label: 'InputsHeader (random fields) + bytes',
      frames: [InputsHeader.encode(header)],
      tail: rng.bytes(rng.size(4096))
    }
  }
  const { spec, data } = rng.pick(anchor.segments)
  const header: InputsHeader = {
    jobId: anchor.jobId,
    segment: spec.index,
    offset: spec.inputOffset,
    length: spec.inputLength,
    total: BigInt(anchor.input.byteLength),
    sha256: spec.inputSha256
  }
  const flipped = new Uint8Array(data)
  const at = rng.int(flipped.byteLength)
  flipped[at] = (flipped[at] ?? 0) ^ 1
  const tails: Array<[string, Uint8Array]> = [
    ['the slice', data],
    ['the slice with a bit flipped', flipped],
    ['half the slice', data.subarray(0, data.byteLength >> 1)],
    ['the slice and more', concat([data, rng.bytes(rng.range(1, 2048))])],
    ['random bytes as many', rng.bytes(data.byteLength)],
    ['nothing', empty()],
    ['a second header', lengthPrefixed(InputsHeader.encode(header))]
  ]
  const [what, tail] = rng.pick(tails)
  return {
    label: `InputsHeader of ${anchor.jobId} segment ${spec.index} + ${what}`,
    frames: [InputsHeader.encode(header)],
    tail
  }
}

export function hintsCase(rng: Rng, ctx: FuzzContext): FrameCase {
  const anchor = ctx.anchors.length > 0 ? rng.pick(ctx.anchors) : undefined
  const jobId = anchor !== undefined && rng.bool(0.8) ? anchor.jobId : fuzzJobId(rng)
  const chunks = Array.from({ length: rng.int(5) }, () =>
    rng.bytes(rng.bool(0.97) ? rng.int(2048) : MAX_HINTS_CHUNK_BYTES + rng.range(1, 300))
  )
  const all = concat(chunks)
  const chunk = (kind: HintsKind, seq: bigint, fields: Partial<HintsChunk> = {}): HintsChunk => ({
    kind,
    seq,
    jobId: '',
    data: empty(),
    total: 0n,
    sha256: empty(),
    ...fields
  })
  let sequence: HintsChunk[] = [
    chunk(HintsKind.START, 0n, { jobId }),
    ...chunks.map((data, i) => chunk(HintsKind.DATA, BigInt(i + 1), { data })),
    chunk(HintsKind.END, BigInt(chunks.length + 1), { total: BigInt(all.byteLength), sha256: sha256(all) })
  ]
  let label = 'START DATA* END'
  if (rng.bool(0.6)) {
    const start = sequence[0] as HintsChunk
    const end = sequence[sequence.length - 1] as HintsChunk
    const target = sequence[rng.int(sequence.length)] as HintsChunk
    switch (rng.int(9)) {
      case 0:
        sequence = [...sequence.slice(1, 2), start, ...sequence.slice(2)]
        label += ', DATA before START'
        break
      case 1:
        sequence.splice(rng.range(1, sequence.length), 0, { ...start })
        label += ', a second START'
        break
      case 2:
        target.seq = rng.bool(0.7) ? target.seq + BigInt(rng.range(1, 4)) : rng.u64()
        label += `, seq ${target.seq} out of order`
        break
      case 3:
        end.total = rng.bool(0.7) ? end.total + 1n : rng.u64()
        label += ', END with another total'
        break
      case 4:
        end.sha256 = rng.bytes(rng.pick([0, 32]))
        label += ', END with another SHA-256'
        break
      case 5:
        sequence.pop()
        label += ', no END'
        break
      case 6:
        start.seq = rng.pick([1n, rng.u64()])
        label += ', START not at seq 0'
        break
      case 7:
        sequence = [end]
        label = 'END alone'
        break
      default:
        start.jobId = fuzzJobId(rng)
        label += ', START of another job'
    }
  }
  return { label: `${label} (${jobId})`, frames: sequence.map((message) => HintsChunk.encode(message)) }
}

export function proofCase(rng: Rng, ctx: FuzzContext): FrameCase {
  const anchor = ctx.anchors.length > 0 ? rng.pick(ctx.anchors) : undefined
  const request = (): ProofRequest => ({
    jobId: anchor !== undefined && rng.bool(0.6) ? anchor.jobId : fuzzJobId(rng),
    ...(rng.bool(0.7) ? { segment: rng.pick([0, 1, 2, 3, rng.u32()]) } : {}),
    // the anchors' submitter is the fuzzing host itself
    submitter: rng.bool(0.7) ? ctx.host.peerId.toString() : ctx.strangerId
  })
  const frames = [ProofRequest.encode(request())]
  if (rng.bool(0.1)) frames.push(ProofRequest.encode(request()))
  return {
    label: frames.length > 1 ? 'two ProofRequests' : 'ProofRequest',
    frames,
    ...(rng.bool(0.1) ? { tail: rng.bytes(rng.size(2048)) } : {})
  }
}

export function statusCase(rng: Rng): FrameCase {
  switch (rng.int(5)) {
    case 0:
      return { label: 'StatusRequest', frames: [StatusRequest.encode({})] }
    case 1:
      return { label: 'StatusRequest with unknown fields', frames: [protobufNoise(rng)] }
    case 2:
      return { label: 'two StatusRequests', frames: [StatusRequest.encode({}), StatusRequest.encode({})] }
    case 3:
      return {
        label: 'StatusRequest + bytes',
        frames: [StatusRequest.encode({})],
        tail: rng.bytes(rng.size(4096))
      }
    default:
      return {
        label: 'a frame near the cap',
        frames: [rng.bytes(MAX_STATUS_BYTES + rng.range(-16, 16))]
      }
  }
}

/** The fuzzer's own /proofmesh/proof/1.0.0: a daemon told to pull a proof from it gets garbage */
export function serveGarbageProof(stream: Stream, rng: Rng): void {
  const timer = setTimeout(
    () => stream.abort(new Error('fuzz: the proof server is out of time')),
    CASE_DEADLINE_MS
  )
  stream.addEventListener('close', () => clearTimeout(timer))
  const size = rng.int(4096)
  const body = rng.bytes(size)
  const header = (fields: Partial<ProofHeader>): Uint8Array =>
    lengthPrefixed(
      ProofHeader.encode({ ok: true, message: '', size: BigInt(size), sha256: sha256(body), ...fields })
    )
  const wire = rng.pick<() => Uint8Array>([
    () => rng.bytes(rng.int(2048)),
    () => concat([header({}), body]),
    () => concat([header({ sha256: rng.bytes(32) }), body]),
    () => concat([header({ size: rng.u64() }), body]),
    () => concat([header({ size: BigInt(size + 100) }), body]),
    () => header({ ok: false, message: randomString(rng), size: 0n, sha256: empty() }),
    () => concat([varint(MAX_HEADER_BYTES + 1), rng.bytes(100)])
  ])()
  try {
    stream.send(wire)
    void stream.close().catch(() => stream.abort(new Error('fuzz: close failed')))
  } catch {
    stream.abort(new Error('fuzz: the proof server could not write'))
  }
}
