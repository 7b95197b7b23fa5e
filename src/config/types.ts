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
  callTimeoutMs: number
  cliProve: string
  cliVerify: string
}

type DeepPartial<T> = {
  [K in keyof T]?: T[K] extends readonly unknown[] ? T[K] : T[K] extends object ? DeepPartial<T[K]> : T[K]
}

/**
 * What the CLI passes to loadConfig: any subset of ProofmeshConfig. Lists replace, they do not append.
 * Duration fields (`...Ms`) also accept duration text such as "5s".
 */
export type ConfigOverrides = DeepPartial<ProofmeshConfig>
