import { peerIdFromString } from '@libp2p/peer-id'
import type { LevelWithSilent } from 'pino'
import type { LogFormat } from '../log/index.js'
import { defaultProverBinary } from './paths.js'
import type { ProofmeshConfig, ProverBackend } from './types.js'
import {
  argItem,
  boolValue,
  durationValue,
  intValue,
  type ListItem,
  listValue,
  multiaddrItem,
  oneOfValue,
  pathValue,
  peerMultiaddrItem,
  stringValue,
  tagItem,
  type ValueType
} from './values.js'

/** A TOML value as a default is written in the file */
export type TomlDefault = string | number | boolean | string[]

/** One configuration key: how it is parsed, its default and its documentation */
export interface KeyDef<T> {
  /** The TOML key inside its section (snake_case) */
  key: string
  type: ValueType<T>
  /** The default exactly as written in TOML; configDefaults is this parsed, so it is written once */
  default: TomlDefault
  /** One line for the rendered config file */
  doc: string
}

export type SectionName = Exclude<keyof ProofmeshConfig, 'dataDir'>

type SectionSchema<T> = { [F in keyof T]-?: KeyDef<T[F]> }

export type ConfigSchema = { dataDir: KeyDef<string> } & {
  [S in SectionName]: SectionSchema<ProofmeshConfig[S]>
}

export const ENV_PREFIX = 'PROOFMESH_'
/** Names the config file; not a key itself */
export const ENV_CONFIG_PATH = 'PROOFMESH_CONFIG'
/**
 * Left alone by the loader rather than refused as unknown: test harnesses read these
 * (PROOFMESH_TEST_LOG_LEVEL) and spawned daemons inherit them.
 */
export const ENV_RESERVED_PREFIX = 'PROOFMESH_TEST_'

export const LOG_LEVELS = [
  'trace',
  'debug',
  'info',
  'warn',
  'error',
  'fatal',
  'silent'
] as const satisfies readonly LevelWithSilent[]
export const LOG_FORMATS = ['pretty', 'json'] as const satisfies readonly LogFormat[]
export const PROVER_BACKENDS = ['npp', 'cli'] as const satisfies readonly ProverBackend[]

/** A peer id as libp2p writes it, e.g. "12D3KooW..." */
const peerIdItem: ListItem = {
  expected: 'peer ids like "12D3KooW..."',
  check: (text) => {
    try {
      peerIdFromString(text)
      return true
    } catch {
      return false
    }
  }
}

/**
 * The single table behind the file parser, the environment, CLI overrides, the defaults and
 * renderConfigToml. The mapped type makes the compiler check it covers every ProofmeshConfig field.
 */
