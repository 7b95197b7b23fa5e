/** Received bytes into files: the ByteSink interface, a file sink that checks count and SHA-256, pump */
import { createHash } from 'node:crypto'
import { open, rename, rm, stat } from 'node:fs/promises'
import type { Uint8ArrayList } from 'uint8arraylist'
import { TransferError } from './errors.js'
import { readFileRange } from './file-range.js'

/** Where received bytes go: a file written as they arrive, checked, then renamed into place */
export interface ByteSink {
  /** A list is written as it is, without first copying it into one buffer */
  write(chunk: Uint8Array | Uint8ArrayList, signal: AbortSignal): Promise<void>
  /** Checks the length and SHA-256 of everything written and makes the file visible */
  finish(total: number, sha256: Uint8Array, signal: AbortSignal): Promise<void>
  /** Drops what was written (the partial file stays only where the sink resumes) */
  abort(err: Error): Promise<void>
}

export interface FileSinkInit {
  /** Final path; bytes go to `<path>.part` first */
  path: string
  /** Keep an existing `.part` and append to it (resumable inputs) */
  resume?: boolean
  maxBytes?: number
}

export interface FileSink extends ByteSink {
  /** Bytes already in the partial file when the sink opened */
  readonly resumedFrom: number
}

/** A ByteSink into a file: appended as chunks arrive (memory stays bounded), hashed on the way */
export async function openFileSink(init: FileSinkInit): Promise<FileSink> {
  const partial = `${init.path}.part`
  const hash = createHash('sha256')
  let written = 0
  if (init.resume === true) {
    // A resumed file's hash covers the bytes already there
    const size = await stat(partial).then(
      (st) => st.size,
      () => 0
    )
    if (size > 0) {
      for await (const chunk of readFileRange(partial, 0, size)) {
        hash.update(chunk)
        written += chunk.byteLength
      }
    }
  }
  const handle = await open(partial, init.resume === true ? 'a' : 'w')
  const resumedFrom = written
  let closed = false
  const close = async (): Promise<void> => {
    if (closed) return
    closed = true
    await handle.close()
  }
  return {
    resumedFrom,
    async write(chunk) {
      written += chunk.byteLength
      if (init.maxBytes !== undefined && written > init.maxBytes) {
        throw new TransferError(`more than the ${init.maxBytes} bytes announced`)
      }
      const buffers = chunk instanceof Uint8Array ? [chunk] : [...chunk]
      for (const buffer of buffers) hash.update(buffer)
      // one system call for all of them
      const { bytesWritten } = await handle.writev(buffers)
      if (bytesWritten !== chunk.byteLength)
        throw new TransferError(`${partial}: ${bytesWritten} of ${chunk.byteLength} bytes written`)
    },
    async finish(total, sha256) {
      try {
        await handle.sync()
      } finally {
        await close()
      }
      const digest = hash.digest()
      if (written !== total) {
        await rm(partial, { force: true })
        throw new TransferError(`received ${written} bytes, ${total} were announced`)
      }
      if (!digest.equals(Buffer.from(sha256))) {
        await rm(partial, { force: true })
        throw new TransferError('the SHA-256 of the received bytes does not match the announced one')
      }
      await rename(partial, init.path)
    },
    async abort() {
      await close().catch(() => undefined)
      if (init.resume !== true) await rm(partial, { force: true })
    }
  }
}

/** The same sink, telling `onBytes` of every write as it goes (a counter of bytes received) */
export function countedSink<T extends ByteSink>(sink: T, onBytes: (bytes: number) => void): T {
  return {
    ...sink,
    write: async (chunk, signal) => {
      onBytes(chunk.byteLength)
      await sink.write(chunk, signal)
    }
  }
}

/** Copies everything a source yields into a sink, then finishes it */
export async function pump(
  source: AsyncIterable<Uint8Array>,
  sink: ByteSink,
  total: number,
  sha256: Uint8Array,
  signal: AbortSignal
): Promise<void> {
  try {
    for await (const chunk of source) {
      signal.throwIfAborted()
      await sink.write(chunk, signal)
    }
    await sink.finish(total, sha256, signal)
  } catch (err) {
    await sink.abort(err as Error)
    throw err
  }
}
