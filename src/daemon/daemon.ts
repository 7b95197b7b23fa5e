import type { TransferLimits } from '../net/transfer-deadline.js'
import { join } from 'node:path'
import type { Connection, PeerId, Startable } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { Registry } from 'prom-client'
import { encodeAdvert } from '../capacity/advert.js'
import { advertBackend, advertToJson } from '../capacity/advert-json.js'
import { type HardwareInfo, probeHardware } from '../capacity/probe.js'
import { CapacityPull } from '../capacity/pull.js'
import { WarmUpPull } from '../capacity/warm-up.js'
import { CapacityService, type Workload } from '../capacity/service.js'
import type { ProofmeshConfig } from '../config/index.js'
import type { Candidate } from '../job/link.js'
import { JobService } from '../job/service.js'
import { SubmitterTransport } from '../job/transport.js'
import type { Logger } from '../log/index.js'
import { DiscoveryDialer } from '../net/discovery-dialer.js'
import { createHost, type ProofmeshHost } from '../net/host.js'
import { PeerBans } from '../net/peer-bans.js'
import { loadOrCreatePeerKey } from '../net/peer-key.js'
import { ReachablePeers } from '../net/reachable-peers.js'
import { readSwarmKey } from '../net/swarm-key.js'
import { ProverProtocolError } from '../prover/errors.js'
import { createProverBackend } from '../prover/index.js'
import { recordProverSettings } from '../prover/recorded.js'
import { ProverSupervisor } from '../prover/supervisor.js'
import type { ProverBackend, ProverBackendKind } from '../prover/types.js'
import {
  loadOrCreateApiToken,
  removeApiAddress,
  writeApiAddress,
  writeNewApiToken
} from '../rpc/http/credentials.js'
import { type ApiBackend, HttpApi } from '../rpc/http/server.js'
import { type PeerStatus, StatusProtocol } from '../rpc/status/status.js'
import { Journal } from '../store/index.js'
import { PROOFMESH_VERSION } from '../version.js'
import { LeaseBook } from '../worker/leases.js'
import { WorkerService } from '../worker/service.js'
import { type StatusJson, statusToJson } from './status-json.js'

export interface DaemonInit {
  config: ProofmeshConfig
  logger: Logger
  /** Hardware probe; the real one by default, a recorded one in tests */
  probe?: () => Promise<HardwareInfo>
  workload?: Workload
  /** Start the native prover from config.prover (off for in-process test networks that need none) */
  prover?: boolean
  /** Serve the local HTTP API (off for in-process test networks and the CLI's ephemeral peer) */
  api?: boolean
  /** Keep Prometheus metrics (libp2p's included) */
  metrics?: boolean
}

export interface PeerRow {
  peerId: string
  connected: boolean
  address: string | null
  lastSeen: string
  /** When the peer entered this node's table (kept over its later adverts, new after it left and came back) */
  listedSince: string
  ageMs: number
  capacity: ReturnType<typeof advertToJson>
}

/**
 * The address to show for a peer: one it advertises (an inbound connection's remote address is an ephemeral
 * port), and not its loopback one unless that is all it has (a peer listening on 0.0.0.0 lists 127.0.0.1 first).
 */
function dialableAddress(addrs: string[]): string | undefined {
  return addrs.find((addr) => !addr.startsWith('/ip4/127.') && !addr.startsWith('/ip6/::1/')) ?? addrs[0]
}

/** What a supervised prover does that changes this peer's advert: its units go to 0 while it is down */
const PROVER_STATE_EVENTS = ['down', 'restarted', 'failed'] as const

/**
 * One proofmesh node: the libp2p host, capacity gossip and the peer table, the status protocol and the
 * local API. Every machine runs the same daemon; roles (submitter, aggregator) are per job.
 */
export class Daemon implements Startable, ApiBackend {
  readonly config: ProofmeshConfig
  private readonly init: DaemonInit
  private readonly log: Logger
  private readonly registry?: Registry
  private readonly startedAt = Date.now()
  private host?: ProofmeshHost
  private capacityService?: CapacityService
  private statusProtocol?: StatusProtocol
  private capacityPull?: CapacityPull
  private warmUpPull?: WarmUpPull
  private discoveryDialer?: DiscoveryDialer
  private reachablePeers?: ReachablePeers
  private api?: HttpApi
  private proverBackend?: ProverBackend
  private journalStore?: Journal
  private leaseBook?: LeaseBook
  private workerService?: WorkerService
  private jobService?: JobService
  private readonly onLeasesChanged = (): void => {
    this.capacityService
      ?.notifyChanged()
      .catch((err: unknown) => this.log.debug({ err }, 'advert not published'))
  }
  /** A prover that went down, came back (maybe a new build) or was given up on: re-advertise units and prover */
  private readonly onProverChanged = (): void => {
    this.capacityService
      ?.notifyChanged()
      .catch((err: unknown) => this.log.debug({ err }, 'advert not published'))
  }