export const schema: ConfigSchema = {
  dataDir: {
    key: 'data_dir',
    type: pathValue(),
    default: '~/.proofmesh',
    doc: 'Directory for the peer key, peer store and job data; "~" is the home directory'
  },
  net: {
    listen: {
      key: 'listen',
      type: listValue(multiaddrItem),
      default: ['/ip4/0.0.0.0/tcp/4001'],
      doc: 'Multiaddrs to listen on'
    },
    announce: {
      key: 'announce',
      type: listValue(multiaddrItem),
      default: [],
      doc: 'Multiaddrs to announce instead of the listen addresses (public IP or DNS behind NAT); [] = listen addresses'
    },
    bootstrap: {
      key: 'bootstrap',
      type: listValue(peerMultiaddrItem),
      default: [],
      doc: 'Peers to dial at start, each multiaddr ending in /p2p/<peer id>'
    },
    swarmKey: {
      key: 'swarm_key',
      type: pathValue({ allowEmpty: true }),
      default: '',
      doc: 'Pre-shared key file of a private network (libp2p pnet); "" = the public network'
    },
    maxConnections: {
      key: 'max_connections',
      type: intValue(1, 10_000),
      default: 300,
      doc: 'Most open connections before the connection manager prunes'
    },
    inboundConnectionThreshold: {
      key: 'inbound_connection_threshold',
      type: intValue(1),
      default: 100,
      doc: "Inbound connections per second accepted from one IP (libp2p's 5 breaks many peers behind one NAT)"
    },
    dht: {
      key: 'dht',
      type: boolValue(),
      default: true,
      doc: 'Run the Kademlia DHT for peer discovery'
    },
    dhtProtocol: {
      key: 'dht_protocol',
      type: stringValue({
        expected: 'a protocol id starting with "/", without spaces',
        check: (text) => /^\/\S*$/.test(text)
      }),
      default: '/proofmesh/kad/1.0.0',
      doc: 'DHT protocol id; peers only find each other on the same id'
    }
  },
  capacity: {
    offer: {
      key: 'offer',
      type: boolValue(),
      default: true,
      doc: 'Offer compute units to the network; false = this peer only submits jobs and relays gossip'
    },
    computeUnits: {
      key: 'compute_units',
      type: intValue(0, 1_000_000),
      default: 0,
      doc: 'Capacity advertised to the network; 0 = auto (10 per GPU, else the CPU core count)'
    },
    tags: {
      key: 'tags',
      type: listValue(tagItem),
      default: [],
      doc: 'Free-form labels advertised with capacity, e.g. ["gpu", "region=eu"]'
    },
    advertIntervalMs: {
      key: 'advert_interval',
      type: durationValue(100),
      default: '15s',
      doc: 'How often this peer gossips its capacity advert when nothing changed (a change goes out at once)'
    },
    probeIntervalMs: {
      key: 'probe_interval',
      type: durationValue(100),
      default: '30s',
      doc: 'How often the hardware (GPUs, memory) is probed again'
    },
    peerTtlIntervals: {
      key: 'peer_ttl_intervals',
      type: intValue(1, 1000),
      default: 2,
      doc: "This peer's adverts expire after this many advert intervals without a new one (peers keep one 2 min at most)"
    }
  },
  api: {
    host: {
      key: 'host',
      type: stringValue({
        expected: 'a host name or IP address',
        check: (text) => /^[^\s/]+$/.test(text)
      }),
      default: '127.0.0.1',
      doc: 'Address the local HTTP API binds to; keep it on loopback unless it is firewalled'
    },
    port: {
      key: 'port',
      type: intValue(0, 65_535),
      default: 7400,
      doc: 'Port of the local HTTP API; 0 = an ephemeral port'
    }
  },
  log: {
    level: {
      key: 'level',
      type: oneOfValue(LOG_LEVELS),
      default: 'info',
      doc: 'Least severe level written'
    },
    format: {
      key: 'format',
      type: oneOfValue(LOG_FORMATS),
      default: 'pretty',
      doc: 'Console format: human-readable lines or JSON lines'
    },
    file: {
      key: 'file',
      type: pathValue({ allowEmpty: true }),
      default: '',
      doc: 'Also append JSON lines to this file; "" = none'
    }
  },
  prover: {
    backend: {
      key: 'backend',
      type: oneOfValue(PROVER_BACKENDS),
      default: 'npp',
      doc: 'How proofs are made: "npp" = a long-lived prover process speaking NPP, "cli" = one command per call'
    },
    command: {
      key: 'command',
      type: listValue(argItem, { minItems: 1 }),
      default: [defaultProverBinary(), 'serve'],
      doc: 'argv of the NPP prover process (backend = "npp")'
    },
    nice: {
      key: 'nice',
      type: intValue(0, 19),
      default: 10,
      doc: 'How many nice levels below the daemon the prover runs, so that the daemon (keep-alives, API) comes first when the prover takes every core; other busy work on the host then comes first too; 0 = the same priority'
    },
    callTimeoutMs: {
      key: 'call_timeout',
      type: durationValue(1),
      default: '10m',
      doc: 'Longest a single prove or verify call may take'
    },
    pingIntervalMs: {
      key: 'ping_interval',
      type: durationValue(10),
      default: '10s',
      doc: 'How often the NPP prover is pinged while it runs'
    },
    pingTimeoutMs: {
      key: 'ping_timeout',
      type: durationValue(10),
      default: '15s',
      doc: 'A ping unanswered this long is missed; two missed in a row and the prover is killed and restarted'
    },
    cliProve: {
      key: 'cli_prove',
      type: stringValue({ allowEmpty: true }),
      default: '',
      doc: 'Command template for proving (backend = "cli")'
    },
    cliVerify: {
      key: 'cli_verify',
      type: stringValue({ allowEmpty: true }),
      default: '',
      doc: 'Command template for verifying (backend = "cli")'
    },
    cliProgram: {
      key: 'cli_program',
      type: stringValue({}),
      default: 'cli',
      doc: 'Program id a cli prover advertises; jobs for it name this program (backend = "cli")'
    }
  },
  jobs: {
    maxPeersPerJob: {
      key: 'max_peers_per_job',
      type: intValue(1, 1_000),
      default: 16,
      doc: 'Most peers one job is spread over'
    },
    leaseTimeoutMs: {
      key: 'lease_timeout',
      type: durationValue(500),
      default: '15s',
      doc: 'A lease the submitter stops renewing ends after this long, and the peer frees its units'
    },
    peerTimeoutMs: {
      key: 'peer_timeout',
      type: durationValue(300),
      default: '3s',
      doc: 'A peer of a job silent this long (it sends a keep-alive every third of it) is lost; its segments move'
    },
    phase1TimeoutMs: {
      key: 'phase1_timeout',
      type: durationValue(100),
      default: '10m',
      doc: 'Longest phase 1 may take: inputs and hints received, contributions computed'
    },
    phase2TimeoutMs: {
      key: 'phase2_timeout',
      type: durationValue(100),
      default: '20m',
      doc: 'Longest phase 2 may take: every segment proved'
    },
    aggregateTimeoutMs: {
      key: 'aggregate_timeout',
      type: durationValue(100),
      default: '10m',
      doc: 'Longest aggregation may take, the partial proofs gathered and the final proof returned'
    },
    progressTimeoutMs: {
      key: 'progress_timeout',
      type: durationValue(100),
      default: '5m',
      doc: 'A peer of a job with work in hand that reports no progress (a contribution, a proof, a progress report, the final proof) for this long loses its segments, keep-alives or not'
    },
    transferIdleMs: {
      key: 'transfer_idle_timeout',
      type: durationValue(100),
      default: '30s',
      doc: 'An input slice, the hints or a proof that moves no byte for this long is dropped: its peer failed it'
    },
    transferMinRateKiB: {
      key: 'transfer_min_rate',
      type: intValue(0, 1_000_000),
      default: 64,
      doc: 'KiB/s an input slice, the hints or a proof must average over each transfer_rate_window, or it is dropped like a stalled one (a peer trickling bytes just inside transfer_idle_timeout); 0 = no floor. A submitter on a slow uplink that feeds many peers at once lowers it'
    },
    transferRateWindowMs: {
      key: 'transfer_rate_window',
      type: durationValue(1000),
      default: '30s',
      doc: 'The window transfer_min_rate is averaged over; the first is the grace a transfer gets to start'
    },
    defaultTimeoutMs: {
      key: 'default_timeout',
      type: durationValue(100),
      default: '1h',
      doc: 'Time a job may take, queueing included, when its request names none'
    },
    maxRetries: {
      key: 'max_retries',
      type: intValue(0, 100),
      default: 2,
      doc: 'How often one segment may move to another peer, and invalid final proofs be retried, before the job fails'
    },
    stragglerFactor: {
      key: 'straggler_factor',
      type: intValue(0, 100),
      default: 2,
      doc: "A segment proving this many times longer than the median of its job's proved segments gets a backup copy on an idle peer; 0 = off"
    },
    proofsDir: {
      key: 'proofs_dir',
      type: pathValue({ allowEmpty: true }),
      default: '',
      doc: 'Where final proofs are written, one file per job; "" = <data_dir>/proofs'
    },
    saveProofs: {
      key: 'save_proofs',
      type: boolValue(),
      default: true,
      doc: 'Write each final proof to proofs_dir'
    },
    webhookUrl: {
      key: 'webhook_url',
      type: stringValue({
        allowEmpty: true,
        expected: 'an http:// or https:// URL',
        check: (text) => /^https?:\/\/\S+$/.test(text)
      }),
      default: '',
      doc: 'POSTed when a job this peer submitted ends (success or failure); {$job_id} is replaced; "" = none'
    },
    maxQueued: {
      key: 'max_queued',
      type: intValue(1, 100_000),
      default: 1_000,
      doc: "Most jobs waiting in this submitter's queue"
    }
  },
  inputs: {
    folder: {
      key: 'folder',
      type: pathValue({ allowEmpty: true }),
      default: '',
      doc: 'Path-mode inputs are names inside this folder, never outside it; "" = <data_dir>/inputs'
    },
    maxBytes: {
      key: 'max_bytes',
      type: intValue(1),
      default: 4_294_967_296,
      doc: 'Largest input a job may have, in bytes (4 GiB)'
    }
  },
  security: {
    allowSubmitters: {
      key: 'allow_submitters',
      type: listValue(peerIdItem),
      default: [],
      doc: "Peer ids that may lease this peer's units (this daemon's own jobs always may); [] = any peer of the network"
    },
    denyPeers: {
      key: 'deny_peers',
      type: listValue(peerIdItem),
      default: [],
      doc: 'Peer ids this peer never connects to, takes no capacity adverts from and does no work for'
    },
    maxJobsPerSubmitter: {
      key: 'max_jobs_per_submitter',
      type: intValue(1),
      default: 4,
      doc: "Most jobs one submitter may hold leases for here at once (this daemon's own jobs are not counted)"
    },
    maxUnitsPerSubmitter: {
      key: 'max_units_per_submitter',
      type: intValue(0),
      default: 0,
      doc: "Most compute units one submitter may hold here at once, over all its jobs; 0 = half this peer's units, at least 1 (this daemon's own jobs are not counted)"
    },
    firstAssignTimeoutMs: {
      key: 'first_assign_timeout',
      type: durationValue(100),
      default: '5m',
      doc: 'A lease granted here that sees no Assign (no work) this long after it was granted ends and frees its units, keep-alives or not'
    }
  }
}

