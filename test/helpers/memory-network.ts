/**
 * Peers in one process without sockets: what the peer side (WorkerService) and the submitter's transport need of a
 * libp2p node (register a protocol handler, dial a peer by id for a protocol), answered with libp2p's own in-memory
 * stream pairs (`streamPair` from @libp2p/utils), so that every protocol runs its real codec over real streams.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { streamPair } from '@libp2p/utils'
import { isMultiaddr, type Multiaddr } from '@multiformats/multiaddr'

type Handler = (stream: Stream, connection: Connection) => void | Promise<void>

export class MemoryNetwork {
  private readonly nodes = new Map<string, MemoryNode>()

  /** A new peer with a fresh Ed25519 identity */
  async node(): Promise<MemoryNode> {
    const node = new MemoryNode(this, peerIdFromPrivateKey(await generateKeyPair('Ed25519')))
    this.nodes.set(node.peerId.toString(), node)
    return node
  }

  /** The node a dial names: by peer id (a multiaddr names it in its /p2p/ part) */
  find(peer: PeerId | Multiaddr): MemoryNode | undefined {
    return this.nodes.get(
      isMultiaddr(peer) ? (peer.getComponents().find((c) => c.name === 'p2p')?.value ?? '') : peer.toString()
    )
  }
}

/** One peer: its handlers, and the streams it has open (so that a test can cut them all) */
export class MemoryNode {
  readonly peerId: PeerId
  /** Addresses the dialers taught this node's peer store, by peer */
  readonly learned = new Map<string, Multiaddr[]>()
  /** Every peer this node dialled, in order */
  readonly dialled: string[] = []
  readonly peerStore = {
    merge: async (peerId: PeerId, data: { multiaddrs: Multiaddr[] }): Promise<void> => {
      this.learned.set(peerId.toString(), data.multiaddrs)
    }
  }
  private readonly network: MemoryNetwork
  private readonly handlers = new Map<string, Handler>()
  private readonly streams = new Set<Stream>()
  private cut = false

  constructor(network: MemoryNetwork, peerId: PeerId) {
    this.network = network
    this.peerId = peerId
  }

  async handle(protocol: string, handler: Handler): Promise<void> {
    this.handlers.set(protocol, handler)
  }

  async unhandle(protocol: string): Promise<void> {
    this.handlers.delete(protocol)
  }

  async dialProtocol(
    peer: PeerId | Multiaddr,
    protocol: string,
    options: { signal: AbortSignal }
  ): Promise<Stream> {
    options.signal.throwIfAborted()
    this.dialled.push(peer.toString())
    const target = this.network.find(peer)
    if (this.cut || target === undefined || target.cut) throw new Error(`no route to ${peer.toString()}`)
    const handler = target.handlers.get(protocol)
    if (handler === undefined) throw new Error(`${peer.toString()} does not speak ${protocol}`)
    const [outbound, inbound] = await streamPair({ protocol })
    this.track(outbound)
    target.track(inbound)
    // all the handler reads of the connection is who dialled
    void handler(inbound, { remotePeer: this.peerId } as unknown as Connection)
    return outbound
  }

  /** Resets every stream this node has open and refuses every dial to or from it: a peer that vanished */
  disconnect(): void {
    this.cut = true
    for (const stream of this.streams) stream.abort(new Error('the peer is gone'))
  }

  private track(stream: Stream): void {
    this.streams.add(stream)
    stream.addEventListener('close', () => this.streams.delete(stream))
  }
}
