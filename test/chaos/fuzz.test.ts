/**
 * The fuzz part of the chaos suite: random and mutated input on every surface a peer or a local client reaches
 * (the five stream protocols, the capacity gossip topic, the HTTP API) and a native prover that writes garbage
 * at the NPP client. The daemon must stay up and prove a job afterwards; the client must settle every call.
 *
 * `FUZZ_CASES` cases per surface (default 10,000). Every case is drawn from its own PRNG, seeded by the run's
 * seed, the surface and the case number, so a case replays whatever the concurrency: the seed is printed, and
 * `FUZZ_SEED=<seed>` replays a run (`FUZZ_SURFACES=job,http,…` runs only some surfaces). A daemon that dies
 * leaves a report (the cases in flight, the last ones done, the log tail) in the temporary folder.
 */
import '../../src/polyfill.js'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { createHash, randomInt } from 'node:crypto'
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PeerId, Stream } from '@libp2p/interface'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { CapacityAdvert } from '../../protocols/capacity/pb/capacity.js'
import { HintsChunk, HintsKind } from '../../protocols/hints/pb/hints.js'
import { InputsHeader } from '../../protocols/inputs/pb/inputs.js'
import {
  type Assign,
  FailCode,
  type FetchProof,
  InputMode,
  PeerFrame,
  type Reserve,
  type SegmentSpec,
  SubmitterFrame
} from '../../protocols/job/pb/job.js'
import { ProofHeader, ProofRequest } from '../../protocols/proof/pb/proof.js'
import { StatusRequest } from '../../protocols/status/pb/status.js'
import { capacityTopic, MAX_ADVERT_BYTES } from '../../src/capacity/constants.js'
import { createLogger } from '../../src/log/index.js'
import { FramedStream } from '../../src/net/framed-stream.js'
import { createHost, type ProofmeshHost } from '../../src/net/host.js'
import { NppClient } from '../../src/prover/npp-client.js'
import { MAX_STATUS_BYTES, STATUS_PROTOCOL } from '../../src/rpc/status/constants.js'
import { type LocalNode, LocalNetwork } from '../../src/testnet/local-network.js'
import {
  HINTS_PROTOCOL,
  INPUTS_PROTOCOL,
  JOB_PROTOCOL,
  MAX_HEADER_BYTES,
  MAX_HINTS_CHUNK_BYTES,
  MAX_JOB_FRAME_BYTES,
  PROOF_PROTOCOL
} from '../../src/worker/constants.js'
import { repoRoot, within } from '../fixtures/prover/helpers.js'

const exec = promisify(execFile)

const CASES = Number(process.env.FUZZ_CASES ?? 10_000)
const SEED = process.env.FUZZ_SEED === undefined ? randomInt(2 ** 32) : Number(process.env.FUZZ_SEED)
const ALL_SURFACES = ['job', 'inputs', 'hints', 'proof', 'status', 'gossip', 'http', 'npp'] as const
type SurfaceName = (typeof ALL_SURFACES)[number]
const SURFACES = new Set(
  (process.env.FUZZ_SURFACES ?? ALL_SURFACES.join(',')).split(',').map((s) => s.trim())
)
const DAEMON_SURFACES = ALL_SURFACES.filter((name) => name !== 'npp' && SURFACES.has(name))

/** A stream case: write, then read what comes back for at most this long */
const CASE_DEADLINE_MS = 2_000
/** A case that keeps its stream open without closing it gives up after this long */
const HOLD_MS = 1_000
/** An HTTP request gets this long to be answered */
const HTTP_DEADLINE_MS = 1_000
/** A stream still open past the deadline gets this much longer to be closed or reset by the daemon */
const LATE_MS = 10_000
/** Past its own deadline and LATE_MS, a case that has still not ended is counted as stuck */
const STUCK_MS = LATE_MS + 5_000
/** What the fuzzer reads of a reply at most */
const MAX_REPLY_BYTES = 256 * 1024
/** The program the daemon's native prover runs, and its block size (protocols/native-prover.md) */
const PROGRAM = 'rescue-sponge'
const BLOCK_BYTES = 56
/** The NPP client's line limit here; the garbage prover's "huge" lines go past it */
const NPP_MAX_LINE_BYTES = 64 * 1024
const GARBAGE_PROVER = fileURLToPath(new URL('test/fixtures/prover/garbage-prover.mjs', `file://${repoRoot}`))

if (!Number.isInteger(CASES) || CASES < 1) throw new Error(`FUZZ_CASES must be a positive integer`)
if (!Number.isInteger(SEED) || SEED < 0 || SEED >= 2 ** 32)
  throw new Error('FUZZ_SEED must be an integer in [0, 2^32)')
process.stderr.write(
  `fuzz: seed ${SEED} (replay with FUZZ_SEED=${SEED}), ${CASES} cases per surface: ${[...SURFACES].join(', ')}\n`
)

// --- randomness -------------------------------------------------------------------------------------------

/** mulberry32: small and fast; every case has its own, so a case replays alone */
class Rng {
  private state: number

  constructor(seed: number) {
    this.state = seed >>> 0
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0
    let t = this.state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }

  int(max: number): number {
    return Math.floor(this.next() * max)
  }

  /** min..max, both included */
  range(min: number, max: number): number {
    return min + this.int(max - min + 1)
  }

  bool(p = 0.5): boolean {
    return this.next() < p
  }

  pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)]
    if (item === undefined) throw new Error('pick from an empty list')
    return item
  }

  u32(): number {
    return Math.floor(this.next() * 2 ** 32)
  }

  u64(): bigint {
    return (BigInt(this.u32()) << 32n) | BigInt(this.u32())
  }

  bytes(length: number): Uint8Array<ArrayBuffer> {
    const out = new Uint8Array(length)
    for (let i = 0; i < length; i++) out[i] = this.int(256)
    return out
  }

  /** Usually small, now and then up to max */
  size(max: number): number {
    return this.bool(0.8) ? this.int(Math.min(max, 64) + 1) : this.int(max + 1)
  }
}

function hash32(text: string): number {
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0
  return hash
}

/** murmur3's finaliser over two words */
function mix(a: number, b: number): number {
  let h = (a ^ Math.imul(b + 0x9e3779b9, 0x85ebca6b)) >>> 0
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}

function caseRng(surface: string, index: number): Rng {
  return new Rng(mix(mix(SEED, hash32(surface)), index))
}

const PRINTABLE = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:%?=&+ '
const ODD_STRINGS = ['', '\u0000', '\ud800', '\u202e', '..', '../..', '%00', '%s%n', '\r\n', 'é', '\uffff']

function randomString(rng: Rng, max = 24): string {
  if (rng.bool(0.2)) return rng.pick(ODD_STRINGS)
  const length = rng.int(max + 1)
  let text = ''
  for (let i = 0; i < length; i++) {
    text += rng.bool(0.9)
      ? PRINTABLE.charAt(rng.int(PRINTABLE.length))
      : String.fromCharCode(rng.int(0x10000))
  }
  return text
}

/** Keys of random JSON objects: the job request's fields, and names that have bitten JavaScript before */
const JSON_KEYS = [
  'program',
  'inputMode',
  'input',
  'hints',
  'kind',
  'path',
  'computeCapacity',
  'minimalComputeCapacity',
  'priority',
  'dataId',
  'timeoutMs',
  'webhookUrl',
  'saveProof',
  '__proto__',
  'constructor',
  'toString',
  'valueOf',
  'then',
  'length',
  ''
]

function randomJson(rng: Rng, depth = 0): unknown {
  switch (rng.int(depth > 4 ? 4 : 7)) {
    case 0:
      return null
    case 1:
      return rng.bool()
    case 2:
      return rng.pick([0, -1, 1, 1.5, 2 ** 31, 2 ** 53, 2 ** 53 + 2, 1e308, -1e308, 5e-324, rng.int(1000)])
    case 3:
      return randomString(rng)
    case 4:
    case 5: {
      const object: Record<string, unknown> = {}
      const count = rng.int(6)
      for (let i = 0; i < count; i++) {
        const key = rng.bool(0.8) ? rng.pick(JSON_KEYS) : randomString(rng)
        // an own "__proto__" key, as JSON.parse makes it
        Object.defineProperty(object, key, {
          value: randomJson(rng, depth + 1),
          enumerable: true,
          writable: true,
          configurable: true
        })
      }
      return object
    }
    default:
      return Array.from({ length: rng.int(5) }, () => randomJson(rng, depth + 1))
  }
}

