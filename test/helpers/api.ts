/** A daemon's HTTP API as the tests reach it, and polling for what it reports */
import { deadline } from '../../src/net/deadline.js'

/** Where a daemon's API is and its token (a LocalNode, or an address read from a data folder) */
export interface ApiNode {
  api: { url: string }
  token: string
}

/** GET `path`, or POST `body` as JSON; the parsed answer, or an error naming the path, status and answer */
export async function api<T>(node: ApiNode, path: string, body?: unknown): Promise<T> {
  const response = await fetch(new URL(path, node.api.url), {
    method: body === undefined ? 'GET' : 'POST',
    headers: {
      authorization: `Bearer ${node.token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' })
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: deadline(`${body === undefined ? 'GET' : 'POST'} ${path} on ${node.api.url}`, 10_000)
  })
  const text = await response.text()
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}: ${text}`)
  return JSON.parse(text) as T
}

/**
 * Calls `probe` every `everyMs` until it returns a value, for at most `timeoutMs`. A probe that throws (a daemon
 * restarting, a stream cut) counts as not yet; the last error is in the timeout's message. `what` names what is
 * waited for; as a function it is asked when the wait gives up, so it can say what the probe saw last.
 */
export async function poll<T>(
  what: string | (() => string),
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
  everyMs = 100
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  for (;;) {
    try {
      const value = await probe()
      if (value !== undefined) return value
    } catch (err) {
      lastError = err
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : ''
      const waitedFor = typeof what === 'string' ? what : what()
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${waitedFor}${why}`)
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
}
