/** Builds the configured prover backend; the interfaces it returns are in types.ts */
import { defaultProverBinary } from '../config/paths.js'
import type { Logger } from '../log/index.js'
import { CliProverBackend, type CliTemplates } from './cli-backend.js'
import { ProverSupervisor, type RestartPolicy } from './supervisor.js'
import type { ProverBackend, ProverBackendKind } from './types.js'

export interface ProverConfig {
  backend: ProverBackendKind
  /** npp: the argv that runs the prover's serve loop (default proverDefaults.command). cli: not used, the
   * templates name their program */
  command?: string[]
  /** Nice levels the prover's processes run below the daemon; 0 = the same priority (see lowerPriority) */
  nice?: number
  /** cli only: the one-shot command templates */
  cli?: CliTemplates
  /** Default time limit of one call (npp: one phase of one segment; cli: one whole command) */
  callTimeoutMs?: number
  /** npp only: how a crashed prover is restarted */
  restart?: Partial<RestartPolicy>
  /** npp only: the liveness pings (see supervisorDefaults) */
  pingIntervalMs?: number
  pingTimeoutMs?: number
}

export interface ProverComponents {
  logger: Logger
}

export const proverDefaults = {
  /** The reference prover as `cargo build --release` in native/ leaves it */
  command: [defaultProverBinary(), 'serve']
}

export function createProverBackend(
  config: ProverConfig & { backend: 'npp' },
  components: ProverComponents
): ProverSupervisor
export function createProverBackend(
  config: ProverConfig & { backend: 'cli' },
  components: ProverComponents
): CliProverBackend
export function createProverBackend(config: ProverConfig, components: ProverComponents): ProverBackend
export function createProverBackend(config: ProverConfig, components: ProverComponents): ProverBackend {
  if (config.backend === 'cli') {
    if (config.cli === undefined) {
      throw new TypeError("the cli prover backend needs 'cli.prove' and 'cli.verify' templates")
    }
    return new CliProverBackend(
      { templates: config.cli, callTimeoutMs: config.callTimeoutMs, nice: config.nice },
      components
    )
  }
  return new ProverSupervisor(
    {
      command: config.command ?? proverDefaults.command,
      nice: config.nice,
      callTimeoutMs: config.callTimeoutMs,
      restart: config.restart,
      pingIntervalMs: config.pingIntervalMs,
      pingTimeoutMs: config.pingTimeoutMs
    },
    components
  )
}