  constructor(init: DaemonInit) {
    this.init = init
    this.config = init.config
    this.log = init.logger.child({ component: 'daemon' })
    this.registry = init.metrics === false ? undefined : new Registry()
  }

  get node(): ProofmeshHost {
    if (this.host === undefined) throw new Error('the daemon is not started')
    return this.host
  }

  get capacity(): CapacityService {
    if (this.capacityService === undefined) throw new Error('the daemon is not started')
    return this.capacityService
  }

  /** Capacity pulled on demand from neighbours (the job scheduler's, when the table is short) */
  get capacityPuller(): CapacityPull {
    if (this.capacityPull === undefined) throw new Error('the daemon is not started')
    return this.capacityPull
  }

  get statusClient(): StatusProtocol {
    if (this.statusProtocol === undefined) throw new Error('the daemon is not started')
    return this.statusProtocol
  }

  /** The native prover, when it started */
  get prover(): ProverBackend | undefined {
    return this.proverBackend
  }

  /** This daemon as a submitter */
  get jobs(): JobService | undefined {
    return this.jobService
  }

  /** The leases this daemon granted */
  get leases(): LeaseBook {
    if (this.leaseBook === undefined) throw new Error('the daemon is not started')
    return this.leaseBook
  }

  get journal(): Journal {
    if (this.journalStore === undefined) throw new Error('the daemon is not started')
    return this.journalStore
  }

  get apiUrl(): string | undefined {
    return this.api?.url
  }

