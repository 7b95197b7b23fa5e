import type { LevelWithSilent } from 'pino'
import type { LogFormat } from '../log/index.js'

/** The daemon's configuration, fully resolved: every field set, paths absolute, durations in ms */
export interface ProofmeshConfig {
  /** Where keys, the peer store and job data live */
  dataDir: string
  net: NetConfig
  capacity: CapacityConfig
  api: ApiConfig
  log: LogConfig
  prover: ProverConfig
  jobs: JobsConfig
  inputs: InputsConfig
  security: SecurityConfig
}

export interface NetConfig {
  listen: string[]
  announce: string[]
  bootstrap: string[]
  /** Path of a pre-shared key for a private network, or '' for the public network */
  swarmKey: string
  maxConnections: number
  /** Inbound connections per second accepted from one IP address */
  inboundConnectionThreshold: number
  dht: boolean
  dhtProtocol: string
}

export interface CapacityConfig {
  /** false = offer no compute units at all: the peer only submits jobs and relays gossip */
  offer: boolean
  /** 0 = derive from the hardware probe (see computeUnits) */
  computeUnits: number
  tags: string[]
  advertIntervalMs: number
  probeIntervalMs: number
  /** A peer's advert expires after this many advert intervals without a new one */
  peerTtlIntervals: number
}

export interface ApiConfig {
  host: string
  /** 0 = an ephemeral port */
  port: number
}

export interface LogConfig {
  level: LevelWithSilent
  format: LogFormat
  /** Also append JSON lines here, or '' for none */
  file: string
}

export type ProverBackend = 'npp' | 'cli'

export interface ProverConfig {
  backend: ProverBackend
  /** argv of the NPP prover process */
  command: string[]
  /** Nice levels the prover runs below the daemon (0 = the same priority) */
  nice: number
  callTimeoutMs: number
  /** npp: how often the running prover is pinged, and how long a ping may take (two missed in a row: restarted) */
  pingIntervalMs: number
  pingTimeoutMs: number
  cliProve: string
  cliVerify: string
  /** The program id a cli prover advertises and jobs name */
  cliProgram: string
}

export interface JobsConfig {
  /** Most peers one job is spread over (the submitter included when it works on its own job) */
  maxPeersPerJob: number
  /** A lease not renewed within this time ends, and the peer frees its units */
  leaseTimeoutMs: number
  /** A peer of a job that sends nothing (keep-alives included) for this long is lost; its segments move */
  peerTimeoutMs: number
  /** Limits per phase: contributions, segment proofs, aggregation (final proof included) */
  phase1TimeoutMs: number
  phase2TimeoutMs: number
  aggregateTimeoutMs: number
  /**
   * A peer with work in hand that reports no progress for this long loses its segments: keep-alives prove it is
   * there, not that it works
   */
  progressTimeoutMs: number
  /** A transfer (an input slice, the hints, a proof) that moves no byte for this long fails */
  transferIdleMs: number
  /** KiB/s a transfer must average over each transferRateWindowMs, or it fails; 0 = no floor */
  transferMinRateKiB: number
  transferRateWindowMs: number
  /** How long a submitted job may take, queueing included, unless the request says otherwise */
  defaultTimeoutMs: number
  maxRetries: number
  /** A segment proving this many times longer than the median of its job's proved ones gets a backup copy; 0 = off */
  stragglerFactor: number
  /** Where final proofs are written; '' = <data_dir>/proofs */
  proofsDir: string
  saveProofs: boolean
  /** POSTed on success and on failure; '' = none. `{$job_id}` is replaced with the job id */
  webhookUrl: string
  /** Most jobs this daemon keeps queued as a submitter */
  maxQueued: number
}

export interface InputsConfig {
  /** Path-mode inputs are names inside this folder, never outside it; '' = <data_dir>/inputs */
  folder: string
  /** Largest input a job may have, in bytes */
  maxBytes: number
}

export interface SecurityConfig {
  /** Peer ids that may lease this peer's units; [] = any peer of the network. This daemon's own jobs always may */
  allowSubmitters: string[]
  /** Peer ids this peer never connects to, takes no gossip from and does no work for */
  denyPeers: string[]
  /** Most leases one submitter holds here at once (this daemon's own jobs are not counted) */
  maxJobsPerSubmitter: number
  /** Most units one submitter holds here at once, over all its leases; 0 = half this peer's units, at least 1 */
  maxUnitsPerSubmitter: number
  /** A lease that has seen no Assign this long after Reserved ends and frees its units */
  firstAssignTimeoutMs: number
}

type DeepPartial<T> = {
  [K in keyof T]?: T[K] extends readonly unknown[] ? T[K] : T[K] extends object ? DeepPartial<T[K]> : T[K]
}

/**
 * What the CLI passes to loadConfig: any subset of ProofmeshConfig. Lists replace, they do not append.
 * Duration fields (`...Ms`) also accept duration text such as "5s".
 */
export type ConfigOverrides = DeepPartial<ProofmeshConfig>
