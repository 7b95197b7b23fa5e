import assert from 'node:assert/strict'
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, describe, it } from 'node:test'
import { sendWebhook, type WebhookPayload, webhookUrlFor } from '../../src/job/webhook.js'
import { within } from '../fixtures/prover/helpers.js'

interface Received {
  method: string
  url: string
  headers: IncomingHttpHeaders
  body: string
}

/** A receiver on 127.0.0.1 answering each POST with the next status of `statuses` (the last one repeats) */
async function receiver(
  statuses: number[] | 'hang'
): Promise<{ base: string; received: Received[]; close: () => void }> {
  const received: Received[] = []
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      received.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString()
      })
      if (statuses === 'hang') return
      const status = statuses[Math.min(received.length, statuses.length) - 1]!
      res.writeHead(status, { 'content-type': 'text/plain' })
      res.end('ok')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    base: `http://127.0.0.1:${port}`,
    received,
    close: () => {
      server.closeAllConnections()
      server.close()
    }
  }
}

/** A port nothing listens on */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

const payload: WebhookPayload = {
  job_id: 'job-1',
  data_id: 'input.bin',
  success: true,
  duration_ms: 1234,
  digest: 'ab'.repeat(32),
  proof: { sha256: 'cd'.repeat(32), size: 81234, path: '/data/proofs/job-1.proof' },
  timestamp: '2025-01-02T03:04:05.000Z',
  error: null
}

const fast = { baseDelayMs: 1, maxDelayMs: 5 }

describe('webhookUrlFor', () => {
  it('replaces every {$job_id} placeholder', () => {
    assert.equal(webhookUrlFor('http://h:8/jobs/{$job_id}/done', 'j1'), 'http://h:8/jobs/j1/done')
    assert.equal(webhookUrlFor('http://h/{$job_id}?id={$job_id}', 'j1'), 'http://h/j1?id=j1')
  })

  it('appends /<job id> to the path without the placeholder', () => {
    assert.equal(webhookUrlFor('http://h:8/hook', 'j1'), 'http://h:8/hook/j1')
    assert.equal(webhookUrlFor('http://h:8/hook/', 'j1'), 'http://h:8/hook/j1')
    assert.equal(webhookUrlFor('http://h:8', 'j1'), 'http://h:8/j1')
    assert.equal(webhookUrlFor('https://h/hook?token=x', 'j1'), 'https://h/hook/j1?token=x')
  })

  it('escapes a job id that is not URL-safe', () => {
    assert.equal(webhookUrlFor('http://h/hook', 'a/b c'), 'http://h/hook/a%2Fb%20c')
  })
})