// --- bytes and frames -------------------------------------------------------------------------------------

function concat(parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.byteLength, 0))
  let at = 0
  for (const part of parts) {
    out.set(part, at)
    at += part.byteLength
  }
  return out
}

/** Unsigned LEB128, any size */
function varint(value: number | bigint): Uint8Array<ArrayBuffer> {
  let rest = BigInt(value)
  const out: number[] = []
  do {
    let byte = Number(rest & 0x7fn)
    rest >>= 7n
    if (rest > 0n) byte |= 0x80
    out.push(byte)
  } while (rest > 0n)
  return Uint8Array.from(out)
}

/** The same value padded to `length` bytes with continuation bits: valid LEB128, but not minimal */
function paddedVarint(value: number, length: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(length)
  let rest = value
  for (let i = 0; i < length; i++) {
    out[i] = (rest & 0x7f) | (i < length - 1 ? 0x80 : 0)
    rest = Math.floor(rest / 128)
  }
  return out
}

const lengthPrefixed = (body: Uint8Array): Uint8Array<ArrayBuffer> => concat([varint(body.byteLength), body])
const sha256 = (data: Uint8Array): Uint8Array<ArrayBuffer> =>
  new Uint8Array(createHash('sha256').update(data).digest())
const hex = (data: Uint8Array): string => Buffer.from(data).toString('hex')
const empty = (): Uint8Array<ArrayBuffer> => new Uint8Array(0)

/** Protobuf fields the messages do not have, or have with another wire type (6 and 7 are no wire type at all) */
function protobufNoise(rng: Rng): Uint8Array<ArrayBuffer> {
  const parts: Uint8Array[] = []
  const count = rng.range(1, 4)
  for (let i = 0; i < count; i++) {
    const field = rng.pick([1, 2, 3, 5, 15, 16, 99, 536870911])
    const wireType = rng.int(8)
    parts.push(varint((field << 3) | wireType))
    if (wireType === 0) parts.push(varint(rng.u64()))
    else if (wireType === 1) parts.push(rng.bytes(8))
    else if (wireType === 2) {
      const length = rng.int(40)
      parts.push(varint(rng.bool(0.8) ? length : rng.u32()), rng.bytes(length))
    } else if (wireType === 5) parts.push(rng.bytes(4))
  }
  return concat(parts)
}

/** A length prefix that lies: over the cap, beyond the data, 10 bytes long, never ending, or short */
function lyingPrefix(rng: Rng, body: Uint8Array, cap: number): { wire: Uint8Array; how: string } {
  switch (rng.int(6)) {
    case 0:
      return { wire: concat([varint(cap + 1 + rng.int(1 << 20)), body]), how: 'length over the cap' }
    case 1:
      return {
        wire: concat([varint(body.byteLength + 1 + rng.int(4096)), body]),
        how: 'length beyond the data'
      }
    case 2:
      return { wire: concat([paddedVarint(body.byteLength, 10), body]), how: 'a 10-byte varint' }
    case 3:
      return { wire: concat([new Uint8Array(10).fill(0xff), body]), how: 'a varint that never ends' }
    case 4:
      return { wire: concat([varint(2n ** 64n - 1n), body]), how: 'length 2^64-1' }
    default:
      return {
        wire: concat([varint(rng.int(Math.max(1, body.byteLength))), body]),
        how: 'length short of the data'
      }
  }
}

function reorder<T>(rng: Rng, items: T[]): { items: T[]; how: string } {
  const out = [...items]
  const a = rng.int(out.length)
  const b = rng.int(out.length)
  switch (rng.int(5)) {
    case 0:
      out.splice(a, 0, out[a] as T)
      return { items: out, how: `frame ${a} twice` }
    case 1:
      ;[out[a], out[b]] = [out[b] as T, out[a] as T]
      return { items: out, how: `frames ${a} and ${b} swapped` }
    case 2:
      out.splice(a, 1)
      return { items: out, how: `frame ${a} dropped` }
    case 3:
      out.unshift(...out.splice(-1))
      return { items: out, how: 'last frame first' }
    default:
      return { items: out.reverse(), how: 'frames reversed' }
  }
}

/** One to four byte edits: bit flips, random bytes, truncation, insertion, deletion, repetition */
function mutateBytes(rng: Rng, input: Uint8Array): { wire: Uint8Array; how: string } {
  let wire = new Uint8Array(input)
  const edits: string[] = []
  const count = rng.range(1, 4)
  for (let i = 0; i < count; i++) {
    const at = rng.int(wire.byteLength + 1)
    switch (rng.int(7)) {
      case 0:
      case 1:
        if (at < wire.byteLength) {
          wire[at] = (wire[at] ?? 0) ^ (1 << rng.int(8))
          edits.push(`bit flip at ${at}`)
        }
        break
      case 2:
        if (at < wire.byteLength) {
          wire[at] = rng.pick([0x00, 0x7f, 0x80, 0xff, rng.int(256)])
          edits.push(`byte set at ${at}`)
        }
        break
      case 3:
        wire = wire.slice(0, at)
        edits.push(`truncated at ${at}`)
        break
      case 4:
        wire = concat([wire.subarray(0, at), rng.bytes(rng.range(1, 16)), wire.subarray(at)])
        edits.push(`bytes inserted at ${at}`)
        break
      case 5:
        wire = concat([wire.subarray(0, at), wire.subarray(at + rng.range(1, 16))])
        edits.push(`bytes deleted at ${at}`)
        break
      default: {
        const end = Math.min(wire.byteLength, at + rng.range(1, 64))
        wire = concat([wire.subarray(0, end), wire.subarray(at, end), wire.subarray(end)])
        edits.push(`bytes ${at}..${end} repeated`)
      }
    }
  }
  return { wire, how: edits.join(', ') }
}

/** What a generator makes: protobuf bodies to length-prefix, then raw bytes (the inputs protocol's slice) */
interface FrameCase {
  label: string
  frames: Uint8Array[]
  tail?: Uint8Array
  /** Keep the stream open more often: what the case sets off in the daemon needs its session to live a while */
  linger?: boolean
}

/** How a case ends its side: close its writing side, reset the stream, or keep it open until HOLD_MS */
type Ending = 'close' | 'abort' | 'hold'

interface WireCase {
  label: string
  wire: Uint8Array
  ending: Ending
}

function buildWire(rng: Rng, cap: number, generate: (rng: Rng) => FrameCase): WireCase {
  const roll = rng.next()
  const firstEnding: Ending = roll < 0.85 ? 'close' : roll < 0.97 ? 'abort' : 'hold'
  if (rng.bool(0.15)) return { label: 'random bytes', wire: rng.bytes(rng.int(4097)), ending: firstEnding }
  const made = generate(rng)
  const ending = made.linger === true && rng.bool(0.25) ? 'hold' : firstEnding
  const notes = [made.label]
  let frames = made.frames
  if (frames.length > 1 && rng.bool(0.15)) {
    const reordered = reorder(rng, frames)
    frames = reordered.items
    notes.push(reordered.how)
  }
  const parts = frames.map((body) => {
    let bytes = body
    if (rng.bool(0.05)) {
      bytes = concat([body, protobufNoise(rng)])
      notes.push('unknown fields')
    }
    if (!rng.bool(0.06)) return lengthPrefixed(bytes)
    const lie = lyingPrefix(rng, bytes, cap)
    notes.push(lie.how)
    return lie.wire
  })
  if (made.tail !== undefined) parts.push(made.tail)
  let wire: Uint8Array = concat(parts)
  if (rng.bool(0.3)) {
    const mutated = mutateBytes(rng, wire)
    wire = mutated.wire
    notes.push(mutated.how)
  }
  return { label: notes.join(' + '), wire, ending }
}

// --- the fuzzing peer and its context ---------------------------------------------------------------------

/** A job session the fuzzer holds open on the daemon, so that inputs, hints and proof cases reach a session */
interface Anchor {
  jobId: string
  input: Uint8Array
  segments: Array<{ spec: SegmentSpec; data: Uint8Array }>
  framed: FramedStream
  controller: AbortController
  keepAlive: NodeJS.Timeout
  failures: string[]
  contributions: number
}

interface FuzzContext {
  daemonId: PeerId
  host: ProofmeshHost
  /** A valid peer id nobody listens as */
  strangerId: string
  anchors: Anchor[]
  emptyFile: string
}

