import type { Startable, TypedEventTarget } from '@libp2p/interface'
import { defaultProverBinary } from '../config/paths.js'
import type { Logger } from '../log/index.js'
import { CliProverBackend, type CliTemplates } from './cli-backend.js'
import type { CallOptions } from './signals.js'
import { ProverSupervisor, type RestartPolicy } from './supervisor.js'
import type { Gpu, Program, ProgressNotification, VerifyParams, VerifyResult } from './types.js'

export type ProverBackendKind = 'npp' | 'cli'

/** What the daemon advertises about its prover in its capacity advert */
export interface ProverInfo {
  backend: ProverBackendKind
  name: string
  version: string
  programs: Program[]
  gpus: Gpu[]
}

/** A whole job proved on this peer alone: the cli backend's only mode, and the npp backend's 1-peer case */
export interface JobProveParams {
  job: string
  program: string
  /** Absolute path of the whole input */
  input: string
  /** Absolute path the final proof is written to */
  out: string
  /** Absolute path of a folder the backend may write intermediate files into */
  workdir: string
}

export interface JobProveResult {
  out: string
  size: number
  sha256: string
  millis: number
  segments: number
  /** The statement digest, when the backend reports one (npp does, a one-shot command does not) */
  digest?: string
}

export interface ProverBackendEvents {
  progress: CustomEvent<ProgressNotification>
}

/**
 * What both backends offer: prove a whole job on this peer, verify a final proof, cancel a job's running
 * work. A cancelled call rejects with a ProverRpcError of code CANCELLED on both (see isCancelledError).
 * The npp backend (ProverSupervisor) adds the segmented phases plan/contribute/prove/aggregate.
 */
export interface ProverBackend extends Startable, TypedEventTarget<ProverBackendEvents> {
  readonly kind: ProverBackendKind
  /** Known once start() has resolved */
  readonly info: ProverInfo
  proveJob(params: JobProveParams, options?: CallOptions): Promise<JobProveResult>
  verify(params: VerifyParams, options?: CallOptions): Promise<VerifyResult>
  /** Stops every running call of `job`; resolves with how many were stopped */
  cancel(job: string, options?: CallOptions): Promise<number>
}

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
      restart: config.restart
    },
    components
  )
}

export { computeChallenge } from './challenge.js'
export type { CliProverBackendInit, CliTemplates } from './cli-backend.js'
export {
  CliProverBackend,
  cliBackendDefaults,
  splitCommandTemplate,
  substituteTemplate
} from './cli-backend.js'
export {
  isCancelledError,
  ProverCommandError,
  ProverCrashedError,
  ProverNotRunningError,
  ProverProtocolError,
  ProverRpcError,
  ProverTimeoutError
} from './errors.js'
export type { NppClientEvents, NppClientInit, NppClientStats, ProverExit } from './npp-client.js'
export { NppClient, nppClientDefaults } from './npp-client.js'
export type { CallOptions } from './signals.js'
export type {
  ProverRestartedEvent,
  ProverSupervisorComponents,
  ProverSupervisorEvents,
  ProverSupervisorInit,
  RestartPolicy
} from './supervisor.js'
export { ProverSupervisor, supervisorDefaults } from './supervisor.js'
export * from './types.js'
