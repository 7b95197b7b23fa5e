import type { Connection, PeerId, Startable, Stream } from '@libp2p/interface'
import { pbStream } from '@libp2p/utils'
import type { Multiaddr } from '@multiformats/multiaddr'
import { PeerStatus, StatusRequest } from '../../../protocols/status/pb/status.js'
import type { Logger } from '../../log/index.js'
import { deadline } from '../../net/deadline.js'
import type { ProtocolComponents } from '../../net/protocol-components.js'
import {
  MAX_INBOUND_STREAMS,
  MAX_OUTBOUND_STREAMS,
  MAX_STATUS_BYTES,
  STATUS_PROTOCOL,
  STATUS_TIMEOUT_MS
} from '../../../protocols/status/constants.js'

export { PeerStatus } from '../../../protocols/status/pb/status.js'

export type StatusProtocolComponents = ProtocolComponents

export interface StatusProtocolInit {
  logger: Logger
  /** The answer, built fresh for each request */
  getStatus: () => PeerStatus
  timeoutMs?: number
}

/** Peer status over /proofmesh/status/1.0.0: one request, one PeerStatus, then both sides close */
export class StatusProtocol implements Startable {
  private readonly components: StatusProtocolComponents
  private readonly log: Logger
  private readonly getStatus: () => PeerStatus
  private readonly timeoutMs: number

  constructor(components: StatusProtocolComponents, init: StatusProtocolInit) {
    this.components = components
    this.log = init.logger.child({ component: 'status' })
    this.getStatus = init.getStatus
    this.timeoutMs = init.timeoutMs ?? STATUS_TIMEOUT_MS
  }

  async start(): Promise<void> {
    await this.components.handle(STATUS_PROTOCOL, (stream, connection) => this.serve(stream, connection), {
      maxInboundStreams: MAX_INBOUND_STREAMS,
      maxOutboundStreams: MAX_OUTBOUND_STREAMS
    })
  }

  async stop(): Promise<void> {
    await this.components.unhandle(STATUS_PROTOCOL)
  }

  /** Asks a remote peer (by id, or by multiaddr with /p2p/) for its status */
  async request(peer: PeerId | Multiaddr, options: { signal?: AbortSignal } = {}): Promise<PeerStatus> {
    const signal = options.signal ?? deadline(`the status request to ${peer.toString()}`, this.timeoutMs)
    const stream = await this.components.dialProtocol(peer, STATUS_PROTOCOL, { signal })
    try {
      const messages = pbStream(stream, { maxDataLength: MAX_STATUS_BYTES })
      await messages.write({}, StatusRequest, { signal })
      const status = await messages.read(PeerStatus, { signal, limits: { addrs: 64 } })
      await stream.close({ signal })
      return status
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(String(err)))
      throw err
    }
  }

  private async serve(stream: Stream, connection: Connection): Promise<void> {
    const signal = deadline(
      `the status request from ${connection.remotePeer.toString()} and its answer`,
      this.timeoutMs
    )
    try {
      const messages = pbStream(stream, { maxDataLength: MAX_STATUS_BYTES })
      await messages.read(StatusRequest, { signal })
      await messages.write(this.getStatus(), PeerStatus, { signal })
      await stream.close({ signal })
    } catch (err) {
      this.log.debug({ err, peer: connection.remotePeer.toString() }, 'status request failed')
      stream.abort(err instanceof Error ? err : new Error(String(err)))
    }
  }
}