  async start(): Promise<void> {
    const { config } = this
    // Both wait on child processes: the prover on its own start and hello, the hardware probe on nvidia-smi (up
    // to seconds on a GPU host). They run while the key, the journal and the libp2p host are set up, not before.
    const proverStarting = this.init.prover === false ? undefined : this.startProver()
    const probe = this.init.probe ?? (() => probeHardware())
    let firstProbe: Promise<HardwareInfo> | undefined = probe()
    // the capacity service awaits it; if the start fails before that, its failure is not an unhandled rejection
    firstProbe.catch(() => undefined)
    let host: ProofmeshHost
    let journal: Journal
    let swarmKey: Uint8Array | undefined
    const bans = new PeerBans()
    try {
      ;({ host, journal, swarmKey } = await this.openNode(bans))
    } finally {
      // kept even when the rest failed, so that stop() ends the prover
      this.proverBackend = await proverStarting
    }
    const reachable = new ReachablePeers(host, { logger: this.init.logger })
    if (this.registry !== undefined) reachable.registerMetrics(this.registry)
    this.reachablePeers = reachable
    this.leaseBook = new LeaseBook({
      logger: this.init.logger,
      // a prover that is down takes no work: no lease is granted until it is back
      totalUnits: () => (this.proverReady() ? this.capacity.units().total : 0),
      journal
    })
    this.leaseBook.addEventListener('changed', this.onLeasesChanged)
    const ban = (peer: string, ms: number): void => {
      bans.ban(peer, ms)
      host
        .hangUp(peerIdFromString(peer))
        .catch((err: unknown) => this.log.debug({ err, peer }, 'banned peer not hung up'))
    }
    this.capacityService = new CapacityService(
      {
        peerId: host.peerId,
        pubsub: host.services.pubsub,
        getMultiaddrs: () => host.getMultiaddrs(),
        reachability: reachable,
        onPeerDisconnect: (listener) => {
          const onDisconnect = (event: CustomEvent<PeerId>): void => listener(event.detail.toString())
          host.addEventListener('peer:disconnect', onDisconnect)
          return () => host.removeEventListener('peer:disconnect', onDisconnect)
        },
        ban
      },
      {
        logger: this.init.logger,
        advertIntervalMs: config.capacity.advertIntervalMs,
        probeIntervalMs: config.capacity.probeIntervalMs,
        peerTtlIntervals: config.capacity.peerTtlIntervals,
        computeUnits: config.capacity.computeUnits,
        offerCompute: config.capacity.offer,
        tags: config.capacity.tags,
        denyPeers: config.security.denyPeers,
        probe: () => {
          const hardware = firstProbe ?? probe()
          firstProbe = undefined
          return hardware
        },
        workload: this.init.workload ?? this.leaseBook,
        takingWork: () => this.proverReady(),
        prover: () => {
          const info = this.proverBackend?.info
          return info === undefined
            ? undefined
            : {
                name: info.name,
                version: info.version,
                backend: info.backend,
                programs: info.programs.map((program) => program.id)
              }
        },
        metricsRegistry: this.registry
      }
    )
    const capacity = this.capacityService
    this.capacityPull = new CapacityPull(host, {
      logger: this.init.logger,
      topic: capacity.topic,
      entries: () => capacity.peers.list(),
      hasRoom: () => capacity.peers.hasRoom(),
      admit: async (origin, signed, via) => capacity.admitPulled(origin, signed, via),
      ban,
      metricsRegistry: this.registry
    })
    const capacityPull = this.capacityPull
    this.warmUpPull = new WarmUpPull({
      logger: this.init.logger,
      pubsub: host.services.pubsub,
      topic: capacity.topic,
      warmUp: async () => capacityPull.warmUp(() => capacity.peers.list().map((entry) => entry.peerId))
    })
    this.statusProtocol = new StatusProtocol(host, {
      logger: this.init.logger,
      getStatus: () => this.peerStatus()
    })
    this.discoveryDialer = new DiscoveryDialer(host, {
      logger: this.init.logger,
      bootstrap: config.net.bootstrap
    })
    const transferLimits: TransferLimits = {
      idleMs: config.jobs.transferIdleMs,
      minBytesPerSecond: config.jobs.transferMinRateKiB * 1024,
      rateWindowMs: config.jobs.transferRateWindowMs
    }
    this.workerService = new WorkerService(host, {
      logger: this.init.logger,
      leases: this.leaseBook,
      prover: () => this.proverBackend,
      workRoot: join(config.dataDir, 'work'),
      inputsFolder: this.inputsFolder,
      maxInputBytes: config.inputs.maxBytes,
      security: config.security,
      firstAssignDeadlineMs: config.security.firstAssignTimeoutMs,
      transferLimits,
      metricsRegistry: this.registry
    })
    let connectedAt: number | undefined
    this.jobService = new JobService({
      logger: this.init.logger,
      journal,
      selfId: host.peerId.toString(),
      prover: () => this.proverBackend,
      transport: new SubmitterTransport(host, this.workerService),
      candidates: () => this.candidates(),
      wholeCandidates: () => this.wholeCandidates(),
      pullCapacity: async (wish) => capacityPull.pull(wish),
      // one and a half advert intervals with a neighbour: every live peer has advertised at least once; a node
      // alone (its peers may be reconnecting) or just reconnected does not yet call the network too small
      tableWarm: () => {
        const now = Date.now()
        if (host.getConnections().length === 0) connectedAt = undefined
        else connectedAt ??= now
        return connectedAt !== undefined && now - connectedAt > config.capacity.advertIntervalMs * 1.5
      },
      settings: {
        leaseMs: config.jobs.leaseTimeoutMs,
        peerTimeoutMs: config.jobs.peerTimeoutMs,
        maxRetries: config.jobs.maxRetries,
        stragglerFactor: config.jobs.stragglerFactor,
        phase1TimeoutMs: config.jobs.phase1TimeoutMs,
        phase2TimeoutMs: config.jobs.phase2TimeoutMs,
        aggregateTimeoutMs: config.jobs.aggregateTimeoutMs,
        progressTimeoutMs: config.jobs.progressTimeoutMs,
        transferLimits,
        defaultTimeoutMs: config.jobs.defaultTimeoutMs,
        maxPeersPerJob: config.jobs.maxPeersPerJob,
        maxQueued: config.jobs.maxQueued,
        maxInputBytes: config.inputs.maxBytes,
        proofsDir: config.jobs.proofsDir === '' ? join(config.dataDir, 'proofs') : config.jobs.proofsDir,
        jobsDir: join(config.dataDir, 'jobs'),
        inputsFolder: this.inputsFolder,
        webhookUrl: config.jobs.webhookUrl,
        saveProofs: config.jobs.saveProofs
      },
      metricsRegistry: this.registry
    })
    await this.statusProtocol.start()
    await this.capacityPull.start()
    this.warmUpPull.start()
    await this.workerService.start()
    this.discoveryDialer.start()
    reachable.start()
    await this.capacityService.start()
    await this.jobService.start()
    this.log.info(
      {
        peer: host.peerId.toString(),
        addrs: host.getMultiaddrs().map(String),
        private: swarmKey !== undefined
      },
      'node started'
    )
    if (this.init.api !== false) {
      const token = await loadOrCreateApiToken(config.dataDir)
      this.api = new HttpApi(this, {
        host: config.api.host,
        port: config.api.port,
        token,
        rotateToken: () => writeNewApiToken(config.dataDir),
        logger: this.init.logger
      })
      await this.api.start()
      await writeApiAddress(config.dataDir, {
        url: this.api.url,
        pid: process.pid,
        peerId: host.peerId.toString()
      })
    }
  }

