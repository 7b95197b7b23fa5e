import { type FileHandle, open, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { toError } from '../net/framed-stream.js'
import { MAX_HINTS_BYTES } from '../../protocols/hints/constants.js'
import { readFileRange } from '../files/file-range.js'
import { JobFailure } from './errors.js'
import { readSocket } from './files.js'
import type { HintsSource } from '../jobs-model/types.js'

function overLimit(): JobFailure {
  return new JobFailure('HINTS', `hints over the ${MAX_HINTS_BYTES}-byte limit`)
}

/** A socket's hints as they arrive: how much of the file is written, and whether the socket has ended */
interface SocketTee {
  written: number
  done: boolean
  error?: Error
  /** Resolved, and replaced, whenever written, done or error changes */
  changed: PromiseWithResolvers<void>
}

/**
 * A job's hints, for every peer that needs them: the file the plan wrote, a file the submitter was given, or a
 * unix socket. A socket can be read only once, so it is read into a file of the job's folder that grows as chunks
 * arrive, and every reader follows that file: the first peers' relays stream together while the socket is still
 * open, and a peer that joins the job later (a segment that moved) reads the same bytes from disk.
 */
export class JobHints {
  /** Where the hints are, or will be once a socket's are in */
  readonly path: string
  private readonly source?: HintsSource
  private readonly signal: AbortSignal
  private tee?: SocketTee

  /** `jobDir`: this job's own folder; `signal` stops reading a socket */
  constructor(source: HintsSource | undefined, jobDir: string, signal: AbortSignal) {
    this.source = source
    this.signal = signal
    this.path =
      source?.kind === 'file'
        ? source.path
        : join(jobDir, source?.kind === 'socket' ? 'hints-received' : 'hints')
  }

  /**
   * Every byte of the hints, from the start; a socket's as they arrive. Throws JobFailure('HINTS'), also for hints
   * over MAX_HINTS_BYTES: a file's before a byte is read, a socket's as soon as it passes the limit.
   */
  async *read(): AsyncGenerator<Uint8Array> {
    if (this.source?.kind !== 'socket') {
      const { size } = await stat(this.path).catch((err: unknown) => {
        throw new JobFailure('HINTS', `cannot read the hints ${this.path}: ${toError(err).message}`)
      })
      if (size > MAX_HINTS_BYTES) throw overLimit()
      yield* readFileRange(this.path, 0, size)
      return
    }
    const tee = (this.tee ??= this.teeSocket(this.source.path))
    let offset = 0
    for (;;) {
      if (tee.error !== undefined) throw tee.error
      if (offset < tee.written) {
        const end = tee.written
        yield* readFileRange(this.path, offset, end)
        offset = end
      } else if (tee.done) {
        return
      } else {
        await tee.changed.promise
      }
    }
  }

  /** Reads the socket once, into this.path, in the background */
  private teeSocket(socket: string): SocketTee {
    const tee: SocketTee = { written: 0, done: false, changed: Promise.withResolvers<void>() }
    const notify = (): void => {
      const changed = tee.changed
      tee.changed = Promise.withResolvers<void>()
      changed.resolve()
    }
    // every error ends up in tee.error, for the readers: nothing may escape this detached task
    void (async () => {
      let file: FileHandle | undefined
      try {
        file = await open(this.path, 'w')
        for await (const chunk of readSocket(socket, this.signal)) {
          await file.write(chunk)
          tee.written += chunk.byteLength
          if (tee.written > MAX_HINTS_BYTES) throw overLimit()
          notify()
        }
        await file.sync()
        tee.done = true
      } catch (err) {
        tee.error = err instanceof JobFailure ? err : new JobFailure('HINTS', toError(err).message)
      } finally {
        await file?.close().catch(() => undefined)
        notify()
      }
    })()
    return tee
  }
}
