import type { Connection, PeerId, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** What a request/response protocol needs of the libp2p node: its handler registered, and streams to peers */
export interface ProtocolComponents {
  handle(
    protocol: string,
    handler: (stream: Stream, connection: Connection) => void | Promise<void>,
    options: { maxInboundStreams: number; maxOutboundStreams: number }
  ): Promise<void>
  unhandle(protocol: string): Promise<void>
  dialProtocol(peer: PeerId | Multiaddr, protocol: string, options: { signal: AbortSignal }): Promise<Stream>
}
