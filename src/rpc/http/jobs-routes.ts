import { type FileHandle, open } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { pipeline } from 'node:stream/promises'
import type { JobsBackend } from '../../jobs-model/backend.js'
import { followJobEvents } from '../../jobs-model/follow.js'
import { JOB_ID_PATTERN } from '../../jobs-model/job-id.js'
import { isJobState, isTerminal, JOB_STATES, type JobState } from '../../jobs-model/states.js'
import type { JobEvent, JobRecord } from '../../jobs-model/types.js'
import type { Logger } from '../../log/index.js'

export const jobsRoutesDefaults = {
  /** A job request is a few hundred bytes; 64 KiB leaves room and bounds what a client makes us buffer */
  maxBodyBytes: 64 * 1024,
  /** An SSE comment this often keeps proxies and idle-socket timers from closing a quiet stream */
  keepAliveMs: 15_000,
  /** A stream client this far behind is cut off; it reconnects with Last-Event-ID and loses nothing */
  maxBufferedEventBytes: 1024 * 1024
}

/** The `code` of a 404 for a job id this daemon has no job of (its proof missing is another 404) */
export const NO_SUCH_JOB = 'NO_SUCH_JOB'

export interface RouteContext {
  request: IncomingMessage
  response: ServerResponse
  url: URL
  log: Logger
}

/** One path of the API: the methods it answers (others get 405) and its handler, called once authorised */
export interface HttpRoute {
  methods: readonly string[]
  handle(context: RouteContext): Promise<void>
}