describe('sendWebhook', () => {
  const closers: Array<() => void> = []
  after(() => closers.forEach((close) => close()))

  it('POSTs the payload as JSON and reports the delivery', async () => {
    const r = await receiver([200])
    closers.push(r.close)
    const result = await sendWebhook(webhookUrlFor(`${r.base}/hook`, 'job-1'), payload, fast)
    assert.deepEqual(result, { delivered: true, attempts: 1, status: 200 })
    assert.equal(r.received.length, 1)
    const got = r.received[0]!
    assert.equal(got.method, 'POST')
    assert.equal(got.url, '/hook/job-1')
    assert.match(got.headers['content-type'] ?? '', /^application\/json/)
    assert.deepEqual(JSON.parse(got.body), payload)
  })

  it('sends a failure with its error and a null proof', async () => {
    const r = await receiver([204])
    closers.push(r.close)
    const failed: WebhookPayload = {
      ...payload,
      success: false,
      digest: null,
      proof: null,
      error: { code: 'PROOF_INVALID', message: 'segment 2 did not verify' }
    }
    const result = await sendWebhook(webhookUrlFor(`${r.base}/cb/{$job_id}`, 'job-1'), failed, fast)
    assert.equal(result.delivered, true)
    assert.equal(r.received[0]!.url, '/cb/job-1')
    assert.deepEqual(JSON.parse(r.received[0]!.body), failed)
  })

  it('retries a server error, a timeout answer and rate limiting until a 2xx', async () => {
    const r = await receiver([500, 503, 408, 429, 200])
    closers.push(r.close)
    const waits: number[] = []
    const result = await sendWebhook(`${r.base}/hook`, payload, {
      tries: 5,
      sleep: async (ms) => {
        waits.push(ms)
      },
      backoff: (attempt) => attempt
    })
    assert.deepEqual(result, { delivered: true, attempts: 5, status: 200 })
    assert.equal(r.received.length, 5)
    assert.deepEqual(waits, [1, 2, 3, 4])
  })

  it('does not retry a client error', async () => {
    const r = await receiver([400, 200])
    closers.push(r.close)
    const result = await sendWebhook(`${r.base}/hook`, payload, fast)
    assert.equal(result.delivered, false)
    assert.equal(result.attempts, 1)
    assert.equal(result.status, 400)
    assert.match(result.error ?? '', /400/)
    assert.equal(r.received.length, 1)
  })

  it('does not follow a redirect (it would drop the payload)', async () => {
    const r = await receiver([302])
    closers.push(r.close)
    const result = await sendWebhook(`${r.base}/hook`, payload, fast)
    assert.equal(result.delivered, false)
    assert.equal(result.attempts, 1)
    assert.equal(result.status, 302)
  })

  it('gives up after the last try on a closed port, without throwing', async () => {
    const port = await closedPort()
    const result = await sendWebhook(`http://127.0.0.1:${port}/hook`, payload, { ...fast, tries: 3 })
    assert.equal(result.delivered, false)
    assert.equal(result.attempts, 3)
    assert.equal(result.status, undefined)
    assert.match(result.error ?? '', /ECONNREFUSED|fetch failed/)
  })

  it('gives a try that gets no answer up after timeoutMs', async () => {
    const r = await receiver('hang')
    closers.push(r.close)
    const result = await sendWebhook(`${r.base}/hook`, payload, { ...fast, tries: 2, timeoutMs: 100 })
    assert.equal(result.delivered, false)
    assert.equal(result.attempts, 2)
    assert.match(result.error ?? '', /no answer within 100 ms/)
  })

  it('backs off exponentially with jitter, capped', async () => {
    const port = await closedPort()
    const waits: number[] = []
    await sendWebhook(`http://127.0.0.1:${port}/hook`, payload, {
      tries: 5,
      baseDelayMs: 100,
      maxDelayMs: 300,
      sleep: async (ms) => {
        waits.push(ms)
      }
    })
    assert.equal(waits.length, 4)
    const steps = [100, 200, 300, 300]
    waits.forEach((ms, i) => assert.ok(ms >= steps[i]! / 2 && ms <= steps[i]!, `wait ${i}: ${ms}`))
  })

  it('stops when the signal aborts, during a wait or before the first try', async () => {
    const port = await closedPort()
    const controller = new AbortController()
    // the wait after the first try is 5 to 10 minutes: only the abort can end it while the test waits
    const pending = sendWebhook(`http://127.0.0.1:${port}/hook`, payload, {
      tries: 5,
      baseDelayMs: 600_000,
      maxDelayMs: 600_000,
      signal: controller.signal
    })
    setTimeout(() => controller.abort(), 50)
    const result = await within(pending, 60_000, 'the webhook to stop on abort')
    assert.equal(result.delivered, false)
    assert.equal(result.attempts, 1)
    assert.match(result.error ?? '', /aborted/)

    const none = await sendWebhook(`http://127.0.0.1:${port}/hook`, payload, { signal: AbortSignal.abort() })
    assert.deepEqual(none, { delivered: false, attempts: 0, error: 'aborted: the daemon is stopping' })
  })

  it('refuses a URL it cannot POST to without trying', async () => {
    for (const url of ['not a url', 'ftp://h/x', '']) {
      const result = await sendWebhook(url, payload, fast)
      assert.equal(result.delivered, false)
      assert.equal(result.attempts, 0)
      assert.match(result.error ?? '', /bad webhook URL/)
    }
  })
})
