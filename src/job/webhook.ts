/**
 * The job-end webhook: one JSON POST when a job this peer submitted ends, in ZisK's shape where it can be.
 *
 * ZisK posts `{ job_id, success, duration_ms, proof, timestamp, error }` with `proof` an array of u64; our final
 * proofs are large binary files, so `proof` names the file instead (`{ sha256, size, path }`), and `data_id`
 * and `digest` are added. The URL follows ZisK's rule: `{$job_id}` is replaced by the job id, and without the
 * placeholder `/<job id>` is appended.
 */
import { setTimeout as delay } from 'node:timers/promises'
import { deadline } from '../net/deadline.js'
import { AGENT_VERSION } from '../version.js'

export interface WebhookPayload {
  job_id: string
  /** The user's label for the job (ZisK's --data-id) */
  data_id: string
  success: boolean
  duration_ms: number
  /** The statement the proof proves (lower-case hex), when known */
  digest: string | null
  /** The final proof file on success: path is null when the proof was not saved */
  proof: { sha256: string; size: number; path: string | null } | null
  /** ISO 8601 */
  timestamp: string
  error: { code: string; message: string } | null
}

export interface WebhookResult {
  /** A 2xx answer came back */
  delivered: boolean
  /** POSTs made (0 when the URL is unusable) */
  attempts: number
  /** The last HTTP status received */
  status?: number
  /** Why the last try failed, for the log */
  error?: string
}

export interface WebhookOptions {
  /** POSTs at most, the first included */
  tries?: number
  /** The wait after the first failure; doubles after each, with jitter */
  baseDelayMs?: number
  maxDelayMs?: number
  /** Per try: connecting, sending and the answer's status line */
  timeoutMs?: number
  /** The daemon is stopping: no further try, no wait */
  signal?: AbortSignal
  /** Tests: how to wait between tries (rejects or resolves early when the signal aborts) */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>
  /** Tests: the wait before try `attempt + 1` after `attempt` failed tries (overrides the exponential backoff) */
  backoff?: (attempt: number) => number
}

export const webhookDefaults = {
  /** Five tries over ~15 s (1 + 2 + 4 + 8 s): rides out a receiver's restart, not a long outage */
  tries: 5,
  baseDelayMs: 1000,
  maxDelayMs: 30_000,
  /** A receiver should answer at once and work later; 10 s also covers a slow TLS handshake */
  timeoutMs: 10_000
}

export const JOB_ID_PLACEHOLDER = '{$job_id}'

/** ZisK's rule: every `{$job_id}` replaced by the job id; without one, `/<job id>` appended to the path */
export function webhookUrlFor(template: string, jobId: string): string {
  const id = encodeURIComponent(jobId)
  if (template.includes(JOB_ID_PLACEHOLDER)) return template.replaceAll(JOB_ID_PLACEHOLDER, id)
  try {
    // Appended to the path, before any query or fragment, with exactly one slash
    const url = new URL(template)
    url.pathname = `${url.pathname.replace(/\/+$/, '')}/${id}`
    return url.toString()
  } catch {
    return `${template}/${id}`
  }
}

/** Answers worth another try: a timeout, rate limiting, a server error */
function retryable(status: number): boolean {
  return status === 408 || status === 429 || status >= 500
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/** Retry-After in seconds (the HTTP-date form is not worth parsing here) */
function retryAfterMs(res: Response): number | undefined {
  const value = res.headers.get('retry-after')
  if (value === null || !/^\d+$/.test(value.trim())) return undefined
  return Number(value.trim()) * 1000
}

async function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  await delay(ms, undefined, signal === undefined ? {} : { signal }).catch(() => undefined)
}

/**
 * POSTs `payload` to `url` until a 2xx answer, a final refusal (a 3xx or a 4xx other than 408/429), the last
 * try or the signal. Never throws: the result says whether it was delivered and why not.
 */
export async function sendWebhook(
  url: string,
  payload: WebhookPayload,
  options: WebhookOptions = {}
): Promise<WebhookResult> {
  const tries = Math.max(1, Math.floor(options.tries ?? webhookDefaults.tries))
  const base = options.baseDelayMs ?? webhookDefaults.baseDelayMs
  const max = options.maxDelayMs ?? webhookDefaults.maxDelayMs
  const timeoutMs = options.timeoutMs ?? webhookDefaults.timeoutMs
  const signal = options.signal
  const sleep = options.sleep ?? defaultSleep
  // A function, not a property read: TypeScript would keep a narrowed `aborted` across the awaits
  const stopping = (): boolean => signal?.aborted === true
  // Equal jitter: half the exponential step, plus up to as much again at random
  const backoff =
    options.backoff ??
    ((attempt: number) => {
      const step = Math.min(max, base * 2 ** (attempt - 1))
      return step / 2 + (Math.random() * step) / 2
    })

  try {
    const parsed = new URL(url)
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('not an http(s) URL')
  } catch (err) {
    return { delivered: false, attempts: 0, error: `bad webhook URL: ${message(err)}` }
  }
  let body: string
  try {
    body = JSON.stringify(payload)
  } catch (err) {
    return { delivered: false, attempts: 0, error: `payload: ${message(err)}` }
  }

  const result: WebhookResult = { delivered: false, attempts: 0 }
  while (result.attempts < tries) {
    if (stopping()) {
      result.error = 'aborted: the daemon is stopping'
      return result
    }
    result.attempts++
    let wait: number | undefined
    try {
      const timeout = deadline(`the webhook POST to ${url}`, timeoutMs)
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': AGENT_VERSION },
        body,
        // A redirected POST turns into a GET without the payload; a receiver must be named exactly
        redirect: 'manual',
        signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout])
      })
      // The answer's body is not used: drop it so the connection is freed
      await res.body?.cancel().catch(() => undefined)
      result.status = res.status
      if (res.ok) {
        delete result.error
        result.delivered = true
        return result
      }
      result.error = `HTTP ${res.status}${res.statusText === '' ? '' : ` ${res.statusText}`}`
      if (!retryable(res.status)) return result
      wait = retryAfterMs(res)
    } catch (err) {
      if (stopping()) {
        result.error = 'aborted: the daemon is stopping'
        return result
      }
      const name = err instanceof Error ? err.name : ''
      result.error =
        name === 'TimeoutError' || name === 'AbortError'
          ? `no answer within ${timeoutMs} ms`
          : // fetch hides the reason (ECONNREFUSED, ENOTFOUND, …) in `cause`
            `${message(err)}${err instanceof Error && err.cause !== undefined ? `: ${message(err.cause)}` : ''}`
    }
    if (result.attempts < tries) {
      const ms = Math.max(backoff(result.attempts), Math.min(wait ?? 0, max))
      // A sleep that rejects (aborted, or a test's) only ends the wait early
      await sleep(ms, signal).catch(() => undefined)
    }
  }
  return result
}
