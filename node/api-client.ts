import { createHash, randomBytes } from 'node:crypto'
import { open, rename, rm } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { readJobEvent } from '../src/jobs-model/events.js'
import type { JobEvent } from '../src/jobs-model/types.js'
import { deadline } from '../src/net/deadline.js'
import { type ApiAddress, readApiAddress, readApiToken } from '../src/rpc/http/credentials.js'
import { CliError } from './errors.js'
import { baseConfig } from './options.js'

export const apiClientDefaults = {
  /** One request/response call; streams and downloads use the idle timeout instead */
  timeoutMs: 10_000,
  /** The daemon sends a keep-alive comment every 15 s, so 45 s of silence means a dead connection */
  idleTimeoutMs: 45_000,
  /** Reconnects of an event stream in a row without an event before giving up */
  maxReconnects: 5,
  /** First wait before reconnecting; doubles per failed attempt */
  reconnectDelayMs: 250
}

/** One server-sent event as it arrives: `id`, `event` (default "message") and the joined `data` lines */
export interface SseMessage {
  id?: string
  event: string
  data: string
}

/**
 * The server-sent events wire format (text/event-stream): lines ended by CRLF, LF or CR, fields `id`, `event`,
 * `data` (repeatable, joined by newlines), `retry` (ignored) and comments (`:`), a blank line ending an event.
 */
export class SseParser {
  private buffer = ''
  private data: string[] = []
  private event = ''
  private id: string | undefined

  /** Feeds decoded text; returns the events it completed */
  push(text: string): SseMessage[] {
    this.buffer += text
    const messages: SseMessage[] = []
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.buffer)
      if (match === null) break
      // A CR at the very end may be the first half of a CRLF split across chunks: wait for the next one
      if (match[0] === '\r' && match.index === this.buffer.length - 1) break
      const line = this.buffer.slice(0, match.index)
      this.buffer = this.buffer.slice(match.index + match[0].length)
      const message = this.line(line)
      if (message !== undefined) messages.push(message)
    }
    return messages
  }

  private line(line: string): SseMessage | undefined {
    if (line === '') {
      const message =
        this.data.length === 0
          ? undefined
          : {
              ...(this.id === undefined ? {} : { id: this.id }),
              event: this.event || 'message',
              data: this.data.join('\n')
            }
      this.data = []
      this.event = ''
      return message
    }
    if (line.startsWith(':')) return undefined
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.slice(0, colon)
    let value = colon === -1 ? '' : line.slice(colon + 1)
    if (value.startsWith(' ')) value = value.slice(1)
    if (field === 'data') this.data.push(value)
    else if (field === 'event') this.event = value
    else if (field === 'id' && !value.includes('\0')) this.id = value
    return undefined
  }
}

export interface EventStreamOptions {
  /** Events after this sequence number; 0 = from the first */
  after?: number
  signal?: AbortSignal
  idleTimeoutMs?: number
  maxReconnects?: number
  reconnectDelayMs?: number
}

/** Talks to the local daemon's HTTP API, found through the data dir's api.json and api.token */
export class ApiClient {
  private readonly address: ApiAddress
  private readonly token: string

  private constructor(address: ApiAddress, token: string) {
    this.address = address
    this.token = token
  }

  static async fromDataDir(dataDir: string): Promise<ApiClient> {
    let address: ApiAddress
    try {
      address = await readApiAddress(dataDir)
    } catch {
      throw new CliError(
        `no running daemon found in ${dataDir} (start one with \`proofmesh daemon\`, or pass --data-dir)`
      )
    }
    const token = await readApiToken(dataDir).catch(() => {
      throw new CliError(`cannot read the API token in ${dataDir}`)
    })
    return new ApiClient(address, token)
  }

  /** A client of an API whose address and token are known (tests, in-process callers) */
  static forAddress(address: ApiAddress, token: string): ApiClient {
    return new ApiClient(address, token)
  }

  get url(): string {
    return this.address.url
  }

  async get<T>(path: string, timeoutMs = apiClientDefaults.timeoutMs): Promise<T> {
    return this.call<T>('GET', path, undefined, timeoutMs)
  }

  async post<T>(path: string, body?: unknown, timeoutMs = apiClientDefaults.timeoutMs): Promise<T> {
    return this.call<T>('POST', path, body, timeoutMs)
  }

