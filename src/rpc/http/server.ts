import { readFile } from 'node:fs/promises'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { join } from 'node:path'
import type { Startable } from '@libp2p/interface'
import { findPackageRoot } from '../../config/paths.js'
import type { JobsBackend } from '../../jobs-model/backend.js'
import type { Logger } from '../../log/index.js'
import { tokenMatches } from './credentials.js'
import { type HttpRoute, jobsRoute, type JobsRoutesInit, sendJson } from './jobs-routes.js'

/** What the local API exposes; the daemon implements it */
export interface ApiBackend {
  health(): unknown
  status(): unknown
  peers(): unknown
  metrics(): Promise<{ contentType: string; body: string }>
  /** The submitter's jobs; while undefined, every /v1/jobs route answers 503 */
  readonly jobs?: JobsBackend
}

export interface HttpApiInit {
  host: string
  port: number
  token: string
  /**
   * Makes and stores a new token (POST /v1/token/rotate); it replaces the old one at once, and every other
   * connection is closed, so a stream opened with the old token ends too. Without it the route is absent.
   */
  rotateToken?: () => Promise<string>
  logger: Logger
  /** Limits of the job routes (request body size, SSE keep-alive); jobsRoutesDefaults otherwise */
  jobs?: Omit<JobsRoutesInit, 'jobs'>
  /** The operator's page (index.html, app.js, style.css); the package's src/rpc/http/ui by default */
  uiDir?: string
  /** The compiled src/jobs-model/ modules the page imports; the package's dist/src/jobs-model by default */
  sharedDir?: string
}

/** The routes that answer without the bearer token */
const OPEN_PATHS: ReadonlySet<string> = new Set(['/v1/health'])

interface UiFile {
  file: string
  type: string
  /** One of the modules the page shares with the CLI: tsc's output of src/jobs-model/<file> */
  shared?: true
}

const JAVASCRIPT = 'text/javascript; charset=utf-8'

/**
 * The operator's page, served as is from the package's source tree (tsc copies no static files, and src/ ships
 * with the package), and the modules of src/jobs-model/ it imports (the phase list, how a peer id and a peer's
 * failure are written), as tsc compiled them: one definition for the CLI and the page. Only these names are
 * served, so no path reaches another file. They carry no data: the page's script reads the token from the URL
 * fragment, which the browser never sends, and calls the JSON API with it, so /ui needs no token itself.
 */
const UI_FILES: ReadonlyMap<string, UiFile> = new Map([
  ['/ui', { file: 'index.html', type: 'text/html; charset=utf-8' }],
  ['/ui/', { file: 'index.html', type: 'text/html; charset=utf-8' }],
  ['/ui/app.js', { file: 'app.js', type: JAVASCRIPT }],
  ['/ui/style.css', { file: 'style.css', type: 'text/css; charset=utf-8' }],
  ...['states.js', 'peer-id.js', 'peer-failure.js'].map((file): [string, UiFile] => [
    `/ui/jobs-model/${file}`,
    { file, type: JAVASCRIPT, shared: true }
  ])
])

/** tsc's pointer to a source map the page does not serve */
const SOURCE_MAP_COMMENT = /\n\/\/# sourceMappingURL=\S+\s*$/

/** Nothing but the page's own files and the API: no inline script, no other origin, no framing */
const UI_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache'
}

function isUiPath(path: string): boolean {
  return path === '/ui' || path.startsWith('/ui/')
}

/** A read-only route: GET, and HEAD with the same headers */
function readRoute(handle: (response: ServerResponse) => Promise<void>): HttpRoute {
  return { methods: ['GET', 'HEAD'], handle: async ({ response }) => handle(response) }
}

/**
 * The local HTTP API on 127.0.0.1 (by default). Every route but /v1/health needs the bearer token from the
 * data dir; health stays open so container and service-manager probes need no secret.
 */
export class HttpApi implements Startable {
  private readonly backend: ApiBackend
  private readonly init: HttpApiInit
  private readonly log: Logger
  private readonly uiDir: string
  private readonly sharedDir: string
  private server?: Server
  private token: string
  /** Open connections, so that a token rotation can close the ones opened with the old token */
  private readonly sockets = new Set<Socket>()

