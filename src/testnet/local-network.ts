import { type ChildProcess, spawn } from 'node:child_process'
import { mkdir, open, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { PeerRow } from '../daemon/daemon.js'
import type { StatusJson } from '../daemon/status-json.js'
import { type ApiAddress, readApiAddress, readApiToken } from '../rpc/http/credentials.js'

/** The CLI entry point, next to this module's folder both in src/ and in dist/src/ */
const CLI_ENTRY = fileURLToPath(new URL('../../node/cli.js', import.meta.url))

export interface LocalNode {
  index: number
  dataDir: string
  logFile: string
  process: ChildProcess
  api: ApiAddress
  token: string
  status: StatusJson
}

export interface LocalNetworkInit {
  nodes: number
  /** Parent folder; each node gets node-<i>/ */
  root: string
  advertInterval?: string
  /** Extra daemon flags for every node */
  extraArgs?: string[]
  /** Extra daemon flags for one node */
  nodeArgs?: (index: number) => string[]
  startTimeoutMs?: number
}

async function get<T>(node: { api: ApiAddress; token: string }, path: string): Promise<T> {
  const response = await fetch(new URL(path, node.api.url), {
    headers: { authorization: `Bearer ${node.token}` },
    signal: AbortSignal.timeout(5_000)
  })
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`)
  return (await response.json()) as T
}

async function poll<T>(what: string, timeoutMs: number, attempt: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  while (Date.now() < deadline) {
    try {
      const value = await attempt()
      if (value !== undefined) return value
    } catch (err) {
      lastError = err
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${lastError === undefined ? '' : `: ${lastError instanceof Error ? lastError.message : JSON.stringify(lastError)}`}`
  )
}

/**
 * A network of real daemon processes on 127.0.0.1: node 0 first, the rest bootstrapped from it. Each has its
 * own data dir and log file; ports are chosen by the OS.
 */
export class LocalNetwork {
  readonly nodes: LocalNode[] = []
  private readonly init: LocalNetworkInit

  constructor(init: LocalNetworkInit) {
    this.init = init
  }

  async start(): Promise<void> {
    const timeoutMs = this.init.startTimeoutMs ?? 30_000
    for (let index = 0; index < this.init.nodes; index++) {
      const bootstrap = this.nodes[0]?.status.addrs[0]
      this.nodes.push(
        await this.startNode(index, bootstrap === undefined ? [] : ['--bootstrap', bootstrap], timeoutMs)
      )
    }
  }

  /** Waits until every node's peer table lists every other node */
  async converge(timeoutMs = 30_000): Promise<number> {
    const started = Date.now()
    await poll('every peer table to list every other node', timeoutMs, async () => {
      const sizes = await Promise.all(this.nodes.map(async (node) => (await this.peers(node)).length))
      return sizes.every((size) => size === this.nodes.length - 1) ? true : undefined
    })
    return Date.now() - started
  }

  async peers(node: LocalNode): Promise<PeerRow[]> {
    return get<PeerRow[]>(node, '/v1/peers')
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.nodes.map(
        (node) =>
          new Promise<void>((resolve) => {
            if (node.process.exitCode !== null || node.process.signalCode !== null) {
              resolve()
              return
            }
            const kill = setTimeout(() => node.process.kill('SIGKILL'), 10_000)
            node.process.once('exit', () => {
              clearTimeout(kill)
              resolve()
            })
            node.process.kill('SIGTERM')
          })
      )
    )
  }

  async remove(): Promise<void> {
    await rm(this.init.root, { recursive: true, force: true })
  }

  private async startNode(index: number, bootstrapArgs: string[], timeoutMs: number): Promise<LocalNode> {
    const dataDir = join(this.init.root, `node-${index}`)
    await mkdir(dataDir, { recursive: true })
    const logFile = join(dataDir, 'daemon.log')
    const log = await open(logFile, 'a')
    const child = spawn(
      process.execPath,
      [
        CLI_ENTRY,
        'daemon',
        '--data-dir',
        dataDir,
        '--listen',
        '/ip4/127.0.0.1/tcp/0',
        '--api-port',
        '0',
        '--advert-interval',
        this.init.advertInterval ?? '1s',
        '--log-format',
        'json',
        ...bootstrapArgs,
        ...(this.init.extraArgs ?? []),
        ...(this.init.nodeArgs?.(index) ?? [])
      ],
      { stdio: ['ignore', log.fd, log.fd], env: { ...process.env, PROOFMESH_CONFIG: '' } }
    )
    await log.close()
    let exited = false
    child.once('exit', () => {
      exited = true
    })
    const api = await poll(
      `node ${index} to write its API address (log: ${logFile})`,
      timeoutMs,
      async () => {
        if (exited) throw new Error(`node ${index} exited with ${child.exitCode}; see ${logFile}`)
        const address = await readApiAddress(dataDir)
        return address.pid === child.pid ? address : undefined
      }
    )
    const token = await readApiToken(dataDir)
    const status = await get<StatusJson>({ api, token }, '/v1/status')
    return { index, dataDir, logFile, process: child, api, token, status }
  }
}
