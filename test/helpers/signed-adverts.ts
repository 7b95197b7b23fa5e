import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { RPC } from '@libp2p/gossipsub/message'
import { concat } from 'uint8arrays/concat'
import { fromString } from 'uint8arrays/from-string'
import type { SignedAdvert } from '../../src/capacity/signed-advert.js'

/**
 * Signs `data` as gossipsub's StrictSign publishes on `topic` (the pubsub spec: "libp2p-pubsub:" and the message
 * without signature and key), for tests that need adverts signed by keys of their own
 */
export async function signAdvert(
  key: PrivateKey,
  data: Uint8Array,
  topic: string,
  seq = BigInt(Date.now()) * 1_000_000n
): Promise<SignedAdvert> {
  const from = peerIdFromPrivateKey(key).toMultihash().bytes
  const seqno = new Uint8Array(8)
  new DataView(seqno.buffer).setBigUint64(0, seq, false)
  const body = new Uint8Array(data)
  const signature = await key.sign(
    concat([fromString('libp2p-pubsub:'), RPC.Message.encode({ from, data: body, seqno, topic })])
  )
  return { from, data: body, seqno, signature: new Uint8Array(signature), key: new Uint8Array() }
}

export async function newKey(): Promise<PrivateKey> {
  return generateKeyPair('Ed25519')
}