  /**
   * A job's events over server-sent events, oldest first. A broken connection is resumed from the last event
   * seen (Last-Event-ID); after maxReconnects attempts in a row that bring no event, a CliError. Ends when the
   * daemon ends the stream, which it does once the job is over.
   */
  async *events(jobId: string, options: EventStreamOptions = {}): AsyncGenerator<JobEvent, void, undefined> {
    const path = `/v1/jobs/${encodeURIComponent(jobId)}/events`
    const idleTimeoutMs = options.idleTimeoutMs ?? apiClientDefaults.idleTimeoutMs
    const maxReconnects = options.maxReconnects ?? apiClientDefaults.maxReconnects
    const reconnectDelayMs = options.reconnectDelayMs ?? apiClientDefaults.reconnectDelayMs
    let lastSeq = options.after ?? 0
    let failures = 0
    for (;;) {
      const idle = new IdleAbort(
        idleTimeoutMs,
        `no event or keep-alive from the daemon for ${idleTimeoutMs} ms`
      )
      const signal =
        options.signal === undefined ? idle.signal : AbortSignal.any([idle.signal, options.signal])
      let failure: unknown
      try {
        let response: Response
        try {
          response = await fetch(new URL(path, this.address.url), {
            headers: {
              authorization: `Bearer ${this.token}`,
              accept: 'text/event-stream',
              ...(lastSeq > 0 ? { 'last-event-id': String(lastSeq) } : {})
            },
            signal
          })
        } catch (err) {
          if (options.signal?.aborted === true) throw err
          throw new StreamBroken(err)
        }
        if (!response.ok) throw await this.failure(response, path)
        if (response.body === null) throw new StreamBroken(new Error('the daemon sent no body'))
        const parser = new SseParser()
        const decoder = new TextDecoder()
        try {
          for await (const chunk of bytesOf(response.body)) {
            idle.touch()
            for (const message of parser.push(decoder.decode(chunk, { stream: true }))) {
              const event = parseEvent(message, jobId)
              if (event.seq <= lastSeq) continue
              lastSeq = event.seq
              failures = 0
              yield event
            }
          }
        } catch (err) {
          if (options.signal?.aborted === true || err instanceof CliError) throw err
          throw new StreamBroken(idle.signal.aborted ? idle.signal.reason : err)
        }
        return
      } catch (err) {
        if (!(err instanceof StreamBroken)) throw err
        failure = err.cause
      } finally {
        idle.abort()
      }
      failures++
      if (failures > maxReconnects) {
        throw new CliError(
          `lost the event stream of job ${jobId} (${describe(failure)}); gave up after ${maxReconnects} reconnects`
        )
      }
      await sleep(reconnectDelayMs * 2 ** (failures - 1), undefined, { signal: options.signal })
    }
  }

  /**
   * Saves a download to `file` atomically: written to a temporary file beside it, synced, then renamed, so
   * `file` is either the whole body or untouched. Returns the size and lower-case hex SHA-256.
   */
  async download(
    path: string,
    file: string,
    idleTimeoutMs = apiClientDefaults.idleTimeoutMs
  ): Promise<{ size: number; sha256: string }> {
    const target = resolve(file)
    const temporary = join(
      dirname(target),
      `.${basename(target)}.${process.pid}-${randomBytes(4).toString('hex')}.part`
    )
    const idle = new IdleAbort(idleTimeoutMs, `no data from the daemon for ${idleTimeoutMs} ms`)
    try {
      let response: Response
      try {
        response = await fetch(new URL(path, this.address.url), {
          headers: { authorization: `Bearer ${this.token}` },
          signal: idle.signal
        })
      } catch (err) {
        throw this.unreachable(err)
      }
      if (!response.ok) throw await this.failure(response, path)
      const expected = Number(response.headers.get('content-length') ?? Number.NaN)
      const hash = createHash('sha256')
      let size = 0
      const output = await open(temporary, 'wx', 0o644).catch((err: unknown) => {
        throw new CliError(`cannot write ${target}: ${describe(err)}`)
      })
      try {
        if (response.body !== null) {
          for await (const chunk of bytesOf(response.body)) {
            idle.touch()
            hash.update(chunk)
            size += chunk.length
            await output.write(chunk)
          }
        }
        await output.sync()
      } catch (err) {
        throw err instanceof CliError ? err : new CliError(`downloading ${path} failed: ${describe(err)}`)
      } finally {
        await output.close()
      }
      if (Number.isFinite(expected) && expected !== size) {
        throw new CliError(`downloading ${path} failed: got ${size} of ${expected} bytes`)
      }
      await rename(temporary, target)
      return { size, sha256: hash.digest('hex') }
    } catch (err) {
      await rm(temporary, { force: true })
      throw err
    } finally {
      idle.abort()
    }
  }