  async stop(): Promise<void> {
    if (this.api !== undefined) {
      await removeApiAddress(this.config.dataDir)
      await this.api.stop()
      this.api = undefined
    }
    await this.jobService?.stop()
    this.jobService = undefined
    await this.workerService?.stop()
    this.workerService = undefined
    this.leaseBook?.removeEventListener('changed', this.onLeasesChanged)
    this.warmUpPull?.stop()
    this.warmUpPull = undefined
    this.discoveryDialer?.stop()
    await this.capacityService?.stop()
    this.reachablePeers?.stop()
    await this.capacityPull?.stop()
    this.capacityPull = undefined
    await this.statusProtocol?.stop()
    await this.host?.stop()
    this.host = undefined
    if (this.proverBackend instanceof ProverSupervisor) {
      for (const event of PROVER_STATE_EVENTS)
        this.proverBackend.removeEventListener(event, this.onProverChanged)
    }
    await this.proverBackend?.stop()
    this.proverBackend = undefined
    this.journalStore?.close()
    this.journalStore = undefined
    this.log.info('node stopped')
  }

  /** The peer key, the journal (its leases of a killed run ended) and the started libp2p host */
  private async openNode(
    bans: PeerBans
  ): Promise<{ host: ProofmeshHost; journal: Journal; swarmKey?: Uint8Array }> {
    const { config } = this
    const privateKey = await loadOrCreatePeerKey(config.dataDir)
    const swarmKey = config.net.swarmKey === '' ? undefined : await readSwarmKey(config.net.swarmKey)
    const journal = Journal.open(join(config.dataDir, 'journal.sqlite'))
    this.journalStore = journal
    // Leases a killed daemon left open are over: their job streams died with it
    const stale = journal.endOpenLeases('the daemon restarted')
    if (stale > 0) this.log.info({ leases: stale }, 'leases of a previous run ended')
    const host = await createHost({
      privateKey,
      listen: config.net.listen,
      announce: config.net.announce,
      bootstrap: config.net.bootstrap,
      swarmKey,
      maxConnections: config.net.maxConnections,
      inboundConnectionThreshold: config.net.inboundConnectionThreshold,
      dht: config.net.dht,
      dhtProtocol: config.net.dhtProtocol,
      denyPeers: config.security.denyPeers,
      bans,
      logger: this.init.logger,
      metricsRegistry: this.registry
    })
    this.host = host
    return { host, journal, swarmKey }
  }

  /**
   * A daemon without a working prover still relays gossip and answers status, so a missing or broken prover is
   * a loud warning with the fix, not a failed start; its advert then names no prover and no programs.
   */
  private async startProver(): Promise<ProverBackend | undefined> {
    const { prover } = this.config
    await recordProverSettings(this.config.dataDir, prover)
    const backend = createProverBackend(
      {
        backend: prover.backend,
        command: prover.command,
        nice: prover.nice,
        cli:
          prover.backend === 'cli'
            ? { prove: prover.cliProve, verify: prover.cliVerify, program: prover.cliProgram }
            : undefined,
        callTimeoutMs: prover.callTimeoutMs,
        pingIntervalMs: prover.pingIntervalMs,
        pingTimeoutMs: prover.pingTimeoutMs
      },
      { logger: this.init.logger }
    )
    try {
      await backend.start()
    } catch (err) {
      // a prover of another NPP version was built by someone else: building the reference one is no advice for it
      const advice =
        err instanceof ProverProtocolError
          ? 'its author must make it speak this protocol (protocols/native-prover.md)'
          : 'check prover.command; for the reference prover run `npm run build:native`'
      this.log.warn(
        { err, command: prover.command },
        `the prover did not start; this node offers no proving (${advice})`
      )
      await Promise.resolve(backend.stop()).catch(() => undefined)
      return undefined
    }
    if (backend instanceof ProverSupervisor) {
      for (const event of PROVER_STATE_EVENTS) backend.addEventListener(event, this.onProverChanged)
    }
    return backend
  }

