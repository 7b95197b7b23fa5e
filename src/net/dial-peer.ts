import type { PeerId, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr'
import { nameTimeout } from './deadline.js'
import { toError } from './framed-stream.js'
import { DIAL_LIMITS } from './host.js'

/** What dialing a peer by id needs of the libp2p node */
export interface DialComponents {
  dialProtocol(peer: PeerId | Multiaddr, protocol: string, options: { signal: AbortSignal }): Promise<Stream>
  peerStore: { merge(peerId: PeerId, data: { multiaddrs: Multiaddr[] }): Promise<unknown> }
}

/**
 * Opens `protocol` to a peer named by id, teaching the peer store the addresses we were given for it first (those
 * of its capacity advert, or the ones a FetchProof passes along); addresses that do not parse are skipped
 */
export async function dialPeer(
  components: DialComponents,
  peer: { peerId: string; addrs: Uint8Array[] },
  protocol: string,
  signal: AbortSignal
): Promise<Stream> {
  const peerId = peerIdFromString(peer.peerId)
  if (peer.addrs.length > 0) {
    const multiaddrs = peer.addrs.flatMap((bytes) => {
      try {
        return [multiaddr(bytes)]
      } catch {
        return []
      }
    })
    await components.peerStore.merge(peerId, { multiaddrs }).catch(() => undefined)
  }
  try {
    return await components.dialProtocol(peerId, protocol, { signal })
  } catch (err) {
    // our own signal's reason names itself; a timeout inside libp2p does not
    throw nameTimeout(toError(err), `opening ${protocol} to peer ${peer.peerId}`, DIAL_LIMITS)
  }
}
