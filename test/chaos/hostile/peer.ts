/**
 * Hand-written attacking libp2p clients: a real host (our own transport, encryption, muxer, gossipsub) driven by
 * the test to do what an honest daemon never does: relay gossip messages it forged in other keys' names, publish
 * what it likes, serve a protocol by stalling.
 */
import { randomBytes } from 'node:crypto'
import { generateKeyPair, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import type { GossipSub } from '@libp2p/gossipsub'
import type { RPC } from '@libp2p/gossipsub/message'
import { RPC as RpcCodec } from '@libp2p/gossipsub/message'
import type { Connection, PeerId, PrivateKey, Stream } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr'
import { CapacityAdvert } from '../../../protocols/capacity/pb/capacity.js'
import { capacityTopic } from '../../../src/capacity/constants.js'
import { createLogger } from '../../../src/log/index.js'
import { createHost, type ProofmeshHost } from '../../../src/net/host.js'
import type { PeerBans } from '../../../src/net/peer-bans.js'
import { JOB_PROTOCOL } from '../../../protocols/job/constants.js'
import { makeAdvert } from '../../helpers/adverts.js'

const silent = createLogger({ level: 'silent' })

export interface AttackerInit {
  /** The attacker's own key; a fresh one by default */
  privateKey?: PrivateKey
  /** Peers the attacker itself refuses (to keep a victim from reaching it directly) */
  bans?: PeerBans
}

/** A libp2p host listening on 127.0.0.1, no DHT, logs off */
export async function attackerHost(init: AttackerInit = {}): Promise<ProofmeshHost> {
  return createHost({
    privateKey: init.privateKey ?? (await generateKeyPair('Ed25519')),
    listen: ['/ip4/127.0.0.1/tcp/0'],
    dht: false,
    bans: init.bans,
    logger: silent
  })
}

/** Dials `target` and waits until gossipsub has a stream to it on the capacity topic, for at most `timeoutMs` */
export async function joinTopic(
  host: ProofmeshHost,
  target: Multiaddr | string,
  timeoutMs = 15_000
): Promise<PeerId> {
  const connection = await host.dial(typeof target === 'string' ? multiaddr(target) : target, {
    signal: AbortSignal.timeout(timeoutMs)
  })
  const peer = connection.remotePeer
  const topic = capacityTopic()
  host.services.pubsub.subscribe(topic)
  const deadline = Date.now() + timeoutMs
  while (!host.services.pubsub.getSubscribers(topic).some((subscriber) => subscriber.equals(peer))) {
    if (Date.now() > deadline) throw new Error(`${peer.toString()} never showed up on ${topic}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return peer
}

const SIGN_PREFIX = new TextEncoder().encode('libp2p-pubsub:')

/** A gossipsub message on the capacity topic signed by `key`, as its author would publish it (StrictSign) */
export async function signedMessage(key: PrivateKey, data: Uint8Array): Promise<RPC.Message> {
  const unsigned: RPC.Message = {
    from: peerIdFromPrivateKey(key).toMultihash().bytes,
    data,
    seqno: randomBytes(8),
    topic: capacityTopic()
  }
  const signed = new Uint8Array([...SIGN_PREFIX, ...RpcCodec.Message.encode(unsigned)])
  return { ...unsigned, signature: await key.sign(signed), key: publicKeyToProtobuf(key.publicKey) }
}

/**
 * Sends messages to `to` as if relaying them: gossipsub's own RPC stream, by its internal sendRpc (a relay
 * forwards others' messages unchanged, so nothing here is checked by the sender). True when it went out.
 */
export function relay(
  host: { services: { pubsub: GossipSub } },
  to: PeerId,
  messages: RPC.Message[]
): boolean {
  const pubsub = host.services.pubsub as unknown as { sendRpc(id: string, rpc: RPC): boolean }
  return pubsub.sendRpc(to.toString(), { subscriptions: [], messages })
}

/** `count` fresh keys, each with one signed advert made by `advert(peerId)` */
export async function sybilMessages(
  count: number,
  advert: (peerId: PeerId) => Uint8Array
): Promise<Array<{ peerId: PeerId; message: RPC.Message }>> {
  const out: Array<{ peerId: PeerId; message: RPC.Message }> = []
  for (let i = 0; i < count; i++) {
    const key = await generateKeyPair('Ed25519')
    const peerId = peerIdFromPrivateKey(key)
    out.push({ peerId, message: await signedMessage(key, advert(peerId)) })
    // let sockets and timers be served meanwhile: 10,000 keys take seconds (an HTTP client kept alive over a
    // loop that never yields finds its connection closed under it)
    if (i % 100 === 99) await new Promise((resolve) => setImmediate(resolve))
  }
  return out
}

/** How a fake peer serves one protocol */
export type ProtocolHandler = (stream: Stream, connection: Connection) => void

export interface FakePeerInit {
  /** The daemon it connects to and advertises through */
  target: string
  /** What it advertises; seq, time and its own addresses are filled in */
  advert: Partial<CapacityAdvert>
  /** How often it advertises (the daemons' advert interval) */
  intervalMs: number
  /**
   * The protocols it serves and how (test/chaos/hostile/worker.ts); none = the job protocol only, every stream
   * taken and never answered
   */
  handlers?: Record<string, ProtocolHandler>
}

/**
 * A peer that exists (it listens, passes every reachability check, answers identify) and lies: it advertises what
 * it is told to (1,000,000 free units, say) and serves its protocols as it is told to, by default taking job
 * streams without ever answering them, until the submitter gives up on it.
 */
export class FakePeer {
  readonly host: ProofmeshHost
  private readonly init: FakePeerInit
  private timer?: NodeJS.Timeout
  private seq = BigInt(Date.now())
  /** Job streams it took and never answered */
  stalled = 0

  private constructor(host: ProofmeshHost, init: FakePeerInit) {
    this.host = host
    this.init = init
  }

  static async start(init: FakePeerInit): Promise<FakePeer> {
    const fake = new FakePeer(await attackerHost(), init)
    const handlers = init.handlers ?? {
      [JOB_PROTOCOL]: (stream: Stream) => {
        fake.stalled++
        // read nothing, answer nothing; the stream ends when the submitter aborts it
        stream.addEventListener('close', () => undefined)
      }
    }
    for (const [protocol, handler] of Object.entries(handlers))
      await fake.host.handle(protocol, handler, { maxInboundStreams: 1_024 })
    await joinTopic(fake.host, init.target)
    fake.timer = setInterval(() => void fake.advertise(), init.intervalMs)
    await fake.advertise()
    return fake
  }

  async stop(): Promise<void> {
    clearInterval(this.timer)
    await this.host.stop()
  }

  private async advertise(): Promise<void> {
    this.seq++
    const advert = makeAdvert({
      ...this.init.advert,
      seq: this.seq,
      timestampMs: BigInt(Date.now()),
      addrs: this.host.getMultiaddrs().map((addr) => addr.bytes)
    })
    await this.host.services.pubsub
      .publish(capacityTopic(), CapacityAdvert.encode(advert))
      .catch(() => undefined)
  }
}
