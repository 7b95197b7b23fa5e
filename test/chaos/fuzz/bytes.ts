/**
 * Bytes on the wire: varints and length prefixes (honest and lying), protobuf fields nobody asked for, byte-level
 * mutation, frames out of order, and buildWire, which turns a generator's frames into one case's bytes.
 */
import { createHash } from 'node:crypto'
import { type Rng } from './rng.js'

export function concat(parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.byteLength, 0))
  let at = 0
  for (const part of parts) {
    out.set(part, at)
    at += part.byteLength
  }
  return out
}

/** Unsigned LEB128, any size */
export function varint(value: number | bigint): Uint8Array<ArrayBuffer> {
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

export const lengthPrefixed = (body: Uint8Array): Uint8Array<ArrayBuffer> =>
  concat([varint(body.byteLength), body])
export const sha256 = (data: Uint8Array): Uint8Array<ArrayBuffer> =>
  new Uint8Array(createHash('sha256').update(data).digest())
export const hex = (data: Uint8Array): string => Buffer.from(data).toString('hex')
export const empty = (): Uint8Array<ArrayBuffer> => new Uint8Array(0)

/** Protobuf fields the messages do not have, or have with another wire type (6 and 7 are no wire type at all) */
export function protobufNoise(rng: Rng): Uint8Array<ArrayBuffer> {
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
export function mutateBytes(rng: Rng, input: Uint8Array): { wire: Uint8Array; how: string } {
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
export interface FrameCase {
  label: string
  frames: Uint8Array[]
  tail?: Uint8Array
  /** Keep the stream open more often: what the case sets off in the daemon needs its session to live a while */
  linger?: boolean
}

/** How a case ends its side: close its writing side, reset the stream, or keep it open until HOLD_MS */
type Ending = 'close' | 'abort' | 'hold'

export interface WireCase {
  label: string
  wire: Uint8Array
  ending: Ending
}

export function buildWire(rng: Rng, cap: number, generate: (rng: Rng) => FrameCase): WireCase {
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
