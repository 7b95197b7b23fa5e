import { createServer } from 'node:net'
import { multiaddr } from '@multiformats/multiaddr'
import type { ProofmeshConfig } from '../config/index.js'

/** What `explainStartError` needs of the config: the keys whose values a start can trip over */
export type StartConfig = Pick<ProofmeshConfig, 'api'> & { net: Pick<ProofmeshConfig['net'], 'listen'> }

const LISTEN_HINT = 'change it with --listen or net.listen'
const API_PORT_HINT = 'change it with --api-port or api.port'
const API_HOST_HINT = 'change it with --api-host or api.host'

/**
 * One line that says why the daemon did not start and which key to change; the caller prints it, and logs the
 * full error (stack included) at debug only.
 *
 * - A listen address libp2p could not take. libp2p 3 throws `UnsupportedListenAddressesError` whose message
 *   lists each failed address with its cause's text; the cause itself (and its errno code) is not kept. So
 *   the failed addresses are found by name in that list, and each one's errno is learnt by trying to listen
 *   on it again here; only if that now succeeds (the port was freed meanwhile) is an errno read off the text.
 * - The local API's port: Node's own listen error, with `code`, `address` and `port`.
 * - The journal (`JournalError`) and everything else: its message, already written for people, first line only.
 */
export async function explainStartError(err: unknown, config: StartConfig): Promise<string> {
  if (!(err instanceof Error)) return firstLine(String(err))
  if (err.name === 'UnsupportedListenAddressesError')
    return explainListenError(err.message, config.net.listen)
  const errno = err as NodeJS.ErrnoException & { address?: string; port?: number }
  if (errno.syscall === 'listen' || errno.syscall === 'getaddrinfo') {
    return explainApiError(errno, config.api)
  }
  return firstLine(err.message)
}

async function explainListenError(message: string, listen: string[]): Promise<string> {
  const failed = listen.map(normalise).filter((addr) => message.includes(`\n  ${addr}: `))
  if (failed.length === 0) {
    return `net.listen ${listen.join(', ')}: libp2p could not listen there (${LISTEN_HINT})`
  }
  const codes = await Promise.all(
    failed.map(async (addr) => (await probeListen(addr)) ?? codeInText(sectionOf(message, addr)))
  )
  const reasons = failed.map((addr, i) => `net.listen ${addr}: ${listenProblem(codes[i])}`)
  const another = codes.includes('EADDRINUSE') ? 'another daemon? ' : ''
  return `${reasons.join('; ')} (${another}${LISTEN_HINT})`
}

function listenProblem(code: string | undefined): string {
  switch (code) {
    case 'EADDRINUSE':
      return 'address already in use'
    case 'EACCES':
      return 'permission denied, ports below 1024 need privileges'
    case 'EADDRNOTAVAIL':
      return 'not an address of this machine'
    case 'UnsupportedListenAddressError':
      return 'no transport listens on such an address, this node listens on TCP'
    case undefined:
      return 'libp2p could not listen there'
    default:
      return `could not listen (${code})`
  }
}

function explainApiError(
  err: NodeJS.ErrnoException & { address?: string; port?: number },
  api: StartConfig['api']
): string {
  const host = err.address ?? api.host
  const port = err.port ?? api.port
  switch (err.code) {
    case 'EADDRINUSE':
      return `api.port ${port} on ${host} is already in use (${API_PORT_HINT})`
    case 'EACCES':
      return `api.port ${port} on ${host}: permission denied, ports below 1024 need privileges (${API_PORT_HINT})`
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `api.host ${api.host} is not an address of this machine (${API_HOST_HINT})`
    default:
      return `the local API could not listen on ${host}:${port}: ${firstLine(err.message)} (${API_PORT_HINT})`
  }
}

/**
 * Tries to listen on a TCP multiaddr as libp2p did; the errno code of the failure, or undefined when the address
 * is not plain TCP or listening now works.
 */
async function probeListen(addr: string): Promise<string | undefined> {
  let host: string | undefined
  let port: number | undefined
  try {
    const components = multiaddr(addr).getComponents()
    const ip = components.find((c) => c.name === 'ip4' || c.name === 'ip6')
    const tcp = components.find((c) => c.name === 'tcp')
    host = ip?.value
    port = tcp?.value === undefined ? undefined : Number(tcp.value)
  } catch {
    return undefined
  }
  if (host === undefined || port === undefined || port === 0) return undefined
  const server = createServer()
  return new Promise((resolve) => {
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err.code))
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)))
  })
}

function normalise(addr: string): string {
  try {
    return multiaddr(addr).toString()
  } catch {
    return addr
  }
}

/** libp2p's text about one failed address: from its name to the next address or the end */
function sectionOf(message: string, addr: string): string {
  const start = message.indexOf(`\n  ${addr}: `)
  const next = message.indexOf('\n  /', start + 1)
  return message.slice(start, next === -1 ? undefined : next)
}

/** The errno code, or libp2p's error name for an address no transport takes, in libp2p's text about it */
function codeInText(text: string): string | undefined {
  return /\b(EADDRINUSE|EACCES|EADDRNOTAVAIL|UnsupportedListenAddressError)\b/.exec(text)?.[1]
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0]?.trim() || 'unknown error'
}