export const sectionDocs: Record<SectionName, string> = {
  net: 'Peer-to-peer networking (libp2p)',
  capacity: 'What this peer offers to the network',
  api: 'Local HTTP API for submitting jobs',
  log: 'Logging',
  prover: 'The proving backend',
  jobs: 'Jobs this peer submits, and the leases it grants',
  inputs: 'Job inputs',
  security: 'Who may use this peer, and who may not reach it at all'
}

/** A schema key with its names in every source */
export interface SchemaEntry {
  /** null for top-level keys */
  section: SectionName | null
  /** camelCase field in ProofmeshConfig / ConfigOverrides */
  field: string
  /** Dotted TOML key, e.g. `capacity.advert_interval` */
  dotted: string
  /** e.g. PROOFMESH_CAPACITY_ADVERT_INTERVAL */
  envVar: string
  def: KeyDef<unknown>
}

function entry(section: SectionName | null, field: string, def: KeyDef<unknown>): SchemaEntry {
  const dotted = section === null ? def.key : `${section}.${def.key}`
  return {
    section,
    field,
    dotted,
    envVar: `${ENV_PREFIX}${dotted.replace('.', '_').toUpperCase()}`,
    def
  }
}

export const sectionNames = Object.keys(sectionDocs) as SectionName[]

/** Every key in file order: top-level keys first, then each section */
export const schemaEntries: readonly SchemaEntry[] = [
  entry(null, 'dataDir', schema.dataDir),
  ...sectionNames.flatMap((section) =>
    Object.entries(schema[section] as Record<string, KeyDef<unknown>>).map(([field, def]) =>
      entry(section, field, def)
    )
  )
]