function fuzzJobId(rng: Rng): string {
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

function jobCase(rng: Rng, ctx: FuzzContext): FrameCase {
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

function inputsCase(rng: Rng, ctx: FuzzContext): FrameCase {
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

function hintsCase(rng: Rng, ctx: FuzzContext): FrameCase {
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

function proofCase(rng: Rng, ctx: FuzzContext): FrameCase {
  const anchor = ctx.anchors.length > 0 ? rng.pick(ctx.anchors) : undefined
  const request = (): ProofRequest => ({
    jobId: anchor !== undefined && rng.bool(0.6) ? anchor.jobId : fuzzJobId(rng),
    ...(rng.bool(0.7) ? { segment: rng.pick([0, 1, 2, 3, rng.u32()]) } : {})
  })
  const frames = [ProofRequest.encode(request())]
  if (rng.bool(0.1)) frames.push(ProofRequest.encode(request()))
  return {
    label: frames.length > 1 ? 'two ProofRequests' : 'ProofRequest',
    frames,
    ...(rng.bool(0.1) ? { tail: rng.bytes(rng.size(2048)) } : {})
  }
}

function statusCase(rng: Rng): FrameCase {
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
function serveGarbageProof(stream: Stream, rng: Rng): void {
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

// --- running cases ----------------------------------------------------------------------------------------

/**
 * reply: the daemon wrote something; reset / closed: it reset or closed the stream without a word; late: it did so
 * only past the deadline (within LATE_MS more), although we had closed our side; silent: not even then; dropped: we
 * reset it ourselves after writing; held: we kept it open until the deadline; refused: it could not be opened
 */
type Outcome = 'reply' | 'reset' | 'closed' | 'late' | 'silent' | 'dropped' | 'held' | 'refused'

/** Opens a stream, writes a case, reads what comes back until the daemon closes or resets it, or time is up */
async function exchange(ctx: FuzzContext, protocol: string, c: WireCase): Promise<Outcome> {
  const signal = AbortSignal.timeout(c.ending === 'hold' ? HOLD_MS : CASE_DEADLINE_MS)
  let stream: Stream
  try {
    stream = await ctx.host.dialProtocol(ctx.daemonId, protocol, { signal })
  } catch {
    return 'refused'
  }
  let received = 0
  const ended = new Promise<'closed' | 'reset'>((resolve) => {
    stream.addEventListener('message', (event) => {
      received += event.data.byteLength
      if (received > MAX_REPLY_BYTES) stream.abort(new Error('fuzz: read enough'))
    })
    stream.addEventListener('remoteCloseWrite', () => resolve('closed'))
    stream.addEventListener('close', (event) => resolve(event.error === undefined ? 'closed' : 'reset'))
    if (stream.status !== 'open') resolve('reset')
  })
  const deadline = new Promise<'silent'>((resolve) => {
    if (signal.aborted) resolve('silent')
    signal.addEventListener('abort', () => resolve('silent'), { once: true })
  })
  try {
    for (let at = 0; at < c.wire.byteLength; at += 64 * 1024) {
      if (!stream.send(c.wire.subarray(at, at + 64 * 1024))) await stream.onDrain({ signal })
    }
    if (c.ending === 'close') await stream.close({ signal })
    else if (c.ending === 'abort') {
      stream.abort(new Error('fuzz: reset after writing'))
      return received > 0 ? 'reply' : 'dropped'
    }
  } catch {
    // the daemon reset the stream while we wrote, or the time is up: the read below says which
  }
  let how: Outcome = await Promise.race([ended, deadline])
  if (how === 'silent' && received === 0 && c.ending === 'close') {
    // past the deadline with our side closed: late (the daemon was busy), or never (a stream it holds on to)
    const late = await Promise.race([
      ended,
      new Promise<'silent'>((resolve) => setTimeout(resolve, LATE_MS, 'silent'))
    ])
    if (late !== 'silent') how = 'late'
  }
  if (stream.status !== 'closed') stream.abort(new Error('fuzz: the case is over'))
  if (received > 0) return 'reply'
  return how === 'silent' && c.ending === 'hold' ? 'held' : how
}

interface CaseRun {
  /** The exact input, for a report; only built when one is needed */
  describe: () => string
  run: () => Promise<string>
}

interface SurfaceReport {
  name: string
  cases: number
  ms: number
  outcomes: Map<string, number>
  /** Cases whose input threw in the fuzzer itself, or that did not end */
  problems: string[]
  /** The first few cases of each outcome worth a look (see NOTABLE) */
  examples: Map<string, string[]>
}

/**
 * Outcomes whose first cases are kept for the report: a stream the daemon closed late, or not at all, or without
 * a word; an HTTP request not answered in time (one that promised more body than it sent is not counted here), or
 * answered with something that is not HTTP
 */
const NOTABLE: ReadonlySet<string> = new Set(['late', 'silent', 'closed', 'garbage'])

/** The surface running now, for a report should the daemon die */
let running: { name: string; inFlight: Map<number, () => string>; recent: Array<() => string> } | undefined

function summary(report: SurfaceReport, extra = ''): string {
  const counts = [...report.outcomes.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([outcome, count]) => `${outcome} ${count}`)
    .join(', ')
  return `fuzz ${report.name}: ${report.cases} cases in ${(report.ms / 1000).toFixed(1)} s: ${counts}${extra}`
}

async function runSurface(
  name: SurfaceName,
  count: number,
  concurrency: number,
  makeCase: (rng: Rng, index: number) => CaseRun,
  stop: () => boolean = () => false
): Promise<SurfaceReport> {
  const outcomes = new Map<string, number>()
  const problems: string[] = []
  const examples = new Map<string, string[]>()
  const state = { name, inFlight: new Map<number, () => string>(), recent: [] as Array<() => string> }
  running = state
  const started = Date.now()
  let next = 0
  let done = 0
  const worker = async (): Promise<void> => {
    for (;;) {
      const index = next++
      if (index >= count || stop()) return
      const c = makeCase(caseRng(name, index), index)
      const describe = (): string => `${name} case ${index}: ${c.describe()}`
      state.inFlight.set(index, describe)
      let outcome: string
      try {
        outcome = await within(c.run(), STUCK_MS + CASE_DEADLINE_MS, `${name} case ${index}`)
      } catch (err) {
        outcome = (err as Error).message.startsWith('timed out') ? 'stuck' : 'fuzzer error'
        if (problems.length < 20) problems.push(`${outcome}: ${(err as Error).message}: ${describe()}`)
      }
      state.inFlight.delete(index)
      state.recent.push(describe)
      if (state.recent.length > 64) state.recent.shift()
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1)
      if (NOTABLE.has(outcome)) {
        const kept = examples.get(outcome) ?? []
        if (kept.length < 3) examples.set(outcome, [...kept, describe().slice(0, 1500)])
      }
      done++
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  running = undefined
  return { name, cases: done, ms: Date.now() - started, outcomes, problems, examples }
}

function streamSurface(
  ctx: FuzzContext,
  protocol: string,
  cap: number,
  generate: (rng: Rng, ctx: FuzzContext) => FrameCase
): (rng: Rng) => CaseRun {
  return (rng) => {
    const c = buildWire(rng, cap, (r) => generate(r, ctx))
    return {
      describe: () => `${c.label} [${c.ending}, ${c.wire.byteLength} bytes] hex ${hex(c.wire)}`,
      run: async () => exchange(ctx, protocol, c)
    }
  }
}

// --- gossip -----------------------------------------------------------------------------------------------

function randomAdvert(rng: Rng): CapacityAdvert {
  const now = BigInt(Date.now())
  const count = (): number => (rng.bool(0.9) ? rng.int(4) : rng.int(80))
  const text = (): string => (rng.bool(0.9) ? randomString(rng, 20) : 'n'.repeat(rng.range(100, 200)))
  const total = rng.pick([0, 1, 8, 1_000_000, 1_000_001, rng.u32()])
  return {
    seq: rng.pick([0n, 1n, now, now + BigInt(rng.int(1_000_000)), rng.u64()]),
    timestampMs: rng.pick([now, now, now - 20_000n, now + 60_000n, 0n, rng.u64()]),
    unitsTotal: total,
    unitsFree: rng.pick([0, total, total + 1, rng.u32()]) >>> 0,
    gpus: Array.from({ length: count() }, () => ({
      index: rng.u32(),
      name: text(),
      memoryTotalMib: rng.pick([0, 24_576, rng.u32()]),
      memoryUsedMib: rng.pick([0, 1024, rng.u32()]),
      utilizationPercent: rng.pick([0, 50, 100, 101, rng.u32()])
    })),
    cpuCores: rng.pick([0, 2, rng.u32()]),
    memoryBytes: rng.u64(),
    proverName: text(),
    proverVersion: text(),
    programs: Array.from({ length: count() }, () => (rng.bool(0.5) ? PROGRAM : text())),
    tags: Array.from({ length: count() }, text),
    activeJobs: rng.pick([0, 1, rng.u32()]),
    version: rng.bool(0.97) ? text() : 'v'.repeat(MAX_ADVERT_BYTES + rng.int(100)),
    addrs: Array.from({ length: count() }, () =>
      rng.bool(0.5)
        ? new Uint8Array(multiaddr(`/ip4/127.0.0.1/tcp/${rng.int(65536)}`).bytes)
        : rng.bytes(rng.int(40))
    )
  }
}

function gossipCase(rng: Rng): { label: string; data: Uint8Array } {
  if (rng.bool(0.25))
    return { label: 'random bytes', data: rng.bytes(rng.bool(0.9) ? rng.int(4096) : rng.int(16 * 1024)) }
  const advert = CapacityAdvert.encode(randomAdvert(rng))
  if (!rng.bool(0.4)) return { label: 'advert with random fields', data: advert }
  const mutated = mutateBytes(rng, advert)
  return { label: `advert with random fields + ${mutated.how}`, data: mutated.wire }
}

/** proofmesh_adverts_received_total by `result/reason` */
async function advertCounters(node: LocalNode): Promise<Map<string, number>> {
  const response = await fetch(new URL('/metrics', node.api.url), {
    headers: { authorization: `Bearer ${node.token}` },
    signal: AbortSignal.timeout(5_000)
  })
  const counts = new Map<string, number>()
  for (const match of (await response.text()).matchAll(
    /^proofmesh_adverts_received_total\{result="(\w+)",reason="(\w+)"\} (\d+)/gm
  )) {
    counts.set(`${match[1]}/${match[2]}`, Number(match[3]))
  }
  return counts
}

// --- HTTP -------------------------------------------------------------------------------------------------

interface HttpContext {
  port: number
  token: string
  jobId: string
  emptyFile: string
}

/** Every byte of the text's UTF-8 but letters and digits as %XX (encodeURIComponent throws on a lone surrogate) */
function percentEncoded(text: string): string {
  return [...Buffer.from(text)]
    .map((byte) =>
      /[A-Za-z0-9]/.test(String.fromCharCode(byte))
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).padStart(2, '0')}`
    )
    .join('')
}

function httpPath(rng: Rng, ctx: HttpContext): string {
  const id = rng.pick([
    ctx.jobId,
    ctx.jobId,
    fuzzJobId(rng),
    'a'.repeat(64),
    'a'.repeat(65),
    '%00',
    '..',
    '%2e%2e',
    'é',
    percentEncoded(randomString(rng))
  ])
  return rng.pick([
    '/v1/health',
    '/v1/status',
    '/v1/peers',
    '/metrics',
    '/v1/jobs',
    '/v1/jobs',
    `/v1/jobs?state=${rng.pick(['queued', 'failed,succeeded', 'bogus', '', ',,,', 'x'.repeat(100), '%00'])}`,
    `/v1/jobs/${id}`,
    `/v1/jobs/${id}/proof`,
    `/v1/jobs/${id}/events`,
    `/v1/jobs/${id}/events?after=${rng.pick(['0', '-1', '1e3', '99999999999999999999', 'abc', ''])}`,
    `/v1/jobs/${id}/cancel`,
    `/v1/jobs/${id}/${percentEncoded(randomString(rng))}`,
    '/v1/jobs/../status',
    '/v1/../v1/status',
    '/%2e%2e/%2e%2e/etc/passwd',
    '/v1/jobs/%00',
    '/v1/jobs/%',
    '//v1/health',
    '*',
    `http://127.0.0.1:${ctx.port}/v1/status`,
    `/v1/health?${'a=1&'.repeat(rng.int(1000))}`,
    `/${'a'.repeat(rng.pick([100, 8000, 20_000, 100_000]))}`,
    `/v1/${randomString(rng)}`,
    '',
    ' /v1/health',
    '/v1/health#x'
  ])
}

function jobRequestBody(rng: Rng, ctx: HttpContext): Record<string, unknown> {
  const body: Record<string, unknown> = {
    inputMode: rng.pick(['data', 'data', 'path', 'DATA', '', 1, null]),
    // never a readable non-empty file: a fuzz case must not start a real job
    input: rng.pick([
      '/nonexistent/fuzz.bin',
      '/tmp',
      '/dev/null',
      ctx.emptyFile,
      'input.bin',
      '../../etc/passwd',
      '',
      `/${'a'.repeat(5000)}`,
      '/x\u0000y',
      7,
      null,
      ['/a']
    ]),
    computeCapacity: rng.pick([1, 2, 0, -1, 1.5, 1_000_000, 1_000_001, 2 ** 53, '1', null, true])
  }
  const optional: Array<[string, () => unknown]> = [
    ['program', () => rng.pick(['rescue-sponge', 'RESCUE', '../x', '', 'a'.repeat(65), 3])],
    ['minimalComputeCapacity', () => rng.pick([1, 0, 2, 1e6, -1, 0.5])],
    ['priority', () => rng.pick([0, -1000, 1000, 1001, 1.5, '1'])],
    ['dataId', () => rng.pick(['x', '', 'a'.repeat(200), '\u0007', 5])],
    ['timeoutMs', () => rng.pick([1000, 999, '90s', '10m', '1x', -1, 2 ** 31, 'P1D', '', 1e300])],
    [
      'webhookUrl',
      () => rng.pick(['http://127.0.0.1:1/x', 'ftp://x', 'http://', 'javascript:alert(1)', '', 'http://x y'])
    ],
    ['saveProof', () => rng.pick([true, false, 'yes', 0])],
    [
      'hints',
      () =>
        rng.pick([
          { kind: 'file', path: '/nonexistent' },
          { kind: 'socket', path: 'relative' },
          'x',
          { kind: 'pipe' },
          { kind: 'file', path: '/x', extra: 1 },
          null
        ])
    ]
  ]
  for (const [key, value] of optional) if (rng.bool(0.25)) body[key] = value()
  if (rng.bool(0.1)) delete body[rng.pick(['inputMode', 'input', 'computeCapacity'])]
  if (rng.bool(0.1)) {
    Object.defineProperty(body, rng.pick(JSON_KEYS.slice(-7)), {
      value: randomJson(rng),
      enumerable: true,
      writable: true,
      configurable: true
    })
  }
  return body
}

function httpBody(rng: Rng, ctx: HttpContext): { label: string; body: Buffer } {
  const text = (label: string, body: string): { label: string; body: Buffer } => ({
    label,
    body: Buffer.from(body)
  })
  switch (rng.int(10)) {
    case 0:
      return text('no body', '')
    case 1:
      return { label: 'random bytes', body: Buffer.from(rng.bytes(rng.size(8192))) }
    case 2:
      return text('random JSON', JSON.stringify(randomJson(rng)) ?? 'null')
    case 3: {
      const depth = rng.range(100, 12_000)
      return rng.pick([
        () => text(`arrays nested ${depth * 2} deep`, `${'['.repeat(depth * 2)}${']'.repeat(depth * 2)}`),
        () => text(`objects nested ${depth} deep`, `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`),
        () =>
          text(
            `a job request with an input nested ${depth * 2} deep`,
            `{"inputMode":"data","input":${'['.repeat(depth * 2)}${']'.repeat(depth * 2)},"computeCapacity":1}`
          )
      ])()
    }
    case 4: {
      const number = rng.pick([
        '1e400',
        '-1e400',
        '123456789012345678901234567890',
        '-0',
        '0.1e1',
        '9007199254740993',
        '1E1'
      ])
      const field = rng.pick(['computeCapacity', 'minimalComputeCapacity', 'priority', 'timeoutMs'])
      const request = { inputMode: 'data', input: '/nonexistent/fuzz.bin', computeCapacity: 1 }
      return text(`${field} ${number}`, JSON.stringify(request).replace(/}$/, `,"${field}":${number}}`))
    }
    case 5:
      return text(
        'over 64 KiB',
        `{"inputMode":"data","input":"/${'a'.repeat(64 * 1024 + rng.int(200_000))}","computeCapacity":1}`
      )
    case 6:
    case 7:
      return text('a job request with random fields', JSON.stringify(jobRequestBody(rng, ctx)))
    default: {
      const mutated = mutateBytes(rng, Buffer.from(JSON.stringify(jobRequestBody(rng, ctx))))
      return { label: `a job request + ${mutated.how}`, body: Buffer.from(mutated.wire) }
    }
  }
}

/** A request, and whether its framing promises more body than it holds (the server then waits for it) */
function httpCase(rng: Rng, ctx: HttpContext): { label: string; request: Buffer; promisesMore: boolean } {
  const method = rng.bool(0.93)
    ? rng.pick([
        'GET',
        'GET',
        'GET',
        'POST',
        'POST',
        'POST',
        'HEAD',
        'PUT',
        'DELETE',
        'PATCH',
        'OPTIONS',
        'TRACE'
      ])
    : rng.pick(['get', 'G ET', 'FOO', '', 'X'.repeat(100), 'CONNECT', randomString(rng, 8)])
  const path = httpPath(rng, ctx)
  const version = rng.bool(0.96)
    ? 'HTTP/1.1'
    : rng.pick(['HTTP/1.0', 'HTTP/2.0', 'HTTP/1.1 x', 'http/1.1', '', 'HTTP/9'])
  const { label, body: plain } =
    method === 'POST' || rng.bool(0.1) ? httpBody(rng, ctx) : { label: 'no body', body: Buffer.alloc(0) }
  let body = plain
  const headers: string[] = []
  if (rng.bool(0.95)) headers.push(`Host: 127.0.0.1:${ctx.port}`)
  const auth = rng.int(10)
  if (auth < 6) headers.push(`Authorization: Bearer ${ctx.token}`)
  else if (auth === 7) headers.push(`Authorization: Bearer ${hex(rng.bytes(32))}`)
  else if (auth === 8) {
    headers.push(
      `Authorization: ${rng.pick([
        `bearer ${ctx.token}`,
        'Bearer',
        `Bearer  ${ctx.token}  x`,
        `Basic ${Buffer.from(`u:${ctx.token}`).toString('base64')}`,
        `Bearer ${ctx.token}\u00ff`,
        `Bearer ${ctx.token.slice(0, -1)}`,
        `Bearer ${ctx.token}${ctx.token}`
      ])}`
    )
  } else if (auth === 9) headers.push(`Authorization: Bearer ${ctx.token}`, `Authorization: Bearer x`)
  if (body.byteLength > 0 || method === 'POST') {
    headers.push(
      `Content-Type: ${
        rng.bool(0.85)
          ? 'application/json'
          : rng.pick([
              'text/plain',
              'application/json; charset=utf-8',
              'APPLICATION/JSON',
              'application/jsonx',
              '',
              'multipart/form-data; boundary=x'
            ])
      }`
    )
  }
  const length = rng.next()
  let promisesMore = false
  if (rng.bool(0.04)) {
    headers.push('Transfer-Encoding: chunked')
    const valid = rng.bool(0.7)
    promisesMore = !valid
    body = valid
      ? Buffer.concat([
          Buffer.from(`${body.byteLength.toString(16)}\r\n`),
          body,
          Buffer.from('\r\n0\r\n\r\n')
        ])
      : Buffer.concat([Buffer.from(`${rng.pick(['zz', '-1', 'ffffffffffffffff', '1'])}\r\n`), body])
  } else if (length < 0.85) headers.push(`Content-Length: ${body.byteLength}`)
  else if (length < 0.9) {
    // none
  } else if (length < 0.93) headers.push(`Content-Length: ${Math.max(0, body.byteLength - rng.range(1, 10))}`)
  else if (length < 0.94) {
    headers.push(`Content-Length: ${body.byteLength + rng.range(1, 10)}`)
    promisesMore = true
  } else if (length < 0.97) {
    headers.push(`Content-Length: ${rng.pick(['-1', 'abc', '99999999999999999999', '1e3', ' 5', ''])}`)
    promisesMore = true
  } else headers.push(`Content-Length: ${body.byteLength}`, `Content-Length: ${body.byteLength + 1}`)
  if (rng.bool(0.1))
    headers.push(`Last-Event-ID: ${rng.pick(['0', '-1', '1e3', '99999999999999999999', randomString(rng)])}`)
  if (rng.bool(0.02)) headers.push('Expect: 100-continue')
  if (rng.bool(0.08)) {
    const name = rng.pick(['X-Fuzz', randomString(rng, 12), 'Content-Type', ''])
    headers.push(
      `${name}: ${rng.bool(0.8) ? randomString(rng, 40) : 'v'.repeat(rng.pick([1000, 20_000, 100_000]))}`
    )
  }
  if (rng.bool(0.01)) for (let i = rng.int(3000); i > 0; i--) headers.push(`X-${i}: ${i}`)
  headers.push(rng.bool(0.95) ? 'Connection: close' : 'Connection: keep-alive')
  const head = `${method} ${path} ${version}\r\n${headers.join('\r\n')}\r\n\r\n`
  return {
    label: `${method.slice(0, 16)} ${path.slice(0, 80)} (${label})`,
    request: Buffer.concat([Buffer.from(head), body]),
    promisesMore
  }
}

/** One request over a raw socket (the URL, the headers and the framing are ours to break); the status or why none */
async function rawHttp(port: number, request: Buffer): Promise<{ outcome: string; text: string }> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port })
    const chunks: Buffer[] = []
    let size = 0
    let settled = false
    let idle: NodeJS.Timeout | undefined
    const finish = (how: string): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      clearTimeout(idle)
      socket.destroy()
      const text = Buffer.concat(chunks).toString('latin1')
      // the status of the answer, past any 100 Continue
      const status = [...text.matchAll(/^HTTP\/1\.[01] (\d{3})/gm)]
        .map((match) => match[1])
        .find((code) => code?.charAt(0) !== '1')
      resolve({ outcome: status ?? (size > 0 ? 'garbage' : how), text })
    }
    const timer = setTimeout(() => finish('silent'), HTTP_DEADLINE_MS)
    socket.on('connect', () => {
      socket.write(request, () => undefined)
    })
    socket.on('data', (chunk: Buffer) => {
      if (size < 64 * 1024) chunks.push(chunk)
      size += chunk.byteLength
      // a kept-alive connection stays open after the answer: what came within a moment is the answer
      clearTimeout(idle)
      idle = setTimeout(() => finish('closed'), 100)
    })
    socket.on('end', () => finish('no answer'))
    socket.on('close', () => finish('no answer'))
    socket.on('error', () => finish(size > 0 ? 'no answer' : 'reset'))
  })
}

