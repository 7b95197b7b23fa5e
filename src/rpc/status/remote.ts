import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import type { Logger } from '../../log/index.js'
import { deadline } from '../../net/deadline.js'
import { createHost } from '../../net/host.js'
import type { PeerStatus } from './status.js'
import { StatusProtocol } from './status.js'

export interface RemoteStatusOptions {
  /** The remote peer's multiaddr, with /p2p/<peer id> */
  peer: string
  /** Needed to reach a private network */
  swarmKey?: Uint8Array
  logger: Logger
  timeoutMs?: number
}

/**
 * Asks any peer for its status from a short-lived client node: a throwaway key, no listen address, no DHT,
 * so querying leaves no trace in the network beyond one connection.
 */
export async function requestRemoteStatus(options: RemoteStatusOptions): Promise<PeerStatus> {
  const target = multiaddr(options.peer)
  if (target.getComponents().find((component) => component.name === 'p2p') === undefined) {
    throw new Error(`${options.peer} names no peer id: add /p2p/<peer id>`)
  }
  const host = await createHost({
    privateKey: await generateKeyPair('Ed25519'),
    listen: [],
    dht: false,
    swarmKey: options.swarmKey,
    logger: options.logger
  })
  try {
    const protocol = new StatusProtocol(host, {
      logger: options.logger,
      getStatus: () => {
        throw new Error('a client serves no status')
      }
    })
    const timeoutMs = options.timeoutMs ?? 10_000
    return await protocol.request(target, {
      signal: deadline(`the status request to ${target.toString()}`, timeoutMs)
    })
  } finally {
    await host.stop()
  }
}
