import { type ChildProcess, spawn } from 'node:child_process'
import { mkdir, open, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { findPackageRoot } from '../config/paths.js'
import type { PeerRow } from '../daemon/daemon.js'
import type { StatusJson } from '../daemon/status-json.js'
import { deadline } from '../net/deadline.js'
import { type ApiAddress, readApiAddress, readApiToken } from '../rpc/http/credentials.js'

/** More units than a local daemon has: no cap between the daemons of one local network */
const LOCAL_UNITS_PER_SUBMITTER = 1_000_000

/** The built CLI entry point (one bundled file: this module may be part of it, so not relative to this module) */
const CLI_ENTRY = join(findPackageRoot(), 'dist', 'node', 'cli.js')

export interface LocalNode {
  index: number
  dataDir: string
  logFile: string
  process: ChildProcess
  /** The daemon's argv after the CLI entry point, to start it again the same way */
  args: string[]
  api: ApiAddress
  token: string
  status: StatusJson
}

export interface LocalNetworkInit {
  nodes: number
  /** Parent folder; each node gets node-<i>/ */
  root: string
  /** `--advert-interval` of every daemon (1s by default); false: none, the daemon's own default */
  advertInterval?: string | false
  /** Extra daemon flags for every node */
  extraArgs?: string[]
  /** Extra daemon flags for one node */
  nodeArgs?: (index: number) => string[]
  startTimeoutMs?: number
  /** The CLI entry point the daemons run: another build to compare against (benchmarks); this package's own */
  cliEntry?: string
}

/**
 * A daemon starts in a few hundred ms (test/bench/daemon-startup): looked for every 100 ms, a start was seen up to
 * 100 ms late, a third of the figure; one small file read every 20 ms costs nothing
 */
const API_ADDRESS_POLL_MS = 20

async function get<T>(node: { api: ApiAddress; token: string }, path: string): Promise<T> {
  const response = await fetch(new URL(path, node.api.url), {
    headers: { authorization: `Bearer ${node.token}` },
    signal: deadline(`GET ${path} on ${node.api.url}`, 5_000)
  })
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`)
  return (await response.json()) as T
}

async function poll<T>(
  what: string,
  timeoutMs: number,
  attempt: () => Promise<T | undefined>,
  intervalMs = 100
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  while (Date.now() < deadline) {
    try {
      const value = await attempt()
      if (value !== undefined) return value
    } catch (err) {
      lastError = err
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
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

  /** Starts a stopped (or killed) node again with its data dir and flags; its peer id stays, its ports change */
  async restart(index: number, timeoutMs = 30_000): Promise<LocalNode> {
    const node = this.nodes[index]
    if (node === undefined) throw new Error(`no node ${index}`)
    if (node.process.exitCode === null && node.process.signalCode === null)
      throw new Error(`node ${index} is running`)
    // the same port, so that peers bootstrapped through this node (or holding its address) find it again
    const listen = node.status.addrs
      .find((addr) => addr.startsWith('/ip4/127.0.0.1/tcp/'))
      ?.replace(/\/p2p\/.*$/, '')
    const args = node.args.map((arg, i) =>
      node.args[i - 1] === '--listen' && listen !== undefined ? listen : arg
    )
    const restarted = await this.spawnNode(index, node.dataDir, args, timeoutMs)
    this.nodes[index] = restarted
    return restarted
  }

  private async startNode(index: number, bootstrapArgs: string[], timeoutMs: number): Promise<LocalNode> {
    const dataDir = join(this.init.root, `node-${index}`)
    await mkdir(dataDir, { recursive: true })
    const args = [
      'daemon',
      '--data-dir',
      dataDir,
      '--listen',
      '/ip4/127.0.0.1/tcp/0',
      '--api-port',
      '0',
      ...(this.init.advertInterval === false ? [] : ['--advert-interval', this.init.advertInterval ?? '1s']),
      '--log-format',
      'json',
      ...bootstrapArgs,
      ...(this.init.extraArgs ?? []),
      ...(this.init.nodeArgs?.(index) ?? [])
    ]
    return this.spawnNode(index, dataDir, args, timeoutMs)
  }

  private async spawnNode(
    index: number,
    dataDir: string,
    args: string[],
    timeoutMs: number
  ): Promise<LocalNode> {
    const logFile = join(dataDir, 'daemon.log')
    const log = await open(logFile, 'a')
    const child = spawn(process.execPath, [this.init.cliEntry ?? CLI_ENTRY, ...args], {
      stdio: ['ignore', log.fd, log.fd],
      env: {
        // One operator's daemons: each may lease all of another's units (security.max_units_per_submitter is half
        // of them by default, against strangers); the environment of the caller still decides
        PROOFMESH_SECURITY_MAX_UNITS_PER_SUBMITTER: String(LOCAL_UNITS_PER_SUBMITTER),
        // a testnet's fast heartbeat (1 s) keeps a TTL of 3 of them: with 2, a daemon starved for 2 s on a loaded
        // machine drops its peers
        ...(this.init.advertInterval === false ? {} : { PROOFMESH_CAPACITY_PEER_TTL_INTERVALS: '3' }),
        ...process.env,
        PROOFMESH_CONFIG: ''
      }
    })
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
      },
      API_ADDRESS_POLL_MS
    )
    const token = await readApiToken(dataDir)
    const status = await get<StatusJson>({ api, token }, '/v1/status')
    return { index, dataDir, logFile, process: child, args, api, token, status }
  }
}
