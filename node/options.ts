import type { Options } from 'yargs'
import { DirectoryError, makeDirectory } from '../src/config/directories.js'
import { type ConfigOverrides, loadConfig, type ProofmeshConfig } from '../src/config/index.js'
import { CliError } from './errors.js'

/** A decimal number as people type it: 8, -3, 2.5, 1e6 (no hex, no blanks, no "8 units") */
const NUMBER_TEXT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?$/i

/**
 * The number a numeric flag was given, or a usage error (exit 2) that quotes what was typed: `--compute-capacity
 * takes an integer from 1 to 100000, got "abc"`. `expected` says what the flag takes.
 */
export function parseNumberFlag(flag: string, expected: string, value: unknown): number {
  if (typeof value === 'number' && Number.isFinite(value)) return value
  const text = typeof value === 'string' ? value.trim() : undefined
  if (text !== undefined && NUMBER_TEXT.test(text)) return Number(text)
  // a flag given no value at all reads as true
  const shown =
    value === true || text === '' ? 'nothing' : text === undefined ? String(value) : JSON.stringify(text)
  throw new CliError(`${flag} takes ${expected}, got ${shown}`, 2)
}

/** `an integer from 1 to 1000`, `an integer of 1 or more` */
export function integerRange(min: number, max: number): string {
  return max >= Number.MAX_SAFE_INTEGER ? `an integer of ${min} or more` : `an integer from ${min} to ${max}`
}

/** An integer flag's value, checked against its range (a usage error otherwise); undefined when not given */
export function integerFlag(
  flag: string,
  value: number | undefined,
  min: number,
  max: number
): number | undefined {
  if (value === undefined) return undefined
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new CliError(`${flag} takes ${integerRange(min, max)}, got ${value}`, 2)
  }
  return value
}

/**
 * A numeric flag whose bad value is named. yargs' own `type: 'number'` turns `-c abc` into NaN, losing what was
 * typed; such a flag has no yargs type (the CLI turns yargs' number parsing off, so its value stays the text
 * typed, `0x10` included) and is coerced by parseNumberFlag.
 */
export function numberOption<O extends Omit<Options, 'type' | 'coerce'>>(
  flag: string,
  expected: string,
  option: O
): O & { coerce: (value: unknown) => number } {
  return { ...option, coerce: (value: unknown) => parseNumberFlag(flag, expected, value) }
}

/** --config and --data-dir: every command that talks to or is the daemon takes them */
export const baseOptions = {
  config: {
    type: 'string',
    describe: 'TOML config file (also PROOFMESH_CONFIG); `proofmesh config init` writes one'
  },
  'data-dir': {
    type: 'string',
    describe: 'Where the peer key, API token and job data live [default: ~/.proofmesh]'
  }
} as const satisfies Record<string, Options>

/** The daemon's flags; each overrides the config file, which overrides PROOFMESH_* variables */
export const daemonOptions = {
  ...baseOptions,
  listen: {
    type: 'string',
    array: true,
    describe: 'Listen multiaddr, repeatable [default: /ip4/0.0.0.0/tcp/4001]'
  },
  announce: {
    type: 'string',
    array: true,
    describe: 'Address to advertise instead of the listen ones, repeatable'
  },
  bootstrap: {
    type: 'string',
    array: true,
    describe: 'Multiaddr (with /p2p/<peer id>) of a peer to join through, repeatable'
  },
  'swarm-key': {
    type: 'string',
    describe: 'Pre-shared key file of a private network (`proofmesh swarm-key` makes one)'
  },
  dht: {
    type: 'boolean',
    describe: 'Run the kad-dht (server mode) to find peers beyond the bootstrap list [default: true]'
  },
  'api-host': { type: 'string', describe: 'Local HTTP API address [default: 127.0.0.1]' },
  'api-port': numberOption('--api-port', 'a port number from 0 to 65535', {
    describe: 'Local HTTP API port, 0 = any [default: 7400]'
  }),
  'compute-units': numberOption('--compute-units', 'an integer of at least 0', {
    describe: 'Units to offer; 0 = 10 per GPU, else the CPU core count [default: 0]'
  }),
  tag: {
    type: 'string',
    array: true,
    describe: 'Tag advertised with the capacity (e.g. region=eu), repeatable'
  },
  'advert-interval': {
    type: 'string',
    describe: 'How often to advertise capacity when it has not changed, e.g. 15s [default: 15s]'
  },
  'log-level': {
    type: 'string',
    describe: 'trace, debug, info, warn, error, fatal or silent [default: info]'
  },
  'log-format': { type: 'string', describe: 'pretty or json [default: pretty]' },
  'log-file': { type: 'string', describe: 'Also append JSON log lines to this file' },
  'prover-command': { type: 'string', array: true, describe: 'argv of the native prover (NPP over stdio)' },
  offer: {
    type: 'boolean',
    describe: 'Offer compute units to the network; --no-offer = only submit jobs and relay [default: true]'
  },
  'inputs-folder': {
    type: 'string',
    describe: 'Path-mode inputs are names inside this folder, never outside it [default: <data dir>/inputs]'
  },
  'proofs-dir': { type: 'string', describe: 'Where final proofs are saved [default: <data dir>/proofs]' },
  'save-proofs': {
    type: 'boolean',
    describe: 'Save each final proof to the proofs dir; --no-save-proofs keeps it in the job folder only'
  },
  'webhook-url': {
    type: 'string',
    describe: 'POSTed when a job submitted here ends; {$job_id} is replaced with the job id'
  },
  'allow-submitter': {
    type: 'string',
    array: true,
    describe: 'Peer id that may lease units here, repeatable; none given = any peer [default: any]'
  },
  'deny-peer': {
    type: 'string',
    array: true,
    describe: 'Peer id never to connect to, take adverts from or work for, repeatable'
  }
} as const satisfies Record<string, Options>

