import '../../src/polyfill.js'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { HardwareInfo } from '../../src/capacity/probe.js'
import { type ConfigOverrides, loadConfig } from '../../src/config/index.js'
import { Daemon, type DaemonInit } from '../../src/daemon/daemon.js'
import { createLogger } from '../../src/log/index.js'

export const testLogger = createLogger({
  level: (process.env.PROOFMESH_TEST_LOG_LEVEL as 'debug') ?? 'silent'
})

/** A fixed CPU-only machine, so tests do not depend on this host's hardware */
export const cpuOnlyHardware: HardwareInfo = {
  gpus: [],
  cpuCores: 4,
  memoryBytes: 8 * 1024 ** 3,
  freeMemoryBytes: 4 * 1024 ** 3
}

export interface TestNodeOptions {
  overrides?: ConfigOverrides
  daemon?: Partial<DaemonInit>
  dataDir?: string
}

/** A real daemon on 127.0.0.1 with an ephemeral port and a temporary data dir */
export async function startTestNode(options: TestNodeOptions = {}): Promise<Daemon> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'proofmesh-test-')))
  const overrides: ConfigOverrides = {
    ...options.overrides,
    dataDir,
    net: { listen: ['/ip4/127.0.0.1/tcp/0'], ...options.overrides?.net },
    // a fast heartbeat, with the TTL of 3 of them that tests on a loaded machine have always had
    capacity: { advertIntervalMs: 500, peerTtlIntervals: 3, ...options.overrides?.capacity },
    api: { port: 0, ...options.overrides?.api }
  }
  const config = await loadConfig({ overrides, env: {} })
  const daemon = new Daemon({
    config,
    logger: testLogger,
    probe: async () => cpuOnlyHardware,
    api: false,
    metrics: false,
    prover: false,
    ...options.daemon
  })
  await daemon.start()
  return daemon
}

export function multiaddrOf(daemon: Daemon): string {
  const addr = daemon.node.getMultiaddrs()[0]
  if (addr === undefined) throw new Error('the daemon has no address')
  return addr.toString()
}

export async function stopAll(daemons: Daemon[]): Promise<void> {
  await Promise.allSettled(daemons.map((daemon) => daemon.stop()))
  await Promise.allSettled(
    daemons.map((daemon) => rm(daemon.config.dataDir, { recursive: true, force: true }))
  )
}

/** Polls until the condition holds; bounded in time, with a message that says what never happened */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
  intervalMs = 50
): Promise<number> {
  const started = Date.now()
  while (Date.now() - started < timeoutMs) {
    if (await condition()) return Date.now() - started
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
}
