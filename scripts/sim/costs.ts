import { generateKeyPair } from '@libp2p/crypto/keys'
import { fastMessageId } from '../../src/net/host.js'

/** What one gossip message costs a peer, measured (CPU time) on this machine when the simulation starts */
export interface MessageCosts {
  /** gossipsub checks the signature of a message's first copy before the validator sees it */
  verifyMs: number
  /** A later copy is recognised by its fast id (a hash over its fields) and dropped unread */
  duplicateMs: number
  /**
   * Bytes a message carries besides the advert: the signer's peer id (38), seqno (8), topic (20), signature
   * (64), their protobuf tags and lengths (~10), the RPC's frame (~4), yamux's header (12), noise's tag and
   * length (18)
   */
  overheadBytes: number
}

const SAMPLES = 300

/**
 * Milliseconds of CPU this process spent in `work`: its own time, not the wall clock's, so that other processes
 * on a busy machine do not inflate the figure
 */
export async function cpuMs(work: () => unknown): Promise<number> {
  const before = process.cpuUsage()
  await work()
  const spent = process.cpuUsage(before)
  return (spent.user + spent.system) / 1000
}

export async function measureCosts(advert: Uint8Array): Promise<MessageCosts> {
  const key = await generateKeyPair('Ed25519')
  const signature = await key.sign(advert)
  const verifyMs =
    (await cpuMs(async () => {
      for (let i = 0; i < SAMPLES; i++) await key.publicKey.verify(advert, signature)
    })) / SAMPLES
  const message = {
    from: key.publicKey.toMultihash().bytes,
    seqno: new Uint8Array(8),
    data: advert,
    signature,
    topic: 'proofmesh/capacity/2'
  }
  const duplicateMs =
    (await cpuMs(() => {
      for (let i = 0; i < SAMPLES; i++) fastMessageId(message)
    })) / SAMPLES
  return { verifyMs, duplicateMs, overheadBytes: 38 + 8 + 20 + 64 + 10 + 4 + 12 + 18 }
}