  constructor(backend: ApiBackend, init: HttpApiInit) {
    this.backend = backend
    this.init = init
    this.token = init.token
    this.log = init.logger.child({ component: 'api' })
    this.uiDir = init.uiDir ?? join(findPackageRoot(), 'src', 'rpc', 'http', 'ui')
    this.sharedDir = init.sharedDir ?? join(findPackageRoot(), 'dist', 'src', 'jobs-model')
  }

  /** The API's base URL once started */
  get url(): string {
    const address = this.server?.address() as AddressInfo | null | undefined
    if (address == null) throw new Error('the HTTP API is not listening')
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
    return `http://${host}:${address.port}`
  }

  async start(): Promise<void> {
    const server = createServer((request, response) => {
      this.handle(request, response).catch((err: unknown) => {
        this.log.error({ err, path: request.url }, 'API request failed')
        if (!response.headersSent) sendJson(response, 500, { error: 'internal error' })
        else response.destroy()
      })
    })
    server.headersTimeout = 10_000
    server.requestTimeout = 30_000
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket)
      socket.once('close', () => this.sockets.delete(socket))
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.init.port, this.init.host, () => {
        server.off('error', reject)
        resolve()
      })
    })
    this.server = server
    this.log.info({ url: this.url }, 'local API listening')
  }

  async stop(): Promise<void> {
    const server = this.server
    if (server === undefined) return
    this.server = undefined
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost')
    const path = url.pathname
    const route = this.route(path)
    if (route === undefined) {
      sendJson(response, 404, { error: `no such endpoint: ${path}` })
      return
    }
    const method = request.method ?? 'GET'
    if (!route.methods.includes(method)) {
      response.setHeader('allow', route.methods.join(', '))
      sendJson(response, 405, { error: `${method} is not allowed on ${path}` })
      return
    }
    if (!OPEN_PATHS.has(path) && !isUiPath(path) && !this.authorised(request)) {
      response.setHeader('www-authenticate', 'Bearer realm="proofmesh"')
      sendJson(response, 401, { error: 'missing or wrong bearer token (see api.token in the data dir)' })
      return
    }
    await route.handle({ request, response, url, log: this.log })
  }

  private route(path: string): HttpRoute | undefined {
    if (isUiPath(path)) {
      const asset = UI_FILES.get(path)
      return asset === undefined ? undefined : readRoute(async (response) => this.sendUi(response, asset))
    }
    switch (path) {
      case '/v1/health':
        return readRoute(async (response) => sendJson(response, 200, this.backend.health()))
      case '/v1/status':
        return readRoute(async (response) => sendJson(response, 200, this.backend.status()))
      case '/v1/peers':
        return readRoute(async (response) => sendJson(response, 200, this.backend.peers()))
      case '/metrics':
        return readRoute(async (response) => {
          const { contentType, body } = await this.backend.metrics()
          response.writeHead(200, { 'content-type': contentType })
          response.end(body)
        })
      case '/v1/token/rotate': {
        const rotate = this.init.rotateToken
        if (rotate === undefined) return undefined
        return {
          methods: ['POST'],
          handle: async ({ request, response }) => {
            this.token = await rotate()
            this.log.info('API token rotated; closing the connections opened with the old one')
            response.once('finish', () => {
              for (const socket of this.sockets) if (socket !== request.socket) socket.destroy()
            })
            // the token itself stays in the file: a response can end up in a terminal's scrollback or a log
            sendJson(response, 200, { rotated: true })
          }
        }
      }
      default:
        return jobsRoute(path, { ...this.init.jobs, jobs: () => this.backend.jobs })
    }
  }

  private async sendUi(response: ServerResponse, asset: UiFile): Promise<void> {
    const body =
      asset.shared === true
        ? Buffer.from(
            (await readFile(join(this.sharedDir, asset.file), 'utf8')).replace(SOURCE_MAP_COMMENT, '\n')
          )
        : await readFile(join(this.uiDir, asset.file))
    response.writeHead(200, { ...UI_HEADERS, 'content-type': asset.type, 'content-length': body.length })
    response.end(body)
  }

  private authorised(request: IncomingMessage): boolean {
    const header = request.headers.authorization ?? ''
    const match = /^Bearer\s+(\S+)$/i.exec(header)
    return match?.[1] !== undefined && tokenMatches(this.token, match[1])
  }
}