// --- the NPP client ---------------------------------------------------------------------------------------

const NPP_METHODS = ['hello', 'plan', 'contribute', 'prove', 'aggregate', 'verify', 'cancel'] as const
type NppFuzzMethod = (typeof NPP_METHODS)[number]
const KNOWN_REJECTIONS = new Set([
  'ProverRpcError',
  'ProverProtocolError',
  'ProverTimeoutError',
  'ProverCrashedError',
  'ProverNotRunningError'
])

async function nppCall(
  client: NppClient,
  method: NppFuzzMethod,
  tag: string,
  timeoutMs: number
): Promise<unknown> {
  const options = { timeoutMs }
  const input = { path: '/nonexistent/input', offset: 0 }
  const segment = { index: 0, startBlock: 0, blockCount: 1, inputOffset: 0, inputLength: 1 }
  const common = { job: tag, program: PROGRAM, inputSize: 1 }
  switch (method) {
    case 'hello':
      return client.call('hello', { protocol: 1, client: tag }, options)
    case 'plan':
      return client.call('plan', { job: tag, program: PROGRAM, input, workers: [] }, options)
    case 'contribute':
      return client.call('contribute', { ...common, segment, input }, options)
    case 'prove':
      return client.call(
        'prove',
        { ...common, segment, input, challenge: '00', out: '/nonexistent/out' },
        options
      )
    case 'aggregate':
      return client.call(
        'aggregate',
        { ...common, challenge: '00', contributions: [], proofs: [], out: '/nonexistent/out' },
        options
      )
    case 'verify':
      return client.call('verify', { program: PROGRAM, proof: '/nonexistent/proof', job: tag }, options)
    default:
      return client.call('cancel', { job: tag }, options)
  }
}

