import assert from 'node:assert/strict'
import { request as httpRequest } from 'node:http'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, beforeEach, describe, it } from 'node:test'
import { JobRefusedError, parseJobRequest } from '../../src/job/request.js'
import type { JobsBackend } from '../../src/jobs-model/backend.js'
import type { JobState } from '../../src/jobs-model/states.js'
import type { JobEvent, JobRecord, NewJobEvent } from '../../src/jobs-model/types.js'
import { createLogger } from '../../src/log/index.js'
import { type ApiBackend, HttpApi } from '../../src/rpc/http/server.js'

const TOKEN = 'a'.repeat(64)

/** An in-memory job service: the HTTP layer is what is under test */
class FakeJobs implements JobsBackend {
  readonly records = new Map<string, JobRecord>()
  readonly log = new Map<string, JobEvent[]>()
  readonly proofs = new Map<string, string>()
  readonly listeners = new Map<string, Set<(event: JobEvent) => void>>()
  refuse?: JobRefusedError
  private n = 0

  async submit(body: unknown): Promise<JobRecord> {
    const request = parseJobRequest(body, { timeoutMs: 60_000, programs: ['rescue-sponge'] })
    if (this.refuse !== undefined) throw this.refuse
    const id = `job${++this.n}`
    const record: JobRecord = {
      id,
      request,
      state: 'queued',
      submitter: '12D3KooWSubmitter',
      createdAt: 1_000,
      updatedAt: 1_000,
      peers: [],
      segments: [],
      phases: {},
      bytesOut: 0
    }
    this.records.set(id, record)
    this.log.set(id, [])
    this.emit(id, { kind: 'state', state: 'queued' })
    return record
  }

  list(filter: { states?: JobState[] }): JobRecord[] {
    return [...this.records.values()].filter((r) => filter.states?.includes(r.state) ?? true)
  }

  get(id: string): JobRecord | undefined {
    return this.records.get(id)
  }

  proofPath(id: string): string | undefined {
    return this.proofs.get(id)
  }

  async cancel(id: string): Promise<JobRecord | undefined> {
    const record = this.records.get(id)
    if (record === undefined) return undefined
    this.emit(id, { kind: 'state', state: 'cancelled' })
    return record
  }

  events(id: string, afterSeq: number): JobEvent[] {
    return (this.log.get(id) ?? []).filter((event) => event.seq > afterSeq)
  }

  subscribe(id: string, listener: (event: JobEvent) => void): () => void {
    const set = this.listeners.get(id) ?? new Set()
    set.add(listener)
    this.listeners.set(id, set)
    return () => set.delete(listener)
  }

  subscribers(id: string): number {
    return this.listeners.get(id)?.size ?? 0
  }

  /** Appends an event (a state event also moves the record) and tells the subscribers */
  emit(id: string, fields: NewJobEvent): JobEvent {
    const log = this.log.get(id) ?? []
    const event: JobEvent = { jobId: id, seq: log.length + 1, at: 1_000 + log.length, ...fields }
    log.push(event)
    this.log.set(id, log)
    const record = this.records.get(id)
    if (record !== undefined && event.kind === 'state') record.state = event.state
    for (const listener of this.listeners.get(id) ?? []) listener(event)
    return event
  }
}

class FakeApiBackend implements ApiBackend {
  jobs?: JobsBackend
  constructor(jobs?: JobsBackend) {
    this.jobs = jobs
  }
  health(): unknown {
    return { ok: true }
  }
  status(): unknown {
    return { peerId: 'me' }
  }
  peers(): unknown {
    return []
  }
  async metrics(): Promise<{ contentType: string; body: string }> {
    return { contentType: 'text/plain', body: 'up 1\n' }
  }
}

interface Answer {
  status: number
  headers: Headers
  body: unknown
}