export interface DaemonArgs {
  config?: string
  'data-dir'?: string
  listen?: string[]
  announce?: string[]
  bootstrap?: string[]
  'swarm-key'?: string
  dht?: boolean
  'api-host'?: string
  'api-port'?: number
  'compute-units'?: number
  tag?: string[]
  'advert-interval'?: string
  'log-level'?: string
  'log-format'?: string
  'log-file'?: string
  'prover-command'?: string[]
  offer?: boolean
  'inputs-folder'?: string
  'proofs-dir'?: string
  'save-proofs'?: boolean
  'webhook-url'?: string
  'allow-submitter'?: string[]
  'deny-peer'?: string[]
}

/** Flags → overrides; only flags the user gave take part, so the file and environment fill the rest */
export function overridesFromArgs(args: DaemonArgs): ConfigOverrides {
  const overrides: Record<string, unknown> = {}
  const set = (section: string | undefined, key: string, value: unknown): void => {
    if (value === undefined) return
    if (section === undefined) {
      overrides[key] = value
      return
    }
    const existing = (overrides[section] as Record<string, unknown> | undefined) ?? {}
    existing[key] = value
    overrides[section] = existing
  }
  set(undefined, 'dataDir', args['data-dir'])
  set('net', 'listen', args.listen)
  set('net', 'announce', args.announce)
  set('net', 'bootstrap', args.bootstrap)
  set('net', 'swarmKey', args['swarm-key'])
  set('net', 'dht', args.dht)
  set('api', 'host', args['api-host'])
  set('api', 'port', args['api-port'])
  set('capacity', 'computeUnits', args['compute-units'])
  set('capacity', 'tags', args.tag)
  set('capacity', 'advertIntervalMs', args['advert-interval'])
  set('log', 'level', args['log-level'])
  set('log', 'format', args['log-format'])
  set('log', 'file', args['log-file'])
  set('prover', 'command', args['prover-command'])
  set('capacity', 'offer', args.offer)
  set('inputs', 'folder', args['inputs-folder'])
  set('jobs', 'proofsDir', args['proofs-dir'])
  set('jobs', 'saveProofs', args['save-proofs'])
  set('jobs', 'webhookUrl', args['webhook-url'])
  set('security', 'allowSubmitters', args['allow-submitter'])
  set('security', 'denyPeers', args['deny-peer'])
  return overrides
}

/**
 * Makes the data dir (0700) if it is not there; one that cannot be made is a usage error (exit 2) naming it,
 * before a daemon starts anything
 */
export function prepareDataDir(dataDir: string): void {
  try {
    makeDirectory(dataDir, 0o700)
  } catch (err) {
    if (!(err instanceof DirectoryError)) throw err
    throw new CliError(`data_dir: ${err.message} (change it with --data-dir or data_dir)`, 2)
  }
}

/** The config as --config and --data-dir leave it: what every command that talks to a daemon reads */
export async function baseConfig(args: { config?: string; 'data-dir'?: string }): Promise<ProofmeshConfig> {
  return loadConfig({
    configPath: args.config,
    overrides: args['data-dir'] === undefined ? {} : { dataDir: args['data-dir'] }
  })
}

export async function configFromArgs(args: DaemonArgs): Promise<ProofmeshConfig> {
  return loadConfig({ overrides: overridesFromArgs(args), configPath: args.config })
}

/** An integer flag: numberOption with the range it takes in its message */
export function integerOption<O extends Omit<Options, 'type' | 'coerce'>>(
  flag: string,
  range: { min: number; max: number },
  option: O
): ReturnType<typeof numberOption<O>> {
  return numberOption(flag, integerRange(range.min, range.max), option)
}
