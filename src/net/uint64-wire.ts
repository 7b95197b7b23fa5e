import { writer } from 'protons-runtime'

/**
 * Makes protobuf uint64 fields travel intact. protons-runtime (7.1.2, and 8.0.1 the same) writes a uint64 whose
 * value lies in [2^31, 2^32) wrongly: its LongBits keeps the low word as a signed int32, so the varint writer
 * stops at once: Reserve{inputSize: 2^31} decodes as 0, and 2^32 − 1 gives a message nobody can read. Input
 * sizes, offsets and lengths of 2–4 GiB (`inputs.max_bytes` allows 4 GiB) and memory figures travel in such
 * fields. The writer's `uint64Number` path (uint8-varint) is right for every safe integer, so a bigint in that
 * range is written through it; larger values keep protons' path, which is right once the high word is non-zero.
 *
 * Installed once, on the writer class protons' generated encoders use, by importing this module: the frame
 * codec (src/net/framed-stream.ts) and the advert encoder (src/capacity/advert.ts) import it, and so the fix
 * is in place before any message is encoded.
 */
interface Uint64Writer {
  uint64: (value: bigint) => Uint64Writer
  uint64Number: (value: number) => Uint64Writer
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER)
const prototype = Object.getPrototypeOf(writer()) as Uint64Writer
const protonsUint64 = prototype.uint64

prototype.uint64 = function (this: Uint64Writer, value: bigint): Uint64Writer {
  return value >= 0n && value <= MAX_SAFE ? this.uint64Number(Number(value)) : protonsUint64.call(this, value)
}
