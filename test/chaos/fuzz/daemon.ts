/** Asking the daemon under test: its HTTP API with the status of the answer, and its resident memory */
import { readFile } from 'node:fs/promises'
import { type ApiNode } from '../../helpers/api.js'

/**
 * A call to the daemon's API with its token; the status and the JSON body. Unlike test/helpers/api.ts's api, an
 * error status does not throw: the suite asserts the exact status (a refusal is one it expects)
 */
export async function apiAnswer<T>(
  node: ApiNode,
  path: string,
  init: RequestInit = {}
): Promise<{ status: number; body: T }> {
  const response = await fetch(new URL(path, node.api.url), {
    ...init,
    headers: { authorization: `Bearer ${node.token}`, 'content-type': 'application/json' },
    signal: AbortSignal.timeout(10_000)
  })
  return { status: response.status, body: (await response.json()) as T }
}

/** The process's resident memory, from /proc; '?' where it cannot be read (gone, or not Linux) */
export function rssOf(pid: number | undefined): Promise<string> {
  return readFile(`/proc/${pid}/status`, 'utf8')
    .then((text) => /VmRSS:\s+(\d+) kB/.exec(text)?.[1] ?? '?')
    .then((kb) => (kb === '?' ? kb : `${Math.round(Number(kb) / 1024)} MiB`))
    .catch(() => '?')
}
