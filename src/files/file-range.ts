/** Reading a byte range of a file: what a bulk stream sends, and what the submitter hashes */
import { createHash } from 'node:crypto'
import { open } from 'node:fs/promises'
import { TransferError } from './errors.js'

/**
 * Files are read, and raw bulk data sent, in pieces of this size. One send() goes through yamux, noise and into
 * the socket in one synchronous pass, and what the socket does not take at once waits in buffers on the JS heap:
 * with 1 MiB pieces those lived long enough to reach V8's old generation, and a 256 MiB slice cost 13-16 full
 * (mark-compact) collections and ~10% more CPU per MiB; with 256 KiB pieces none (test/bench/inputs-throughput,
 * full_gcs). Smaller pieces cost more CPU again (64 KiB: +35%).
 */
export const FILE_PIECE_BYTES = 256 * 1024

/** Reads [start, end) of a file in pieces of FILE_PIECE_BYTES; the last piece may be shorter */
export async function* readFileRange(path: string, start: number, end: number): AsyncGenerator<Uint8Array> {
  const handle = await open(path, 'r')
  try {
    let position = start
    while (position < end) {
      const buffer = Buffer.allocUnsafe(Math.min(FILE_PIECE_BYTES, end - position))
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, position)
      if (bytesRead === 0) throw new TransferError(`${path} ended at byte ${position}, before ${end}`)
      position += bytesRead
      yield buffer.subarray(0, bytesRead)
    }
  } finally {
    await handle.close()
  }
}

/** SHA-256 of [start, end) of a file */
export async function hashFileRange(path: string, start: number, end: number): Promise<Buffer> {
  const hash = createHash('sha256')
  for await (const chunk of readFileRange(path, start, end)) hash.update(chunk)
  return hash.digest()
}
