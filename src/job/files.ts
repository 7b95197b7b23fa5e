import { createHash } from 'node:crypto'
import { copyFile, open, rename, rm } from 'node:fs/promises'
import { connect } from 'node:net'
import { toError } from '../net/framed-stream.js'
import { readFileRange } from '../files/file-range.js'
import { JobFailure } from './errors.js'

/** Atomically: a temporary file in the target's folder, synced, then renamed into place */
export async function writeAtomically(source: string, target: string): Promise<void> {
  const temporary = `${target}.tmp-${process.pid}`
  try {
    await copyFile(source, temporary)
    const handle = await open(temporary, 'r+')
    try {
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(temporary, target)
  } catch (err) {
    await rm(temporary, { force: true })
    throw err
  }
}

/** SHA-256 of the whole input and of each segment's slice, in one pass over the file */
export async function hashSlices(
  path: string,
  segments: ReadonlyArray<{ inputOffset: number; inputLength: number }>
): Promise<{ whole: string; segments: string[] }> {
  const whole = createHash('sha256')
  const hashes = segments.map(() => createHash('sha256'))
  let position = 0
  const size = segments.reduce((end, segment) => Math.max(end, segment.inputOffset + segment.inputLength), 0)
  const handle = await open(path, 'r')
  const fileSize = (await handle.stat()).size
  await handle.close()
  for await (const chunk of readFileRange(path, 0, Math.max(size, fileSize))) {
    whole.update(chunk)
    const end = position + chunk.byteLength
    segments.forEach((segment, i) => {
      const from = Math.max(position, segment.inputOffset)
      const to = Math.min(end, segment.inputOffset + segment.inputLength)
      if (from < to) hashes[i]?.update(chunk.subarray(from - position, to - position))
    })
    position = end
  }
  return { whole: whole.digest('hex'), segments: hashes.map((hash) => hash.digest('hex')) }
}

/** Bytes from a unix socket until it closes, as they arrive */
export async function* readSocket(path: string, signal: AbortSignal): AsyncGenerator<Uint8Array> {
  const socket = connect({ path, signal })
  try {
    for await (const chunk of socket as AsyncIterable<Buffer>) yield chunk
  } catch (err) {
    throw new JobFailure('HINTS', `the hints socket ${path}: ${toError(err).message}`)
  } finally {
    socket.destroy()
  }
}
