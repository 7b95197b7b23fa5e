import type { SignedMessage } from '@libp2p/gossipsub'
import { RPC } from '@libp2p/gossipsub/message'
import { publicKeyFromProtobuf, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PeerId, PublicKey } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { concat } from 'uint8arrays/concat'
import { fromString } from 'uint8arrays/from-string'
import { toString } from 'uint8arrays/to-string'
import type { SignedAdvert } from '../../protocols/capacity/pb/pull.js'

export type { SignedAdvert } from '../../protocols/capacity/pb/pull.js'

/** gossipsub signs "libp2p-pubsub:" followed by the message's protobuf without its signature and key */
const SIGN_PREFIX = fromString('libp2p-pubsub:')

/** gossipsub's sequence numbers are 8 bytes, big-endian */
const SEQNO_BYTES = 8

/** Why a signed advert handed to us by a peer is not its origin's: the peer that handed it over lied */
export class SignedAdvertError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'SignedAdvertError'
  }
}

/**
 * The envelope gossipsub verified (StrictSign), kept so that the advert can be handed on and verified again by a
 * peer that did not receive it over gossip. The key goes along only when the peer id does not embed it (Ed25519 and
 * secp256k1 ids do): ~64 bytes of signature, 8 of sequence number and the id's ~38 beside the advert's own bytes.
 */
export function signedAdvertOf(message: SignedMessage): SignedAdvert {
  const seqno = new Uint8Array(SEQNO_BYTES)
  new DataView(seqno.buffer).setBigUint64(0, BigInt.asUintN(64, message.sequenceNumber), false)
  return {
    from: message.from.toMultihash().bytes,
    data: new Uint8Array(message.data),
    seqno,
    signature: new Uint8Array(message.signature),
    key:
      message.from.publicKey === undefined
        ? (publicKeyToProtobuf(message.key) as Uint8Array<ArrayBuffer>)
        : new Uint8Array()
  }
}

/**
 * Checks that `advert` is what its origin published on `topic`: `from` is a peer id, the key (given, or the one the
 * id embeds) is that peer's, and the signature is the key's over the same bytes gossipsub signs. Returns the
 * origin; throws SignedAdvertError otherwise. Nothing else is checked here: the advert itself goes through
 * AdvertIntake like one from gossip.
 */
export async function verifySignedAdvert(advert: SignedAdvert, topic: string): Promise<PeerId> {
  let origin: PeerId
  try {
    origin = peerIdFromString(toString(advert.from, 'base58btc'))
  } catch {
    throw new SignedAdvertError('its from is not a peer id')
  }
  if (advert.seqno.byteLength !== SEQNO_BYTES) throw new SignedAdvertError('its seqno is not 8 bytes')
  let key: PublicKey | undefined = origin.publicKey
  if (advert.key.byteLength > 0) {
    try {
      key = publicKeyFromProtobuf(advert.key)
    } catch {
      throw new SignedAdvertError('its key does not decode')
    }
    if (!origin.equals(key.toMultihash().bytes)) {
      throw new SignedAdvertError('its key is not the key of its from')
    }
  }
  if (key === undefined) throw new SignedAdvertError('no key: its from does not embed one and none was given')
  const signed = concat([
    SIGN_PREFIX,
    RPC.Message.encode({ from: advert.from, data: advert.data, seqno: advert.seqno, topic })
  ])
  let valid: boolean
  try {
    valid = await key.verify(signed, advert.signature)
  } catch {
    valid = false
  }
  if (!valid) throw new SignedAdvertError(`its signature is not ${origin.toString()}'s`)
  return origin
}