/** A full garbage collection, so that heap figures compare; node --test does not expose gc */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  gc()
}

/**
 * Runs `body` with `onError` as the only 'uncaughtException' listener: node:test's own would end the test at the
 * first exception thrown out of the client, before the fuzzer can tell which case caused it
 */
async function catchingUncaught<T>(onError: (err: Error) => void, body: () => Promise<T>): Promise<T> {
  const others = process.listeners('uncaughtException')
  process.removeAllListeners('uncaughtException')
  process.on('uncaughtException', onError)
  try {
    return await body()
  } finally {
    process.off('uncaughtException', onError)
    for (const listener of others) process.on('uncaughtException', listener)
  }
}

/** What the garbage prover writes for one request, write by write */
async function garbageWrites(tag: string, method: string): Promise<Buffer[]> {
  const { stdout } = await exec(process.execPath, [GARBAGE_PROVER, '--dump', tag, method, '1'], {
    maxBuffer: 64 * 1024 * 1024
  })
  return (JSON.parse(stdout) as Array<{ data: string }>).map(({ data }) =>
    data.startsWith('base64:') ? Buffer.from(data.slice(7), 'base64') : Buffer.from(data)
  )
}

// --- helpers ----------------------------------------------------------------------------------------------

async function api<T>(
  node: LocalNode,
  path: string,
  init: RequestInit = {}
): Promise<{ status: number; body: T }> {
  const response = await fetch(new URL(path, node.api.url), {
    ...init,
    headers: { authorization: `Bearer ${node.token}`, 'content-type': 'application/json' },
    signal: AbortSignal.timeout(10_000)
  })
  return { status: response.status, body: (await response.json()) as T }
}

