import { spawn } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { availableParallelism, freemem, totalmem } from 'node:os'
import { delimiter, join } from 'node:path'
import type { Logger } from '../log/index.js'
import { type GpuInfo, NVIDIA_SMI_ARGS, parseNvidiaSmiCsv } from './nvidia-smi.js'

export { type GpuInfo, NvidiaSmiParseError, parseNvidiaSmiCsv } from './nvidia-smi.js'

export interface HardwareInfo {
  gpus: GpuInfo[]
  cpuCores: number
  memoryBytes: number
  freeMemoryBytes: number
  /** Why gpus is empty when the GPU query failed (absent nvidia-smi, error exit, timeout, garbage) */
  gpuProbeError?: string
}

export type ExecFn = (
  file: string,
  args: readonly string[],
  opts: { timeoutMs: number }
) => Promise<{ stdout: string }>

export interface ProbeOptions {
  /** Command to run; default 'nvidia-smi' (looked up on PATH) */
  nvidiaSmi?: string
  /** Kill nvidia-smi after this long; it can hang for many seconds on a wedged driver */
  timeoutMs?: number
  /** Replaces process spawning, for tests */
  exec?: ExecFn
  /** Gets one debug line when the GPU query fails */
  log?: Logger
}

export const probeDefaults = {
  nvidiaSmi: 'nvidia-smi',
  timeoutMs: 5000,
  /** Compute units per GPU when capacity.compute_units is 0 */
  unitsPerGpu: 10
}

/** nvidia-smi prints a few hundred bytes per GPU; anything far beyond is not its output */
const MAX_OUTPUT_BYTES = 1024 * 1024

/**
 * Probes GPUs (through nvidia-smi), CPU cores and memory. Never throws for a missing or broken
 * nvidia-smi: the result then has no GPUs and says why in gpuProbeError.
 */
export async function probeHardware(opts: ProbeOptions = {}): Promise<HardwareInfo> {
  const file = opts.nvidiaSmi ?? probeDefaults.nvidiaSmi
  const timeoutMs = opts.timeoutMs ?? probeDefaults.timeoutMs
  const exec = opts.exec ?? execBounded
  const info: HardwareInfo = {
    gpus: [],
    cpuCores: availableParallelism(),
    ...memory()
  }
  try {
    const { stdout } = await exec(file, NVIDIA_SMI_ARGS, { timeoutMs })
    info.gpus = parseNvidiaSmiCsv(stdout)
  } catch (err) {
    info.gpuProbeError = describeFailure(file, err)
    opts.log?.debug({ command: file, reason: info.gpuProbeError }, 'no GPUs: nvidia-smi query failed')
  }
  return info
}

/** configured > 0 wins; else unitsPerGpu per GPU; else one unit per CPU core */
export function computeUnits(hw: HardwareInfo, configured: number): number {
  if (configured > 0) {
    return configured
  }
  if (hw.gpus.length > 0) {
    return hw.gpus.length * probeDefaults.unitsPerGpu
  }
  return Math.max(1, hw.cpuCores)
}

/**
 * Total and free memory, cgroup-aware: inside a container with a memory limit below the host's
 * total, the limit and what is left of it are what this process really has.
 */
function memory(): { memoryBytes: number; freeMemoryBytes: number } {
  const total = totalmem()
  const constrained = process.constrainedMemory?.() ?? 0
  const memoryBytes = constrained > 0 && constrained < total ? constrained : total
  const available = process.availableMemory?.() ?? freemem()
  return { memoryBytes, freeMemoryBytes: Math.min(available, memoryBytes) }
}

function describeFailure(file: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code
  if (code === 'ENOENT') {
    return `${file} not found`
  }
  if (code === 'EACCES') {
    return `${file} is not executable`
  }
  return err instanceof Error ? err.message : String(err)
}

export class ExecTimeoutError extends Error {
  constructor(file: string, timeoutMs: number) {
    super(`${file} did not finish within ${timeoutMs} ms`)
    this.name = 'ExecTimeoutError'
  }
}

export class ExecExitError extends Error {
  readonly exitCode: number | null
  constructor(file: string, exitCode: number | null, signal: NodeJS.Signals | null, stderr: string) {
    const how = signal !== null ? `was killed by ${signal}` : `exited with code ${exitCode}`
    const first = stderr.trim().split('\n')[0]?.slice(0, 200) ?? ''
    super(`${file} ${how}${first === '' ? '' : `: ${first}`}`)
    this.name = 'ExecExitError'
    this.exitCode = exitCode
  }
}

/**
 * Whether `file` names a file: itself when it holds a path, else in a PATH folder (one that is there but cannot be
 * run is left to spawn, which says so). A host without nvidia-smi (every CPU prover) is probed every probe
 * interval: a spawn forks the daemon to learn that the command is missing (3.3 ms of the daemon's CPU at 100 MiB
 * of heap, ~3% of an idle daemon's time in a CPU profile on a loaded host), this lookup makes a few stat calls
 * (0.14 ms).
 */
function commandExists(file: string): boolean {
  const candidates = file.includes('/')
    ? [file]
    : (process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, file))
  return candidates.some((path) => {
    try {
      accessSync(path, constants.F_OK)
      return true
    } catch {
      return false
    }
  })
}

/**
 * Runs a command without a shell, bounded in time and output. A command that is not there fails as spawn would
 * (ENOENT), without a spawn. On timeout it kills the whole process group (a wrapper script's children too) and
 * settles at once, without waiting for pipes that an orphaned grandchild may hold open.
 */
export const execBounded: ExecFn = async (file, args, { timeoutMs }) =>
  new Promise((resolve, reject) => {
    if (!commandExists(file)) {
      reject(Object.assign(new Error(`spawn ${file} ENOENT`), { code: 'ENOENT', path: file }))
      return
    }
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    const stdout: Buffer[] = []
    const stderr: Buffer[] = []
    let outBytes = 0
    let settled = false

    const finish = (err: Error | undefined, out?: string): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      if (err !== undefined) {
        killGroup(child.pid)
        child.stdout.destroy()
        child.stderr.destroy()
        reject(err)
      } else {
        resolve({ stdout: out ?? '' })
      }
    }

    const timer = setTimeout(() => finish(new ExecTimeoutError(file, timeoutMs)), timeoutMs)
    child.stdout.on('data', (chunk: Buffer) => {
      outBytes += chunk.length
      if (outBytes > MAX_OUTPUT_BYTES) {
        finish(new Error(`${file} printed more than ${MAX_OUTPUT_BYTES} bytes`))
        return
      }
      stdout.push(chunk)
    })
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < 16) stderr.push(chunk)
    })
    child.on('error', (err) => finish(err))
    child.on('close', (code, signal) => {
      if (code === 0) {
        finish(undefined, Buffer.concat(stdout).toString('utf8'))
      } else {
        finish(new ExecExitError(file, code, signal, Buffer.concat(stderr).toString('utf8')))
      }
    })
  })

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return
  try {
    // detached: the child leads its own process group; a negative pid signals the whole group
    process.kill(-pid, 'SIGKILL')
  } catch {
    // already gone
  }
}