  /** False while the prover is down (restarting, given up on); a daemon without one has nothing to restart */
  private proverReady(): boolean {
    return this.proverBackend?.ready ?? true
  }

  /** Path-mode inputs are names inside this folder */
  get inputsFolder(): string {
    return this.config.inputs.folder === '' ? join(this.config.dataDir, 'inputs') : this.config.inputs.folder
  }

  /** Peers a submitter may lease segments from (npp): this daemon when its prover is one, and such table peers */
  candidates(): Candidate[] {
    return this.candidatesOf('npp')
  }

  /** Peers that prove whole jobs only (cli): this daemon when its prover is one, and such table peers */
  wholeCandidates(): Candidate[] {
    return this.candidatesOf('cli')
  }

  /** The fresh peers whose advert names this prover backend (an older peer's empty one is npp), self included */
  private candidatesOf(backend: ProverBackendKind): Candidate[] {
    const host = this.node
    const own = this.proverBackend
    const self: Candidate[] =
      own?.kind !== backend || this.leaseBook === undefined
        ? []
        : [
            {
              peerId: host.peerId.toString(),
              local: true,
              addrs: [],
              programs: own.info.programs.map((program) => program.id),
              unitsTotal: this.capacity.units().total,
              unitsFree: this.leaseBook.free()
            }
          ]
    const connections = connectionsByPeer(host)
    const provers = this.capacity.peers.list().filter((entry) => advertBackend(entry.advert) === backend)
    const others = provers.map((entry): Candidate => {
      const connection = connections.get(entry.peerId)
      return {
        peerId: entry.peerId,
        local: false,
        addrs: entry.advert.addrs,
        programs: entry.advert.programs,
        unitsTotal: entry.advert.unitsTotal,
        unitsFree: entry.advert.unitsFree,
        rttMs: connection?.rtt
      }
    })
    return [...self, ...others]
  }

  peerStatus(): PeerStatus {
    const host = this.node
    return {
      version: PROOFMESH_VERSION,
      peerId: host.peerId.toString(),
      uptimeMs: BigInt(Date.now() - this.startedAt),
      addrs: host.getMultiaddrs().map(String),
      capacity: new Uint8Array(encodeAdvert(this.capacity.currentAdvert())),
      activeJobs: this.init.workload?.activeJobs() ?? 0,
      connectedPeers: host.getPeers().length,
      knownPeers: this.capacity.peers.size,
      topicPeers: host.services.pubsub.getSubscribers(this.capacity.topic).length
    }
  }

  health(): { ok: true; peerId: string; version: string } {
    return { ok: true, peerId: this.node.peerId.toString(), version: PROOFMESH_VERSION }
  }

  status(): StatusJson {
    return statusToJson(this.peerStatus())
  }

  peers(): PeerRow[] {
    const host = this.node
    const now = Date.now()
    const connections = connectionsByPeer(host)
    return this.capacity.peers.list().map((entry) => {
      const capacity = advertToJson(entry.advert)
      const connection = connections.get(entry.peerId)
      return {
        peerId: entry.peerId,
        connected: connection !== undefined,
        address: dialableAddress(capacity.addrs) ?? connection?.remoteAddr.toString() ?? null,
        lastSeen: new Date(entry.receivedAt).toISOString(),
        listedSince: new Date(entry.listedAt).toISOString(),
        ageMs: now - entry.receivedAt,
        capacity
      }
    })
  }

  async metrics(): Promise<{ contentType: string; body: string }> {
    if (this.registry === undefined) return { contentType: 'text/plain', body: '' }
    return { contentType: this.registry.contentType, body: await this.registry.metrics() }
  }
}

/** One open connection per connected peer, by peer id: one pass, where a lookup per table entry was quadratic */
function connectionsByPeer(host: ProofmeshHost): Map<string, Connection> {
  const byPeer = new Map<string, Connection>()
  for (const connection of host.getConnections()) {
    const peer = connection.remotePeer.toString()
    if (!byPeer.has(peer)) byPeer.set(peer, connection)
  }
  return byPeer
}