async function poll<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe().catch(() => undefined)
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

function rssOf(pid: number | undefined): Promise<string> {
  return readFile(`/proc/${pid}/status`, 'utf8')
    .then((text) => /VmRSS:\s+(\d+) kB/.exec(text)?.[1] ?? '?')
    .then((kb) => (kb === '?' ? kb : `${Math.round(Number(kb) / 1024)} MiB`))
    .catch(() => '?')
}

// --- the suites -------------------------------------------------------------------------------------------

describe('fuzz: the daemon under random and mutated input', { skip: DAEMON_SURFACES.length === 0 }, () => {
  let network: LocalNetwork
  let root: string
  let ctx: FuzzContext
  let node: LocalNode
  let rssBefore = '?'
  let proofServed = 0
  /** Set when the daemon exits: what the fuzzer was doing at that moment */
  let death: { report: string; file: string } | undefined
  let stopping = false
  const findings: string[] = []

  /** Keeps the examples of notable outcomes for the findings printed at the end */
  const note = (report: SurfaceReport): void => {
    for (const [outcome, cases] of report.examples) {
      findings.push(
        `${report.name}: ${report.outcomes.get(outcome)} ${outcome}, e.g. ${cases.join('\n    ')}`
      )
    }
  }

  const alive = (): boolean => node.process.exitCode === null && node.process.signalCode === null

  /** Fails the test if the daemon died or does not answer, with the report of what killed it */
  async function assertAlive(): Promise<void> {
    if (death !== undefined)
      assert.fail(`the daemon died; report in ${death.file}:\n${death.report.slice(0, 8000)}`)
    const health = await fetch(new URL('/v1/health', node.api.url), { signal: AbortSignal.timeout(5_000) })
    assert.equal(health.status, 200, 'the daemon answers /v1/health')
  }

  async function openAnchor(index: number): Promise<Anchor> {
    const rng = caseRng('anchor', index)
    const jobId = `fzanchor${index}x${SEED.toString(36)}`
    // canonical segments of 16 blocks, as the native prover wants them: its contribute runs once a slice is in
    const length = 16 * BLOCK_BYTES
    const input = rng.bytes(4 * length)
    const segments = [0, 1, 2, 3].map((i) => {
      const data = input.subarray(i * length, (i + 1) * length)
      const spec: SegmentSpec = {
        index: i,
        startBlock: BigInt(i * 16),
        blockCount: 16n,
        inputOffset: BigInt(i * length),
        inputLength: BigInt(length),
        inputSha256: sha256(data)
      }
      return { spec, data }
    })
    const signal = AbortSignal.timeout(10_000)
    const stream = await ctx.host.dialProtocol(ctx.daemonId, JOB_PROTOCOL, { signal })
    const framed = new FramedStream(stream)
    await framed.write(
      {
        reserve: {
          jobId,
          program: PROGRAM,
          units: 1,
          minUnits: 1,
          inputSize: BigInt(input.byteLength),
          leaseMs: 600_000,
          keepAliveMs: 5_000
        }
      },
      SubmitterFrame,
      signal
    )
    const answer = await framed.read(PeerFrame, MAX_JOB_FRAME_BYTES, signal)
    if (answer.reserved === undefined) {
      framed.abort(new Error('no lease'))
      throw new Error(`anchor ${jobId} refused: ${answer.refused?.message ?? 'no Reserved'}`)
    }
    await framed.write(
      {
        assign: {
          inputSize: BigInt(input.byteLength),
          inputMode: InputMode.DATA,
          inputName: '',
          // the last anchor takes no hints, so that its slices alone start the prover
          hints: index < 2,
          segments: segments.map(({ spec }) => spec)
        }
      },
      SubmitterFrame,
      signal
    )
    const controller = new AbortController()
    const anchor: Anchor = {
      jobId,
      input,
      segments,
      framed,
      controller,
      failures: [],
      contributions: 0,
      keepAlive: setInterval(() => {
        framed.write({ keepAlive: {} }, SubmitterFrame, AbortSignal.timeout(5_000)).catch(() => undefined)
      }, 20_000)
    }
    void (async () => {
      try {
        for (;;) {
          const frame = await framed.readOptional(PeerFrame, MAX_JOB_FRAME_BYTES, controller.signal)
          if (frame === undefined) return
          if (frame.failed !== undefined)
            anchor.failures.push(`${FailCode[frame.failed.code]}: ${frame.failed.message}`)
          if (frame.contribution !== undefined) anchor.contributions++
        }
      } catch {
        // released or reset
      }
    })()
    return anchor
  }

  async function ensureAnchors(): Promise<void> {
    if (ctx.anchors.length > 0) return
    for (let index = 0; index < 3; index++) {
      const anchor = await poll(`anchor session ${index}`, 15_000, async () => openAnchor(index))
      ctx.anchors.push(anchor)
    }
  }

  async function releaseAnchors(): Promise<void> {
    for (const anchor of ctx.anchors.splice(0)) {
      clearInterval(anchor.keepAlive)
      await anchor.framed
        .write({ release: {} }, SubmitterFrame, AbortSignal.timeout(2_000))
        .catch(() => undefined)
      await anchor.framed.close(AbortSignal.timeout(2_000)).catch(() => undefined)
      anchor.controller.abort()
      anchor.framed.abort(new Error('fuzz: anchor released'))
      process.stderr.write(
        `fuzz anchor ${anchor.jobId}: ${anchor.contributions} contributions, ${anchor.failures.length} failures${
          anchor.failures.length > 0 ? ` (first: ${anchor.failures[0]})` : ''
        }\n`
      )
    }
  }

  async function stream(
    name: SurfaceName,
    protocol: string,
    cap: number,
    concurrency: number,
    generate: (rng: Rng, ctx: FuzzContext) => FrameCase,
    extra: () => string = () => ''
  ): Promise<void> {
    const report = await runSurface(
      name,
      CASES,
      concurrency,
      streamSurface(ctx, protocol, cap, generate),
      () => !alive()
    )
    process.stderr.write(`${summary(report, `${extra()}; daemon RSS ${await rssOf(node.process.pid)}`)}\n`)
    note(report)
    await assertAlive()
    assert.deepEqual(report.problems, [], `${name}: every case ends within its deadline`)
    assert.equal(report.cases, CASES)
  }

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'proofmesh-fuzz-'))
    network = new LocalNetwork({
      nodes: 1,
      root,
      advertInterval: '1s',
      nodeArgs: () => ['--compute-units', '8']
    })
    await network.start()
    node = network.nodes[0] as LocalNode
    node.process.once('exit', (code, signal) => {
      if (stopping) return
      const state = running
      const report = [
        `seed ${SEED}, surface ${state?.name ?? '(between surfaces)'}, exit ${code ?? signal}` +
          (signal === null ? '' : ' (a signal from outside, or the OOM killer: not a crash of its own)'),
        `in flight when it died:`,
        ...[...(state?.inFlight.values() ?? [])].map((describe) => `  ${describe()}`),
        `the last cases done before:`,
        ...(state?.recent ?? []).map((describe) => `  ${describe()}`)
      ].join('\n')
      const file = join(tmpdir(), `proofmesh-fuzz-crash-${SEED}-${state?.name ?? 'none'}.txt`)
      death = { report, file }
      void readFile(node.logFile, 'utf8')
        .then((log) => writeFile(file, `${report}\n\nlog tail:\n${log.split('\n').slice(-80).join('\n')}\n`))
        .catch(() => undefined)
    })
    rssBefore = await rssOf(node.process.pid)
    const host = await createHost({
      privateKey: await generateKeyPair('Ed25519'),
      listen: ['/ip4/127.0.0.1/tcp/0'],
      dht: false,
      logger: createLogger({ level: 'silent' })
    })
    await host.handle(
      PROOF_PROTOCOL,
      (incoming) => serveGarbageProof(incoming, caseRng('proof-server', proofServed++)),
      { maxInboundStreams: 64, maxOutboundStreams: 64 }
    )
    const emptyFile = join(root, 'empty.bin')
    await writeFile(emptyFile, '')
    ctx = {
      daemonId: peerIdFromString(node.status.peerId),
      host,
      strangerId: peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString(),
      anchors: [],
      emptyFile
    }
    const address = node.status.addrs.find((addr) => addr.includes('/ip4/127.0.0.1/')) ?? node.status.addrs[0]
    assert.ok(address !== undefined, 'the daemon listens')
    await host.dial(multiaddr(address))
  })

  after(async () => {
    if (ctx !== undefined) {
      await releaseAnchors()
      await ctx.host.stop()
    }
    if (network !== undefined) {
      stopping = true
      await network.stop()
      await network.remove()
    }
    if (findings.length > 0) process.stderr.write(`fuzz findings:\n  ${findings.join('\n  ')}\n`)
  })

  it(`${JOB_PROTOCOL}: ${CASES} cases, and the daemon stays up`, { skip: !SURFACES.has('job') }, async () => {
    await stream(
      'job',
      JOB_PROTOCOL,
      MAX_JOB_FRAME_BYTES,
      16,
      jobCase,
      () => `; proofs pulled from the fuzzer ${proofServed}`
    )
  })

  it(
    `${INPUTS_PROTOCOL}: ${CASES} cases, and the daemon stays up`,
    { skip: !SURFACES.has('inputs') },
    async () => {
      await ensureAnchors()
      await stream('inputs', INPUTS_PROTOCOL, MAX_HEADER_BYTES, 8, inputsCase)
    }
  )

  it(
    `${HINTS_PROTOCOL}: ${CASES} cases, and the daemon stays up`,
    { skip: !SURFACES.has('hints') },
    async () => {
      await ensureAnchors()
      await stream('hints', HINTS_PROTOCOL, MAX_HINTS_CHUNK_BYTES + 256, 8, hintsCase)
    }
  )

  it(
    `${PROOF_PROTOCOL}: ${CASES} cases, and the daemon stays up`,
    { skip: !SURFACES.has('proof') },
    async () => {
      await ensureAnchors()
      await stream('proof', PROOF_PROTOCOL, MAX_HEADER_BYTES, 8, proofCase)
    }
  )

  it(
    `${STATUS_PROTOCOL}: ${CASES} cases, and the daemon stays up`,
    { skip: !SURFACES.has('status') },
    async () => {
      // the daemon takes 4 status streams at once per connection
      await stream('status', STATUS_PROTOCOL, MAX_STATUS_BYTES, 3, (rng) => statusCase(rng))
    }
  )

  it(
    `gossip ${capacityTopic()}: ${CASES} random and mutated adverts, and the daemon stays up`,
    { skip: !SURFACES.has('gossip') },
    async () => {
      const { pubsub } = ctx.host.services
      const topic = capacityTopic()
      pubsub.subscribe(topic)
      await poll('the fuzzer to see the daemon on the capacity topic', 15_000, async () =>
        pubsub.getSubscribers(topic).some((peer) => peer.equals(ctx.daemonId)) ? true : undefined
      )
      const before = await advertCounters(node)
      const report = await runSurface(
        'gossip',
        CASES,
        1,
        (rng) => {
          const c = gossipCase(rng)
          return {
            describe: () => `${c.label} [${c.data.byteLength} bytes] hex ${hex(c.data)}`,
            run: async () => {
              try {
                await pubsub.publish(topic, c.data)
                return 'published'
              } catch (err) {
                return `not published (${(err as Error).name})`
              }
            }
          }
        },
        () => !alive()
      )
      // what the daemon's validator made of them, once its counters stop moving
      let last = -1
      let delta = new Map<string, number>()
      await poll('the daemon to have validated what arrives', 30_000, async () => {
        const now = await advertCounters(node)
        delta = new Map([...now].map(([key, count]) => [key, count - (before.get(key) ?? 0)]))
        const total = [...delta.values()].reduce((sum, count) => sum + count, 0)
        if (total === last) return true
        last = total
        await new Promise((resolve) => setTimeout(resolve, 800))
        return undefined
      })
      const verdicts = [...delta].filter(([, count]) => count > 0).map(([key, count]) => `${key} ${count}`)
      process.stderr.write(
        `${summary(report, `; validated by the daemon ${last}: ${verdicts.join(', ')}; daemon RSS ${await rssOf(node.process.pid)}`)}\n`
      )
      pubsub.unsubscribe(topic)
      await assertAlive()
      assert.ok(last > 0, 'the adverts reached the daemon’s validator')
    }
  )

  it(
    `HTTP API: ${CASES} random requests, and the daemon stays up`,
    { skip: !SURFACES.has('http') },
    async () => {
      // a job that exists (failed at once, asking for more units than the network has) for the job routes
      const made = await api<{ id?: string }>(node, '/v1/jobs', {
        method: 'POST',
        body: JSON.stringify({ inputMode: 'data', input: join(root, 'empty.bin'), computeCapacity: 1 })
      })
      assert.equal(made.status, 400, 'an empty input is refused')
      const seedInput = join(root, 'seed.bin')
      await writeFile(seedInput, Buffer.alloc(1024, 7))
      const job = await api<{ id: string }>(node, '/v1/jobs', {
        method: 'POST',
        body: JSON.stringify({
          inputMode: 'data',
          input: seedInput,
          computeCapacity: 1_000_000,
          timeoutMs: 1000
        })
      })
      assert.equal(job.status, 201)
      await poll('the oversized job to end', 15_000, async () => {
        const { body } = await api<{ state: string }>(node, `/v1/jobs/${job.body.id}`)
        return ['failed', 'cancelled', 'succeeded'].includes(body.state) ? true : undefined
      }).catch(async () => api(node, `/v1/jobs/${job.body.id}/cancel`, { method: 'POST' }))
      const port = Number(new URL(node.api.url).port)
      const httpCtx: HttpContext = { port, token: node.token, jobId: job.body.id, emptyFile: ctx.emptyFile }
      const created: string[] = []
      const serverErrors: string[] = []
      const report = await runSurface(
        'http',
        CASES,
        8,
        (rng) => {
          const c = httpCase(rng, httpCtx)
          return {
            describe: () => `${c.label}: ${JSON.stringify(c.request.toString('latin1').slice(0, 2000))}`,
            run: async () => {
              const { outcome, text } = await rawHttp(port, c.request)
              if (outcome === '201') created.push(/"id":\s*"([A-Za-z0-9_-]+)"/.exec(text)?.[1] ?? '?')
              if (outcome.startsWith('5') && serverErrors.length < 10) {
                const answer = text
                  .slice(text.indexOf('\r\n\r\n') + 4)
                  .replace(/\s+/g, ' ')
                  .trim()
                serverErrors.push(`${outcome} ${answer.slice(0, 120)} for ${c.label}`)
              }
              if (outcome === 'silent' && c.promisesMore) return 'waiting for the body promised'
              return /^\d{3}$/.test(outcome) ? `${outcome.charAt(0)}xx` : outcome
            }
          }
        },
        () => !alive()
      )
      for (const id of created)
        await api(node, `/v1/jobs/${id}/cancel`, { method: 'POST' }).catch(() => undefined)
      process.stderr.write(
        `${summary(report, `${created.length > 0 ? `; jobs created ${created.length}` : ''}; daemon RSS ${await rssOf(node.process.pid)}`)}\n`
      )
      for (const error of serverErrors) findings.push(`HTTP ${error}`)
      note(report)
      await assertAlive()
      assert.deepEqual(report.problems, [], 'every request ends within its deadline')
    }
  )

  it('afterwards the daemon is still up, proves a job, and logged nothing fatal', async () => {
    await assertAlive()
    await releaseAnchors()
    const input = join(root, 'final.bin')
    await writeFile(input, Buffer.from(caseRng('final', 0).bytes(50 * 1024)))
    const submitted = await api<{ id: string }>(node, '/v1/jobs', {
      method: 'POST',
      body: JSON.stringify({ inputMode: 'data', input, computeCapacity: 1 })
    })
    assert.equal(submitted.status, 201, JSON.stringify(submitted.body))
    const job = await poll(`job ${submitted.body.id} to end`, 180_000, async () => {
      const { body } = await api<{ state: string; error?: unknown }>(node, `/v1/jobs/${submitted.body.id}`)
      return ['succeeded', 'failed', 'cancelled'].includes(body.state) ? body : undefined
    })
    assert.equal(job.state, 'succeeded', JSON.stringify(job.error))
    const log = await readFile(node.logFile, 'utf8')
    const lines = log.split('\n').filter((line) => line !== '')
    const fatal = lines.filter(
      (line) => /uncaughtException|unhandledRejection/.test(line) || line.startsWith('{"level":60')
    )
    // what Node itself wrote (warnings, traces), by kind
    const raw = new Map<string, number>()
    for (const line of lines.filter((text) => !text.startsWith('{'))) {
      const kind = line
        .replace(/\(node:\d+\)/, '(node)')
        .replace(/\d+/g, 'N')
        .slice(0, 200)
      raw.set(kind, (raw.get(kind) ?? 0) + 1)
    }
    for (const [kind, count] of raw) findings.push(`daemon stderr, ${count} times: ${kind}`)
    process.stderr.write(
      `fuzz daemon: RSS ${rssBefore} before, ${await rssOf(node.process.pid)} after; ${lines.length} log lines\n`
    )
    assert.deepEqual(fatal.slice(0, 5), [], 'no fatal line in the daemon log')
  })
})

