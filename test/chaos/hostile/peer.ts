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
import type { PeerId, PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr'
import { capacityTopic } from '../../../src/capacity/constants.js'
import { createLogger } from '../../../src/log/index.js'
import { createHost, type ProofmeshHost } from '../../../src/net/host.js'
import type { PeerBans } from '../../../src/net/peer-bans.js'

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
  }
  return out
}
