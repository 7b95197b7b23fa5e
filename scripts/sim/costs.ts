import { generateKeyPair } from '@libp2p/crypto/keys'
import { fastMessageId } from '../../src/net/host.js'

/** What one gossip message costs a peer, measured on this machine when the simulation starts */
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

export async function measureCosts(advert: Uint8Array): Promise<MessageCosts> {
  const key = await generateKeyPair('Ed25519')
  const signature = await key.sign(advert)
  const started = performance.now()
  for (let i = 0; i < SAMPLES; i++) await key.publicKey.verify(advert, signature)
  const verifyMs = (performance.now() - started) / SAMPLES
  const message = {
    from: key.publicKey.toMultihash().bytes,
    seqno: new Uint8Array(8),
    data: advert,
    signature,
    topic: 'proofmesh/capacity/2'
  }
  const hashed = performance.now()
  for (let i = 0; i < SAMPLES; i++) fastMessageId(message)
  const duplicateMs = (performance.now() - hashed) / SAMPLES
  return { verifyMs, duplicateMs, overheadBytes: 38 + 8 + 20 + 64 + 10 + 4 + 12 + 18 }
}