  private async call<T>(method: string, path: string, body: unknown, timeoutMs: number): Promise<T> {
    let response: Response
    try {
      response = await fetch(new URL(path, this.address.url), {
        method,
        headers: {
          authorization: `Bearer ${this.token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' })
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: deadline(`${method} ${path} on the daemon's API`, timeoutMs)
      })
    } catch (err) {
      throw this.unreachable(err)
    }
    if (!response.ok) throw await this.failure(response, path)
    return (await response.json()) as T
  }

  private unreachable(err: unknown): CliError {
    return new CliError(
      `the daemon at ${this.address.url} (pid ${this.address.pid}) does not answer: ${describe(err)}`
    )
  }

  /**
   * The daemon's `{ error, code }` as an ApiError: a bad request (400) is a usage error (exit 2), the rest exit 1
   * unless the caller knows better (an unknown job id given on the command line is a usage error too)
   */
  private async failure(response: Response, path: string): Promise<ApiError> {
    const text = await response.text().catch(() => '')
    let body: { error?: unknown; code?: unknown } | null
    try {
      body = JSON.parse(text) as { error?: unknown; code?: unknown } | null
    } catch {
      body = null
    }
    const code = typeof body?.code === 'string' ? body.code : undefined
    const exitCode = response.status === 400 ? 2 : 1
    if (typeof body?.error === 'string' && body.error !== '') {
      return new ApiError(body.error, response.status, code, exitCode)
    }
    return new ApiError(
      `the daemon answered ${response.status} for ${path}: ${text.trim().slice(0, 200)}`,
      response.status,
      code,
      exitCode
    )
  }
}

/** The client of the daemon that --config and --data-dir name (the data dir holds its address and token) */
export async function connectDaemon(args: { config?: string; 'data-dir'?: string }): Promise<ApiClient> {
  const config = await baseConfig(args)
  return ApiClient.fromDataDir(config.dataDir)
}

/** The daemon refused a call: its HTTP status and, where it gave one, the `code` to match on */
export class ApiError extends CliError {
  readonly status: number
  readonly code?: string

  constructor(message: string, status: number, code: string | undefined, exitCode: number) {
    super(message, exitCode)
    this.name = 'ApiError'
    this.status = status
    this.code = code
  }
}

/** A connection that broke and may be retried; `cause` says why */
class StreamBroken extends Error {
  constructor(cause: unknown) {
    super('the event stream broke', { cause })
    this.name = 'StreamBroken'
  }
}

/** An AbortSignal that fires after `ms` without a touch() */
class IdleAbort {
  private readonly controller = new AbortController()
  private timer: NodeJS.Timeout
  private readonly ms: number
  private readonly reason: string

  constructor(ms: number, reason: string) {
    this.ms = ms
    this.reason = reason
    this.timer = this.arm()
  }

  get signal(): AbortSignal {
    return this.controller.signal
  }

  touch(): void {
    clearTimeout(this.timer)
    this.timer = this.arm()
  }

  abort(): void {
    clearTimeout(this.timer)
    if (!this.controller.signal.aborted) this.controller.abort(new Error('done'))
  }

  private arm(): NodeJS.Timeout {
    return setTimeout(() => this.controller.abort(new Error(this.reason)), this.ms)
  }
}

/** A fetch body as the Uint8Array chunks it yields (the web stream types leave them untyped) */
function bytesOf(body: ReadableStream<Uint8Array>): AsyncIterable<Uint8Array> {
  return body
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const cause = err.cause instanceof Error ? `: ${err.cause.message}` : ''
    return `${err.message}${cause}`
  }
  return String(err)
}

function parseEvent(message: SseMessage, jobId: string): JobEvent {
  let event: Record<string, unknown> | null
  try {
    event = JSON.parse(message.data) as Record<string, unknown> | null
  } catch {
    event = null
  }
  if (
    event === null ||
    typeof event !== 'object' ||
    typeof event.seq !== 'number' ||
    (typeof event.kind !== 'string' && typeof event.type !== 'string')
  ) {
    throw new CliError(`the daemon sent a malformed event for job ${jobId}: ${message.data.slice(0, 120)}`)
  }
  return readJobEvent(event, jobId, event.seq)
}