describe('fuzz: the NPP client against a prover that writes garbage', { skip: !SURFACES.has('npp') }, () => {
  const clients: NppClient[] = []
  const quiet = createLogger({
    level: 'debug',
    format: 'json',
    destination: new Writable({ write: (_chunk, _encoding, callback) => callback() })
  })

  async function startClient(replay?: Buffer): Promise<NppClient> {
    const client = new NppClient({
      command: [process.execPath, GARBAGE_PROVER],
      logger: quiet,
      maxLineBytes: NPP_MAX_LINE_BYTES,
      ...(replay === undefined ? {} : { env: { ...process.env, GARBAGE_REPLAY: replay.toString('base64') } })
    })
    clients.push(client)
    // listeners as the supervisor has them, so that a notification's detail is handed on
    client.addEventListener('progress', (event) => void event.detail.job)
    client.addEventListener('log', (event) => void event.detail.message)
    await client.start()
    return client
  }

  /** Whether one call, answered with the case's own writes (or only `replay`), throws out of a fresh client */
  async function throwsAlone(method: NppFuzzMethod, tag: string, replay?: Buffer): Promise<boolean> {
    const alone = await startClient(replay)
    const caught: Error[] = []
    await catchingUncaught(
      (err) => caught.push(err),
      async () => {
        await nppCall(alone, method, tag, 300).catch(() => undefined)
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    )
    alone.markClosing()
    alone.kill('SIGKILL')
    return caught.length > 0
  }

  after(async () => {
    for (const client of clients.splice(0)) {
      client.markClosing()
      client.kill('SIGKILL')
      await client.waitForExit(2_000)
    }
  })

  it(`settles ${CASES} calls within their timeouts, throws nothing uncaught, and keeps its memory`, async () => {
    const client = await startClient()
    const uncaught: Array<{ err: Error; suspects: number[] }> = []
    const inFlight = new Set<number>()
    const onUncaught = (err: Error): void => {
      uncaught.push({ err, suspects: [...inFlight] })
    }
    const odd: string[] = []
    const rejections = new Map<string, number>()
    const caseOf = (rng: Rng, index: number): { method: NppFuzzMethod; tag: string; timeoutMs: number } => ({
      method: rng.pick(NPP_METHODS),
      tag: `fz-${SEED}-${index}`,
      timeoutMs: rng.range(50, 500)
    })
    collectGarbage()
    const heapBefore = process.memoryUsage().heapUsed
    const report = await catchingUncaught(onUncaught, async () => {
      const done = await runSurface('npp', CASES, 16, (rng, index) => {
        const { method, tag, timeoutMs } = caseOf(rng, index)
        return {
          describe: () => `${method} ${tag} (timeout ${timeoutMs} ms)`,
          run: async () => {
            inFlight.add(index)
            try {
              await within(nppCall(client, method, tag, timeoutMs), timeoutMs + 3_000, `${method} ${tag}`)
              return 'resolved'
            } catch (err) {
              const name = err instanceof Error ? err.name : typeof err
              if (name === 'Error' && (err as Error).message.startsWith('timed out')) return 'not settled'
              if (!KNOWN_REJECTIONS.has(name)) {
                if (odd.length < 10) odd.push(`${method} ${tag}: ${String(err)}`)
                return 'odd'
              }
              rejections.set(name, (rejections.get(name) ?? 0) + 1)
              return 'rejected'
            } finally {
              inFlight.delete(index)
            }
          }
        }
      })
      // the cancels of abandoned calls run on their own, for up to 5 s
      await new Promise((resolve) => setTimeout(resolve, 5_500))
      return done
    })
    collectGarbage()
    const heapGrowth = process.memoryUsage().heapUsed - heapBefore
    const rejected = [...rejections].map(([name, count]) => `${name} ${count}`).join(', ')
    process.stderr.write(
      `${summary(report, `; rejections: ${rejected}; garbage lines ${client.stats.garbageLines}, unknown replies ${client.stats.unknownReplies}, oversized lines ${client.stats.oversizedLines}; heap ${(heapGrowth / 2 ** 20).toFixed(1)} MiB more; uncaught ${uncaught.length}`)}\n`
    )

    // an exception thrown out of the client: find a case that causes it alone, then the one line that does
    let culprit = 'no single case reproduces it alone'
    if (uncaught.length > 0) {
      const suspects = [...new Set(uncaught.flatMap(({ suspects }) => suspects))].slice(0, 32)
      for (const index of suspects) {
        const { method, tag } = caseOf(caseRng('npp', index), index)
        if (!(await throwsAlone(method, tag))) continue
        const writes = await garbageWrites(tag, method)
        let line = `one of ${writes.length} writes, none alone`
        for (const write of writes) {
          if (await throwsAlone(method, tag, write)) {
            line = `this one alone: ${JSON.stringify(write.toString('utf8'))}`
            break
          }
        }
        culprit =
          `case ${index} (${method}, job "${tag}") does it alone (its writes: node ` +
          `test/fixtures/prover/garbage-prover.mjs --dump ${tag} ${method} 1); the line: ${line}`
        break
      }
    }
    assert.deepEqual(
      [...new Set(uncaught.map(({ err }) => String(err)))],
      [],
      `NppClient threw out of its stdout handler ${uncaught.length} times (FUZZ_SEED=${SEED}): ${culprit}`
    )
    assert.deepEqual(odd, [], 'every call resolves or rejects with a Prover*Error')
    assert.equal(report.outcomes.get('not settled') ?? 0, 0, 'every call settles within its timeout')
    assert.deepEqual(report.problems, [])
    assert.ok(client.running, 'the client still runs its prover')
    assert.ok(heapGrowth < 64 * 2 ** 20, `the heap grew by ${heapGrowth} bytes`)
  })
})