/** Reads a server-sent event stream until `until` holds for the text so far (or the stream ends) */
async function readStream(
  response: Response,
  until: (text: string) => boolean = () => false
): Promise<{ text: string; ended: boolean }> {
  assert.ok(response.body !== null)
  const reader = response.body.getReader()
  const decoder = new TextDecoder()
  let text = ''
  for (;;) {
    if (until(text)) {
      await reader.cancel()
      return { text, ended: false }
    }
    const { done, value } = (await reader.read()) as { done: boolean; value?: Uint8Array }
    if (done) return { text, ended: true }
    text += decoder.decode(value, { stream: true })
  }
}

/** The `data:` payloads of an SSE text, parsed */
function eventsIn(text: string): JobEvent[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('data: '))
    .map((line) => JSON.parse(line.slice(6)) as JobEvent)
}

async function waitFor(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (check()) return
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  assert.fail(`timed out waiting for ${what}`)
}

describe('the local HTTP API: job routes', () => {
  const backend = new FakeApiBackend()
  let jobs: FakeJobs
  let api: HttpApi
  let bare: HttpApi
  let dir: string

  const call = async (
    path: string,
    init: RequestInit & { token?: string | null; base?: HttpApi } = {}
  ): Promise<Answer> => {
    const headers = new Headers(init.headers)
    const token = init.token === undefined ? TOKEN : init.token
    if (token !== null) headers.set('authorization', `Bearer ${token}`)
    const response = await fetch(`${(init.base ?? api).url}${path}`, { ...init, headers })
    const text = await response.text()
    let body: unknown = text
    if ((response.headers.get('content-type') ?? '').startsWith('application/json')) body = JSON.parse(text)
    return { status: response.status, headers: response.headers, body }
  }
  const submit = (body: unknown): Promise<Answer> =>
    call('/v1/jobs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body)
    })
  const errorOf = (answer: Answer): string => {
    const error = (answer.body as { error?: unknown }).error
    assert.equal(typeof error, 'string', JSON.stringify(answer.body))
    assert.ok(!(error as string).includes('\n'))
    return error as string
  }
  const request = { inputMode: 'data', input: '/data/in.bin', computeCapacity: 4 }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'proofmesh-http-jobs-'))
    const logger = createLogger({ level: 'silent' })
    api = new HttpApi(backend, {
      host: '127.0.0.1',
      port: 0,
      token: TOKEN,
      logger,
      jobs: { keepAliveMs: 50 }
    })
    bare = new HttpApi(new FakeApiBackend(), { host: '127.0.0.1', port: 0, token: TOKEN, logger })
    await api.start()
    await bare.start()
  })

  beforeEach(() => {
    jobs = new FakeJobs()
    backend.jobs = jobs
  })

  after(async () => {
    await api.stop()
    await bare.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('refuses every job route without the bearer token', async () => {
    for (const [method, path] of [
      ['GET', '/v1/jobs'],
      ['POST', '/v1/jobs'],
      ['GET', '/v1/jobs/job1'],
      ['GET', '/v1/jobs/job1/proof'],
      ['GET', '/v1/jobs/job1/events'],
      ['POST', '/v1/jobs/job1/cancel']
    ] as const) {
      const answer = await call(path, { method, token: null })
      assert.equal(answer.status, 401, `${method} ${path}`)
      assert.equal(answer.headers.get('www-authenticate'), 'Bearer realm="proofmesh"')
      assert.equal((await call(path, { method, token: 'b'.repeat(64) })).status, 401)
    }
  })

  it('submits a job: 201 with the record and its location', async () => {
    const answer = await submit({ ...request, priority: 3 })
    assert.equal(answer.status, 201)
    const record = answer.body as JobRecord
    assert.equal(record.id, 'job1')
    assert.equal(record.request.priority, 3)
    assert.equal(record.request.dataId, 'in.bin')
    assert.equal(answer.headers.get('location'), '/v1/jobs/job1')
  })

  it('answers 400 naming the field for a bad request, and the refusal status with its code', async () => {
    const bad = await submit({ ...request, computeCapacity: 0 })
    assert.equal(bad.status, 400)
    assert.match(errorOf(bad), /computeCapacity/)
    assert.equal((bad.body as { field?: string }).field, 'computeCapacity')
    const unknown = await submit({ ...request, program: 'keccak' })
    assert.equal(unknown.status, 400)
    assert.equal(errorOf(unknown), "unknown program 'keccak' (known: rescue-sponge)")

    jobs.refuse = new JobRefusedError('QUEUE_FULL', 'the queue is full', 409)
    const full = await submit(request)
    assert.equal(full.status, 409)
    assert.deepEqual(full.body, { error: 'the queue is full', code: 'QUEUE_FULL' })
    jobs.refuse = new JobRefusedError('NO_PROVER', 'no prover runs here', 503)
    assert.equal((await submit(request)).status, 503)
  })

  it('answers 400 with the parser message for a body that is not JSON, 415 for another content type', async () => {
    const broken = await call('/v1/jobs', {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: '{"inputMode": '
    })
    assert.equal(broken.status, 400)
    assert.match(errorOf(broken), /^the body is not valid JSON: .*JSON/)
    const text = await call('/v1/jobs', {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify(request)
    })
    assert.equal(text.status, 415)
  })

  it('answers 413 for a body over 64 KiB, declared or streamed', async () => {
    const big = JSON.stringify({ ...request, dataId: 'x'.repeat(70 * 1024) })
    const declared = await call('/v1/jobs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: big
    })
    assert.equal(declared.status, 413)
    assert.match(errorOf(declared), /at most 65536 bytes/)
    // Chunked: no content-length, the limit is found while reading
    const status = await new Promise<number>((resolve, reject) => {
      const url = new URL('/v1/jobs', api.url)
      const req = httpRequest(
        url,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` }
        },
        (res) => {
          res.resume()
          resolve(res.statusCode ?? 0)
        }
      )
      req.on('error', reject)
      for (let i = 0; i < 8; i++) req.write('x'.repeat(10 * 1024))
      req.end()
    })
    assert.equal(status, 413)
    assert.equal(jobs.records.size, 0)
  })

  it('lists jobs, filtered by state', async () => {
    await submit(request)
    await submit(request)
    jobs.emit('job2', { kind: 'state', state: 'proving' })
    const all = await call('/v1/jobs')
    assert.equal(all.status, 200)
    assert.deepEqual(
      (all.body as JobRecord[]).map((r) => r.id),
      ['job1', 'job2']
    )
    const proving = await call('/v1/jobs?state=proving,failed')
    assert.deepEqual(
      (proving.body as JobRecord[]).map((r) => r.id),
      ['job2']
    )
    const repeated = await call('/v1/jobs?state=queued&state=proving')
    assert.equal((repeated.body as JobRecord[]).length, 2)
    const bad = await call('/v1/jobs?state=running')
    assert.equal(bad.status, 400)
    assert.match(errorOf(bad), /unknown state 'running' \(known: queued, .*cancelled\)/)
  })

  it('shows a job, and 404 for an unknown or malformed id', async () => {
    await submit(request)
    const found = await call('/v1/jobs/job1')
    assert.equal(found.status, 200)
    assert.equal((found.body as JobRecord).id, 'job1')
    const missing = await call('/v1/jobs/job9')
    assert.equal(missing.status, 404)
    assert.equal(errorOf(missing), 'no job job9')
    assert.equal((missing.body as { code?: string }).code, 'NO_SUCH_JOB')
    assert.equal((await call('/v1/jobs/job%2e1')).status, 404)
    assert.equal((await call(`/v1/jobs/${'x'.repeat(65)}`)).status, 404)
    assert.equal((await call('/v1/jobs/job1/nothing')).status, 404)
    assert.equal((await call('/v1/jobs/job9/proof')).status, 404)
    assert.equal((await call('/v1/jobs/job9/events')).status, 404)
  })

  it('answers 405 with Allow for a wrong method', async () => {
    for (const [method, path, allow] of [
      ['DELETE', '/v1/jobs', 'GET, HEAD, POST'],
      ['POST', '/v1/jobs/job1', 'GET, HEAD'],
      ['PUT', '/v1/jobs/job1/proof', 'GET, HEAD'],
      ['POST', '/v1/jobs/job1/events', 'GET'],
      ['GET', '/v1/jobs/job1/cancel', 'POST'],
      ['POST', '/v1/status', 'GET, HEAD']
    ] as const) {
      const answer = await call(path, { method })
      assert.equal(answer.status, 405, `${method} ${path}`)
      assert.equal(answer.headers.get('allow'), allow)
      errorOf(answer)
    }
  })

  it('serves the proof as a stream of bytes, 404 while there is none', async () => {
    await submit(request)
    const none = await call('/v1/jobs/job1/proof')
    assert.equal(none.status, 404)
    assert.match(errorOf(none), /job job1 has no proof: it is still queued/)
    const bytes = Buffer.alloc(200_000)
    for (let i = 0; i < bytes.length; i++) bytes[i] = i % 251
    const path = join(dir, 'job1.proof')
    await writeFile(path, bytes)
    jobs.proofs.set('job1', path)
    const response = await fetch(`${api.url}/v1/jobs/job1/proof`, {
      headers: { authorization: `Bearer ${TOKEN}` }
    })
    assert.equal(response.status, 200)
    assert.equal(response.headers.get('content-type'), 'application/octet-stream')
    assert.equal(response.headers.get('content-length'), String(bytes.length))
    assert.ok(Buffer.from(await response.arrayBuffer()).equals(bytes))
    const head = await fetch(`${api.url}/v1/jobs/job1/proof`, {
      method: 'HEAD',
      headers: { authorization: `Bearer ${TOKEN}` }
    })
    assert.equal(head.headers.get('content-length'), String(bytes.length))
    jobs.proofs.set('job1', join(dir, 'gone.proof'))
    assert.match(errorOf(await call('/v1/jobs/job1/proof')), /no longer on disk/)
  })

  it('cancels a job, 404 for an unknown one', async () => {
    await submit(request)
    const answer = await call('/v1/jobs/job1/cancel', { method: 'POST' })
    assert.equal(answer.status, 200)
    assert.equal((answer.body as JobRecord).state, 'cancelled')
    assert.equal((await call('/v1/jobs/job7/cancel', { method: 'POST' })).status, 404)
  })

  it('streams events: replays after Last-Event-ID, then live ones, and ends after the terminal state', async () => {
    await submit(request)
    jobs.emit('job1', { kind: 'state', state: 'reserving' })
    jobs.emit('job1', { kind: 'state', state: 'planning' })
    const response = await fetch(`${api.url}/v1/jobs/job1/events`, {
      headers: { authorization: `Bearer ${TOKEN}`, 'last-event-id': '1' }
    })
    assert.equal(response.status, 200)
    assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/)
    const reading = readStream(response)
    await waitFor(() => jobs.subscribers('job1') === 1, 'the stream to subscribe')
    jobs.emit('job1', { kind: 'progress', phase: 'prove', done: 1, total: 4 })
    jobs.emit('job1', { kind: 'state', state: 'succeeded' })
    jobs.emit('job1', { kind: 'log', message: 'after the end' })
    const { text, ended } = await reading
    assert.ok(ended, 'the server ends the stream')
    assert.deepEqual(
      eventsIn(text).map((event) => event.seq),
      [2, 3, 4, 5]
    )
    assert.match(text, /^id: 2\nevent: state\ndata: \{.*"state":"reserving".*\}\n\n/)
    assert.match(text, /id: 4\nevent: progress\ndata: /)
    await waitFor(() => jobs.subscribers('job1') === 0, 'the stream to unsubscribe')
  })

  it('takes ?after=N, and ends at once for a job already over', async () => {
    await submit(request)
    jobs.emit('job1', { kind: 'state', state: 'failed' })
    const response = await fetch(`${api.url}/v1/jobs/job1/events?after=1`, {
      headers: { authorization: `Bearer ${TOKEN}` }
    })
    const { text, ended } = await readStream(response)
    assert.ok(ended)
    assert.deepEqual(
      eventsIn(text).map((event) => [event.seq, event.kind === 'state' ? event.state : event.kind]),
      [[2, 'failed']]
    )
    const nothing = await readStream(
      await fetch(`${api.url}/v1/jobs/job1/events`, {
        headers: { authorization: `Bearer ${TOKEN}`, 'last-event-id': '2' }
      })
    )
    assert.equal(nothing.text, '')
    assert.ok(nothing.ended)
    assert.equal((await call('/v1/jobs/job1/events?after=-1')).status, 400)
    assert.equal(jobs.subscribers('job1'), 0)
  })

  it('sends keep-alive comments and unsubscribes when the client goes away', async () => {
    await submit(request)
    const response = await fetch(`${api.url}/v1/jobs/job1/events`, {
      headers: { authorization: `Bearer ${TOKEN}` }
    })
    const { text, ended } = await readStream(response, (so) => so.includes(': keep-alive\n\n'))
    assert.ok(!ended)
    assert.deepEqual(
      eventsIn(text).map((event) => event.seq),
      [1]
    )
    await waitFor(() => jobs.subscribers('job1') === 0, 'the closed stream to unsubscribe')
  })

  it('rotates the token: the old one is refused at once, and a stream opened with it ends', async () => {
    const fresh = 'c'.repeat(64)
    let rotations = 0
    const rotating = new HttpApi(backend, {
      host: '127.0.0.1',
      port: 0,
      token: TOKEN,
      logger: createLogger({ level: 'silent' }),
      rotateToken: async () => {
        rotations++
        return fresh
      }
    })
    await rotating.start()
    try {
      await submit(request)
      const stream = await fetch(`${rotating.url}/v1/jobs/job1/events`, {
        headers: { authorization: `Bearer ${TOKEN}` }
      })
      assert.equal(stream.status, 200)
      const reading = readStream(stream).then(
        (result) => result,
        () => ({ text: '', ended: true })
      )
      await waitFor(() => jobs.subscribers('job1') === 1, 'the stream to subscribe')
      const answer = await call('/v1/token/rotate', { method: 'POST', base: rotating })
      assert.equal(answer.status, 200)
      assert.deepEqual(answer.body, { rotated: true }, 'the new token is not in the answer')
      assert.equal(rotations, 1)
      assert.ok((await reading).ended, 'the stream of the old token ends')
      assert.equal((await call('/v1/status', { base: rotating })).status, 401)
      assert.equal((await call('/v1/status', { base: rotating, token: fresh })).status, 200)
      assert.equal((await call('/v1/token/rotate', { method: 'POST', base: rotating })).status, 401)
      assert.equal(
        (await call('/v1/token/rotate', { method: 'GET', base: rotating, token: fresh })).status,
        405
      )
      // an API that was given no way to store a new token has no such route
      assert.equal((await call('/v1/token/rotate', { method: 'POST', base: bare })).status, 404)
    } finally {
      await rotating.stop()
    }
  })

  it('answers 503 on job routes while the daemon runs no job service, and keeps the other routes', async () => {
    const answer = await call('/v1/jobs', { base: bare })
    assert.equal(answer.status, 503)
    errorOf(answer)
    assert.equal((await call('/v1/health', { base: bare, token: null })).status, 200)
    assert.equal((await call('/v1/status', { base: bare, token: null })).status, 401)
    assert.equal((await call('/v1/peers', { base: bare })).status, 200)
    assert.equal((await call('/v1/nothing', { base: bare })).status, 404)
  })
})
