import { createHash } from 'node:crypto'
import { bootstrap } from '@libp2p/bootstrap'
import { type GossipSub, gossipsub } from '@libp2p/gossipsub'
import { type Identify, identify } from '@libp2p/identify'
import type { ConnectionGater, PeerId, PrivateKey } from '@libp2p/interface'
import { type KadDHT, kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { noise } from '@libp2p/noise'
import { type Ping, ping } from '@libp2p/ping'
import { prometheusMetrics } from '@libp2p/prometheus-metrics'
import { tcp } from '@libp2p/tcp'
import { yamux, type YamuxMuxerInit } from '@libp2p/yamux'
import { createLibp2p, type Libp2p } from 'libp2p'
import type { Registry } from 'prom-client'
import { capacityTopic } from '../capacity/constants.js'
import { GOSSIP_HEARTBEAT_MS, topicScoreParams } from '../capacity/gossip-score.js'
import type { Logger } from '../log/index.js'
import { AGENT_VERSION, PROOFMESH_VERSION } from '../version.js'
import { InboundGuard, inboundGuardDefaults } from './inbound-guard.js'
import { pinoComponentLogger } from './libp2p-logger.js'
import type { PeerBans } from './peer-bans.js'
import { privateNetwork } from './private-network.js'
import { deferYamuxWindowUpdates } from './yamux-window.js'

export type HostServices = {
  identify: Identify
  ping: Ping
  pubsub: GossipSub
  dht?: KadDHT
}

export type ProofmeshHost = Libp2p<HostServices>

export interface HostInit {
  privateKey: PrivateKey
  listen: string[]
  announce?: string[]
  bootstrap?: string[]
  /** The 32-byte pre-shared key of a private network (readSwarmKey); none = the public network */
  swarmKey?: Uint8Array
  maxConnections?: number
  inboundConnectionThreshold?: number
  dht?: boolean
  dhtProtocol?: string
  logger: Logger
  /** Each host registers its metrics here; none = no metrics (several hosts in one process share nothing) */
  metricsRegistry?: Registry
  /** Stream muxer settings (windows, message size); none = hostDefaults.yamux (test/bench/inputs-throughput) */
  yamux?: YamuxMuxerInit
  /** Peer ids never dialled nor accepted (security.deny_peers) */
  denyPeers?: string[]
  /** Peers refused for a while for what they did (graylisted gossip senders); none = no bans */
  bans?: PeerBans
  /** Inbound handshakes in progress at once, in all and from one address (inbound-guard.ts) */
  maxPendingInbound?: number
  maxPendingInboundPerAddress?: number
}

export const hostDefaults = {
  maxConnections: 300,
  maxPendingInbound: inboundGuardDefaults.maxPending,
  maxPendingInboundPerAddress: inboundGuardDefaults.maxPendingPerAddress,
  // libp2p accepts 5 inbound connections per second per IP by default; many provers behind one NAT
  // (or a local testnet) need far more.
  inboundConnectionThreshold: 100,
  dhtProtocol: '/proofmesh/kad/1.0.0',
  // A whole RPC frame from a gossip peer; adverts are capped at 8 KiB each, a frame may batch several.
  gossipMaxInboundDataLength: 1024 * 1024,
  // kad-dht asks 10 peers at once on each of 10 disjoint paths by default: in a network of tens of nodes one
  // query dials nearly everyone, and each of those connections stays open. Kademlia's own 3 (one path of 3)
  // finds the same peers a few round trips later.
  dhtAlpha: 3,
  // yamux grants a stream window as soon as data arrives, not when the reader takes it, and doubles it up to
  // this size: a paused stream can still have this much coming. @libp2p/yamux's 16 MiB made a peer receiving a
  // slice grow by 73-107 MiB; 4 MiB keeps it under 64 MB at the same loopback speed (test/bench/rss-stream and
  // inputs-throughput). The cost is on long links: one stream carries at most 4 MiB per round trip (40 MiB/s
  // at 100 ms).
  //
  // yamux also pings every connection each 30 s, only to learn the round-trip time by which it decides to grow a
  // stream's window (a failed ping closes nothing). The connection monitor below already pings each connection for
  // liveness; yamux's first ping (at connect) gives the round-trip time, and refreshing it each 5 min instead of
  // each 30 s spares an idle daemon among 16 connections ~2 of its ~35 packets a second.
  yamux: {
    keepAliveInterval: 300_000,
    streamOptions: { maxStreamWindowSize: 4 * 1024 * 1024 }
  } satisfies YamuxMuxerInit,
  // libp2p's own defaults, set here so that a timeout's error can name them: a connection (every address tried,
  // the handshake done) and agreeing on a new stream's protocol
  dialTimeoutMs: 10_000,
  protocolNegotiationTimeoutMs: 10_000,
  // libp2p pings every connection each 10 s and aborts it when a ping is unanswered after 5 s at the least: a
  // peer starved of CPU for 5 s (a saturated host, measured in test/e2e/busy-peers) lost every connection, and
  // with them its job streams, although it was alive. Jobs detect frozen peers themselves (jobs.peer_timeout,
  // counted in time this daemon ran); this monitor only has to clear connections that are truly dead (a cut
  // link), so it waits 30 s for an answer. For the same reason it need not ping often: each ping is a new stream
  // (negotiation, a peer-store update on both sides, a yamux window update per frame), and at libp2p's 10 s an idle
  // daemon among 24 peers spent 5-6% of its CPU on them (a CPU profile, test/bench/gossip-processes). Once a minute,
  // a dead link is cleared within 90 s; the round-trip times that rank candidates (job/link.ts) age that much.
  connectionMonitor: { pingInterval: 60_000, pingTimeout: { minTimeout: 30_000, maxTimeout: 60_000 } }
}

/** libp2p's limits on a dial, in words, for errors about a dial that ran out of time */
export const DIAL_LIMITS = `libp2p gives a connection ${hostDefaults.dialTimeoutMs / 1000} s and a stream's protocol negotiation ${hostDefaults.protocolNegotiationTimeoutMs / 1000} s`

/**
 * PROOFMESH_TEST_IDLE_DHT_CONNECTIONS=keep restores the connection settings from before idle DHT connections were
 * closed (kad-dht's default query width, its keep-alive tags, no idle-connection trimming in the DiscoveryDialer),
 * so that test/bench/gossip-processes can measure both in one run. Not a setting: benchmarks only.
 */
export function keepIdleDhtConnections(): boolean {
  return process.env.PROOFMESH_TEST_IDLE_DHT_CONNECTIONS === 'keep'
}

export function fastMessageId(message: {
  from?: Uint8Array
  seqno?: Uint8Array
  data?: Uint8Array
  signature?: Uint8Array
  topic: string
}): string {
  const hash = createHash('sha256').update(message.topic)
  for (const field of [message.from, message.seqno, message.data, message.signature]) {
    hash.update(Uint32Array.of(field?.byteLength ?? 0)).update(field ?? new Uint8Array(0))
  }
  return hash.digest('base64')
}

export interface GaterInit {
  /** security.deny_peers: never connected */
  denyPeers: readonly string[]
  /** Peers refused for a while */
  bans?: PeerBans
  /** Inbound handshakes in progress, bounded per address and in all */
  inbound?: InboundGuard
  logger: Logger
}

/**
 * Keeps denied and banned peers off this host: no dial to them, and no connection either way once the handshake
 * has told us who the remote is (an inbound connection's peer id is known only after encryption). Inbound
 * connections take a handshake slot of the InboundGuard from their first byte until they are upgraded.
 */
export function connectionGater(init: GaterInit): ConnectionGater {
  const denied = new Set(init.denyPeers)
  const log = init.logger.child({ component: 'gater' })
  const deny = (peerId: PeerId, what: string): boolean => {
    const id = peerId.toString()
    if (denied.has(id)) {
      log.debug({ peer: id }, `${what} refused: the peer is on security.deny_peers`)
      return true
    }
    if (init.bans?.isBanned(id) === true) {
      log.debug({ peer: id }, `${what} refused: the peer is banned for a while`)
      return true
    }
    return false
  }
  return {
    denyDialPeer: (peerId) => deny(peerId, 'dial'),
    denyInboundConnection: (connection) => init.inbound?.refuse(connection) ?? false,
    denyOutboundConnection: (peerId) => deny(peerId, 'outbound connection'),
    denyInboundEncryptedConnection: (peerId) => deny(peerId, 'inbound connection'),
    denyOutboundEncryptedConnection: (peerId) => deny(peerId, 'outbound connection'),
    denyInboundUpgradedConnection: (_peerId, connection) => {
      init.inbound?.settled(connection)
      return false
    }
  }
}

export async function createHost(init: HostInit): Promise<ProofmeshHost> {
  deferYamuxWindowUpdates()
  const maxConnections = init.maxConnections ?? hostDefaults.maxConnections
  const maxPending = init.maxPendingInbound ?? hostDefaults.maxPendingInbound
  const inbound = new InboundGuard({
    maxPending,
    maxPendingPerAddress: init.maxPendingInboundPerAddress ?? hostDefaults.maxPendingInboundPerAddress,
    logger: init.logger
  })
  if (init.metricsRegistry !== undefined) inbound.registerMetrics(init.metricsRegistry)
  const services = {
    identify: identify(),
    ping: ping(),
    pubsub: gossipsub({
      // Adverts are published on a timer from the first second; a lone node must not throw.
      allowPublishToZeroTopicPeers: true,
      heartbeatInterval: GOSSIP_HEARTBEAT_MS,
      // gossipsub's own mesh degrees (D 6, 4 to 12) are kept. A mesh of 3 to 6 (D 4) cut an idle daemon's I/O by
      // ~30% among 20 daemons but not its CPU (1.3% against main's 1.2%, both networks run at once), and the
      // simulator at 10,000 peers (--mesh-degree 4) shrank tables from 81 to 52 peers: 2 of 40 jobs of 64 units not
      // gathered, p95 5.0 s instead of 1.06 s, 6.1% stale refusals instead of 2.4%.
      // gossipsub hands a peer's own messages to every topic peer by default (flood publish), and each that accepts
      // one forwards it to its mesh, where most already had it: an idle daemon among 14 received each advert ~4
      // times. Published to the mesh (6) instead, those forward it as before and the origin's other neighbours get it
      // relayed (listed, not forwarded: intake.ts); every table still held all 13 others, and the daemon decrypted
      // 26 Noise packets a second instead of 37, 3.6 KiB/s of gossip instead of 5.4 (/metrics over 30 s).
      floodPublish: false,
      globalSignaturePolicy: 'StrictSign',
      emitSelf: false,
      maxInboundDataLength: hostDefaults.gossipMaxInboundDataLength,
      // gossipsub penalises more than 10 peers sharing one IP, quadratically: on a local testnet, behind a NAT
      // or in a Kubernetes node, peers fall below the graylist threshold and adverts stop flowing. Provers are
      // few and often colocated; Sybil resistance here comes from the swarm key and allow-lists instead.
      scoreParams: { IPColocationFactorWeight: 0, topics: topicScoreParams() },
      // Subscriptions and messages of any other topic are dropped unread: a peer cannot make us track topics
      allowedTopics: [capacityTopic()],
      // One peer's RPCs and messages are handled one at a time, so that a flood from one peer queues behind its
      // own validations (which let the event loop run: capacity/service.ts) instead of being verified all at
      // once, and stops when the peer is banned
      awaitRpcHandler: true,
      awaitRpcMessageHandler: true,
      // Without a fast id, gossipsub verifies the signature of every copy of a message before it notices the
      // copy is a duplicate: with mesh degree 6 that is most of a node's CPU. The hash covers every field, so a
      // forged copy never shares an id with the real message.
      fastMsgIdFn: fastMessageId
    }),
    ...(init.dht === false
      ? {}
      : {
          dht: kadDHT({
            protocol: init.dhtProtocol ?? hostDefaults.dhtProtocol,
            clientMode: false,
            // The default mapper drops private addresses, which leaves the routing table empty on a LAN
            // or loopback; provers usually sit on private networks.
            peerInfoMapper: passthroughMapper,
            // A proving network has tens to hundreds of peers, not the IPFS DHT's millions. Buckets of 20 left each
            // node of a 60-node network holding ~34 connections, mostly idle leftovers of DHT queries that gossip
            // then fans out to; buckets of 8 halve the start-up cost (test/bench/gossip-convergence).
            kBucketSize: 8,
            ...(keepIdleDhtConnections() ? {} : { alpha: hostDefaults.dhtAlpha, disjointPaths: 1 })
          })
        })
  }
  return createLibp2p<HostServices>({
    privateKey: init.privateKey,
    nodeInfo: { name: 'proofmesh', version: PROOFMESH_VERSION, userAgent: AGENT_VERSION },
    addresses: { listen: init.listen, announce: init.announce ?? [] },
    // The socket cap bounds file descriptors whatever arrives: every connection libp2p may keep, plus the
    // handshakes the InboundGuard allows and as many again being torn down after an eviction
    transports: [tcp({ maxConnections: maxConnections + 2 * maxPending })],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux(init.yamux ?? hostDefaults.yamux)],
    ...(init.swarmKey === undefined ? {} : { connectionProtector: privateNetwork({ key: init.swarmKey }) }),
    connectionGater: connectionGater({
      denyPeers: init.denyPeers ?? [],
      bans: init.bans,
      inbound,
      logger: init.logger
    }),
    // libp2p waits a second before dialling the bootstrap list by default; a node is useless until it joins
    peerDiscovery:
      (init.bootstrap ?? []).length > 0 ? [bootstrap({ list: init.bootstrap ?? [], timeout: 50 })] : [],
    connectionManager: {
      maxConnections,
      inboundConnectionThreshold: init.inboundConnectionThreshold ?? hostDefaults.inboundConnectionThreshold,
      // Above the InboundGuard's own limit, which evicts stalled handshakes instead of refusing newcomers;
      // libp2p's counter drops an evicted connection only once its upgrade has unwound
      maxIncomingPendingConnections: 2 * maxPending,
      dialTimeout: hostDefaults.dialTimeoutMs,
      inboundStreamProtocolNegotiationTimeout: hostDefaults.protocolNegotiationTimeoutMs,
      outboundStreamProtocolNegotiationTimeout: hostDefaults.protocolNegotiationTimeoutMs
    },
    connectionMonitor: hostDefaults.connectionMonitor,
    ...(init.metricsRegistry === undefined
      ? {}
      : { metrics: prometheusMetrics({ registry: init.metricsRegistry, collectDefaultMetrics: false }) }),
    logger: pinoComponentLogger(init.logger.child({ component: 'libp2p' })),
    services
  })
}