export function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body, null, 2)}\n`
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8' })
  response.end(text)
}

/** Errors are one line of JSON `{ error }`, plus a matchable `code` or `field` where there is one */
function sendError(response: ServerResponse, status: number, error: string, extra: object = {}): void {
  sendJson(response, status, { error: error.replace(/\s*\n\s*/g, ' '), ...extra })
}

export interface JobsRoutesInit {
  /** The job service; undefined while the daemon runs none (every job route then answers 503) */
  jobs: () => JobsBackend | undefined
  maxBodyBytes?: number
  keepAliveMs?: number
  maxBufferedEventBytes?: number
}

interface JobsRouteOptions {
  jobs: () => JobsBackend | undefined
  maxBodyBytes: number
  keepAliveMs: number
  maxBufferedEventBytes: number
}

const JOB_PATH = /^\/v1\/jobs\/([^/]+)(?:\/(proof|events|cancel))?$/

/**
 * The routes under /v1/jobs:
 * `GET|POST /v1/jobs`, `GET /v1/jobs/:id`, `GET /v1/jobs/:id/proof`, `GET /v1/jobs/:id/events` (server-sent
 * events) and `POST /v1/jobs/:id/cancel`. Returns undefined for any other path.
 */
export function jobsRoute(path: string, init: JobsRoutesInit): HttpRoute | undefined {
  const options: JobsRouteOptions = {
    jobs: init.jobs,
    maxBodyBytes: init.maxBodyBytes ?? jobsRoutesDefaults.maxBodyBytes,
    keepAliveMs: init.keepAliveMs ?? jobsRoutesDefaults.keepAliveMs,
    maxBufferedEventBytes: init.maxBufferedEventBytes ?? jobsRoutesDefaults.maxBufferedEventBytes
  }
  if (path === '/v1/jobs') {
    return {
      methods: ['GET', 'HEAD', 'POST'],
      handle: withJobs(options, (jobs, context) =>
        context.request.method === 'POST' ? submitJob(jobs, context, options) : listJobs(jobs, context)
      )
    }
  }
  const match = JOB_PATH.exec(path)
  if (match === null) return undefined
  const id = match[1] ?? ''
  switch (match[2]) {
    case undefined:
      return {
        methods: ['GET', 'HEAD'],
        handle: withJob(options, id, async (jobs, job, { response }) => sendJson(response, 200, job))
      }
    case 'proof':
      return { methods: ['GET', 'HEAD'], handle: withJob(options, id, sendProof) }
    case 'events':
      return {
        methods: ['GET'],
        handle: withJob(options, id, (jobs, job, context) => streamEvents(jobs, job, context, options))
      }
    case 'cancel':
      return {
        methods: ['POST'],
        handle: withJob(options, id, async (jobs, job, { response }) => {
          const record = await jobs.cancel(job.id)
          if (record === undefined) sendError(response, 404, `no job ${job.id}`, { code: NO_SUCH_JOB })
          else sendJson(response, 200, record)
        })
      }
    default:
      return undefined
  }
}

type JobsHandler = (jobs: JobsBackend, context: RouteContext) => Promise<void>
type JobHandler = (jobs: JobsBackend, job: JobRecord, context: RouteContext) => Promise<void>

/** Answers 503 without a job service, and maps the service's typed errors to statuses */
function withJobs(options: JobsRouteOptions, handler: JobsHandler): (context: RouteContext) => Promise<void> {
  return async (context) => {
    const jobs = options.jobs()
    if (jobs === undefined) {
      sendError(context.response, 503, 'this daemon runs no job service')
      return
    }
    try {
      await handler(jobs, context)
    } catch (err) {
      if (context.response.headersSent) throw err
      const error = err as Error & { field?: unknown; code?: unknown; status?: unknown }
      if (error.name === 'JobRequestError') {
        sendError(context.response, 400, error.message, { field: error.field })
      } else if (error.name === 'JobRefusedError') {
        const status = typeof error.status === 'number' && error.status >= 400 ? error.status : 409
        sendError(context.response, status, error.message, { code: error.code })
      } else {
        throw err
      }
    }
  }
}

function withJob(
  options: JobsRouteOptions,
  id: string,
  handler: JobHandler
): (context: RouteContext) => Promise<void> {
  return withJobs(options, async (jobs, context) => {
    const job = JOB_ID_PATTERN.test(id) ? jobs.get(id) : undefined
    if (job === undefined) {
      sendError(context.response, 404, `no job ${id.length > 64 ? `${id.slice(0, 64)}...` : id}`, {
        code: NO_SUCH_JOB
      })
      return
    }
    await handler(jobs, job, context)
  })
}

async function listJobs(jobs: JobsBackend, { response, url }: RouteContext): Promise<void> {
  const asked = url.searchParams
    .getAll('state')
    .flatMap((value) => value.split(','))
    .map((value) => value.trim())
    .filter((value) => value !== '')
  const states: JobState[] = []
  for (const state of asked) {
    if (!isJobState(state)) {
      const shown = state.length > 32 ? `${state.slice(0, 32)}...` : state
      sendError(response, 400, `unknown state '${shown}' (known: ${JOB_STATES.join(', ')})`)
      return
    }
    if (!states.includes(state)) states.push(state)
  }
  sendJson(response, 200, jobs.list(states.length === 0 ? {} : { states }))
}

async function submitJob(jobs: JobsBackend, context: RouteContext, options: JobsRouteOptions): Promise<void> {
  const { request, response } = context
  const type = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase()
  if (type !== 'application/json') {
    sendError(response, 415, 'a job request must be sent as content-type application/json')
    return
  }
  const tooLarge = `a job request is at most ${options.maxBodyBytes} bytes`
  const declared = Number(request.headers['content-length'] ?? 0)
  if (declared > options.maxBodyBytes) {
    response.setHeader('connection', 'close')
    sendError(response, 413, tooLarge)
    return
  }
  const raw = await readBody(request, options.maxBodyBytes)
  if (raw === 'aborted') return
  if (raw === 'too-large') {
    response.setHeader('connection', 'close')
    sendError(response, 413, tooLarge)
    return
  }
  let body: unknown
  try {
    body = JSON.parse(raw.toString('utf8'))
  } catch (err) {
    sendError(response, 400, `the body is not valid JSON: ${(err as Error).message}`)
    return
  }
  const record = await jobs.submit(body)
  response.setHeader('location', `/v1/jobs/${record.id}`)
  sendJson(response, 201, record)
}

/** The whole body, or 'too-large' as soon as it passes max bytes (the rest is left unread), or 'aborted' */
function readBody(request: IncomingMessage, max: number): Promise<Buffer | 'too-large' | 'aborted'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const cleanup = (): void => {
      request.off('data', onData)
      request.off('end', onEnd)
      request.off('error', onError)
      request.off('close', onClose)
    }
    const onData = (chunk: Buffer): void => {
      size += chunk.length
      if (size > max) {
        cleanup()
        request.pause()
        resolve('too-large')
        return
      }
      chunks.push(chunk)
    }
    const onEnd = (): void => {
      cleanup()
      resolve(Buffer.concat(chunks))
    }
    const onError = (err: Error): void => {
      cleanup()
      reject(err)
    }
    const onClose = (): void => {
      cleanup()
      resolve('aborted')
    }
    request.on('data', onData)
    request.on('end', onEnd)
    request.on('error', onError)
    request.on('close', onClose)
  })
}

async function sendProof(jobs: JobsBackend, job: JobRecord, context: RouteContext): Promise<void> {
  const { request, response, log } = context
  const path = jobs.proofPath(job.id)
  if (path === undefined) {
    const why = isTerminal(job.state)
      ? job.state === 'succeeded'
        ? 'was not saved (saveProof false)'
        : `did not succeed (${job.state})`
      : `is still ${job.state}`
    sendError(response, 404, `job ${job.id} has no proof: it ${why}`)
    return
  }
  let file: FileHandle
  try {
    file = await open(path, 'r')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    sendError(response, 404, `job ${job.id} has no proof: its file is no longer on disk`)
    return
  }
  let size: number
  try {
    const stats = await file.stat()
    if (!stats.isFile()) throw new Error(`the proof of job ${job.id} is not a regular file: ${path}`)
    size = stats.size
  } catch (err) {
    await file.close()
    throw err
  }
  response.writeHead(200, {
    'content-type': 'application/octet-stream',
    'content-length': size,
    'content-disposition': `attachment; filename="${job.id}.proof"`
  })
  if (request.method === 'HEAD' || size === 0) {
    await file.close()
    response.end()
    return
  }
  // autoClose: the stream closes the handle when it ends or is destroyed; reading stops at the size announced
  const stream = file.createReadStream({ start: 0, end: size - 1 })
  try {
    await pipeline(stream, response)
  } catch (err) {
    log.debug({ err, job: job.id }, 'proof download ended early')
    response.destroy()
  }
}

function parseSeq(text: string | undefined): number | undefined {
  if (text === undefined) return undefined
  const value = text.trim()
  if (!/^\d{1,15}$/.test(value)) return Number.NaN
  return Number(value)
}

function frame(event: JobEvent): string {
  return `id: ${event.seq}\nevent: ${event.kind}\ndata: ${JSON.stringify(event)}\n\n`
}

/**
 * Server-sent events: the events after Last-Event-ID (or ?after=N), then the live ones (followJobEvents), until
 * the job is over, the client goes, or the client falls too far behind (it reconnects with Last-Event-ID)
 */
async function streamEvents(
  jobs: JobsBackend,
  job: JobRecord,
  context: RouteContext,
  options: JobsRouteOptions
): Promise<void> {
  const { request, response, url, log } = context
  const header = request.headers['last-event-id']
  const fromHeader = parseSeq(Array.isArray(header) ? header[0] : header)
  const fromQuery = parseSeq(url.searchParams.get('after') ?? undefined)
  const after = fromHeader ?? fromQuery ?? 0
  if (Number.isNaN(after)) {
    sendError(
      response,
      400,
      'Last-Event-ID and ?after= take an event sequence number (an integer, 0 or more)'
    )
    return
  }
  response.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no'
  })
  response.flushHeaders()

  const stop = new AbortController()
  const write = (text: string): void => {
    if (stop.signal.aborted) return
    response.write(text)
    if (response.writableLength > options.maxBufferedEventBytes) {
      log.debug({ job: job.id }, 'event stream client too far behind; cutting it off')
      stop.abort()
      response.destroy()
    }
  }
  response.on('close', () => stop.abort())
  const timer = setInterval(() => write(': keep-alive\n\n'), options.keepAliveMs)
  try {
    for await (const event of followJobEvents(jobs, job.id, after, stop.signal)) write(frame(event))
  } finally {
    clearInterval(timer)
  }
  if (!stop.signal.aborted) response.end()
}
