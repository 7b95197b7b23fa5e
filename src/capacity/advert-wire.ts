/**
 * The integers of an advert as they are on the wire, before protons reads them. Protons reads a uint32 field
 * from any varint and keeps its low 32 bits: `units_total` sent as 2^32 + 5 was listed as 5. Every integer
 * field here must be a varint in its type's range and in its shortest form (one value, one encoding: two adverts
 * that decode alike are the same bytes on the wire). Unknown fields of a later version pass untouched.
 */
import { AdvertValidationError } from './advert-error.js'

type FieldKind = 'uint32' | 'uint64' | 'bytes' | { message: Schema }
type Schema = Readonly<Record<number, FieldKind>>

const GPU: Schema = { 1: 'uint32', 2: 'bytes', 3: 'uint32', 4: 'uint32', 5: 'uint32' }

/** protocols/capacity/pb/capacity.proto, by field number */
const ADVERT: Schema = {
  1: 'uint64',
  2: 'uint64',
  3: 'uint32',
  4: 'uint32',
  5: { message: GPU },
  6: 'uint32',
  7: 'uint64',
  8: 'bytes',
  9: 'bytes',
  10: 'bytes',
  11: 'bytes',
  12: 'uint32',
  13: 'bytes',
  14: 'bytes',
  15: 'bytes',
  16: 'uint32'
}

const WIRE_VARINT = 0
const WIRE_FIXED64 = 1
const WIRE_LENGTH = 2
const WIRE_FIXED32 = 5
const MAX_UINT32 = 0xffff_ffffn
const MAX_UINT64 = 0xffff_ffff_ffff_ffffn

const malformed = (detail: string): AdvertValidationError =>
  new AdvertValidationError('reject', 'malformed', detail)

class WireReader {
  pos: number

  constructor(
    private readonly bytes: Uint8Array,
    start: number,
    readonly end: number
  ) {
    this.pos = start
  }

  /** A varint of at most 10 bytes, in its shortest form */
  varint(): bigint {
    let value = 0n
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw malformed('a varint runs past the end of its message')
      const byte = this.bytes[this.pos++] as number
      value |= BigInt(byte & 0x7f) << BigInt(7 * i)
      if ((byte & 0x80) === 0) {
        if (byte === 0 && i > 0) throw malformed('a varint is not in its shortest form')
        if (value > MAX_UINT64) throw malformed('a varint overflows 64 bits')
        return value
      }
    }
    throw malformed('a varint is longer than 10 bytes')
  }

  skip(length: number): void {
    if (length > this.end - this.pos) throw malformed('a field runs past the end of its message')
    this.pos += length
  }
}

function checkMessage(bytes: Uint8Array, start: number, end: number, schema: Schema, path: string): void {
  const reader = new WireReader(bytes, start, end)
  while (reader.pos < reader.end) {
    const tag = reader.varint()
    const field = Number(tag >> 3n)
    const wireType = Number(tag & 7n)
    const kind = schema[field]
    if (kind === 'uint32' || kind === 'uint64') {
      if (wireType !== WIRE_VARINT) throw malformed(`${path}field ${field} is not a varint`)
      const value = reader.varint()
      if (kind === 'uint32' && value > MAX_UINT32) {
        throw new AdvertValidationError(
          'reject',
          'range',
          `${path}field ${field} = ${value} overflows 32 bits`
        )
      }
      continue
    }
    if (kind !== undefined && wireType !== WIRE_LENGTH) {
      throw malformed(`${path}field ${field} is not length-delimited`)
    }
    switch (wireType) {
      case WIRE_VARINT:
        reader.varint()
        break
      case WIRE_FIXED64:
        reader.skip(8)
        break
      case WIRE_FIXED32:
        reader.skip(4)
        break
      case WIRE_LENGTH: {
        const length = reader.varint()
        if (length > BigInt(reader.end - reader.pos))
          throw malformed('a field runs past the end of its message')
        const from = reader.pos
        reader.skip(Number(length))
        if (kind !== undefined && typeof kind === 'object') {
          checkMessage(bytes, from, reader.pos, kind.message, `${path}field ${field}.`)
        }
        break
      }
      default:
        throw malformed(`${path}field ${field} has wire type ${wireType}`)
    }
  }
}

/** Throws AdvertValidationError (reject) for an integer out of its type's range or not in its shortest form */
export function checkAdvertWire(bytes: Uint8Array): void {
  checkMessage(bytes, 0, bytes.byteLength, ADVERT, '')
}
