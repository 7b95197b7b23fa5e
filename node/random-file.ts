import { randomBytes } from 'node:crypto'
import { open } from 'node:fs/promises'

const PIECE_BYTES = 1024 * 1024

/** A file of `bytes` random bytes, readable by its owner only, written a MiB at a time (memory stays small) */
export async function writeRandomFile(path: string, bytes: number): Promise<void> {
  const handle = await open(path, 'w', 0o600)
  try {
    for (let written = 0; written < bytes; written += PIECE_BYTES) {
      await handle.write(randomBytes(Math.min(PIECE_BYTES, bytes - written)))
    }
  } finally {
    await handle.close()
  }
}
