/**
 * Every Noise frame reached the kernel as two writes: @libp2p/noise hands @libp2p/tcp each frame as a list of its
 * 2-byte length and its ciphertext, and the TCP connection's sendData writes each buffer of a list on its own. With
 * Nagle off (libp2p sets noDelay) each write is a system call and a TCP segment of its own, which the receiver is
 * woken up for and reads apart. An idle daemon's traffic is such frames, one or two per gossip RPC, window update
 * or ping, and socket writes alone took 18% of its busy time (README, "How the network scales").
 *
 * Here the socket is corked from a connection's first write in a tick until the end of that tick
 * (process.nextTick): whatever the connection writes meanwhile (a frame's two parts, or several frames) leaves in
 * one writev. Nothing waits longer than the code already running. Backpressure is the socket's own: a corked
 * socket counts what it holds against its high-water mark, write() returns false as before, and the connection
 * stops and waits for 'drain' as before, so a stalled reader holds back the same bytes it did.
 */
import { Socket } from 'node:net'
import type { MultiaddrConnection, Transport, Upgrader, UpgraderOptions } from '@libp2p/interface'
import type { SendResult } from '@libp2p/utils'
import type { Uint8ArrayList } from 'uint8arraylist'

/** What a connection of @libp2p/tcp 11 has beyond MultiaddrConnection (socket-to-conn.js) */
interface SocketConnection {
  socket: Socket
  sendData: (data: Uint8ArrayList) => SendResult
}

/** Makes one TCP connection of @libp2p/tcp write all it sends in one tick in one system call */
export function coalesceWrites(connection: MultiaddrConnection): MultiaddrConnection {
  const target = connection as unknown as Partial<SocketConnection>
  const socket = target.socket
  const sendData = target.sendData
  if (!(socket instanceof Socket) || typeof sendData !== 'function')
    throw new Error('@libp2p/tcp: a connection without its socket or sendData (a new version?)')
  let corked = false
  const uncork = (): void => {
    corked = false
    socket.uncork()
  }
  target.sendData = (data: Uint8ArrayList): SendResult => {
    if (!corked) {
      corked = true
      socket.cork()
      process.nextTick(uncork)
    }
    return sendData.call(connection, data)
  }
  return connection
}

/** An upgrader that coalesces the writes of each connection it upgrades, else the given one */
function coalescingUpgrader(upgrader: Upgrader): Upgrader {
  return new Proxy(upgrader, {
    get(target, key) {
      if (key === 'upgradeInbound')
        return async (connection: MultiaddrConnection, options: UpgraderOptions) =>
          target.upgradeInbound(coalesceWrites(connection), options)
      if (key === 'upgradeOutbound')
        return async (connection: MultiaddrConnection, options: UpgraderOptions) =>
          target.upgradeOutbound(coalesceWrites(connection), options)
      const value: unknown = Reflect.get(target, key, target)
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value
    }
  })
}

/** A TCP transport (tcp() of @libp2p/tcp) whose connections, dialled and accepted, coalesce their writes */
export function coalescingTransport<Components>(
  factory: (components: Components) => Transport
): (components: Components) => Transport {
  return (components) => {
    const transport = factory(components)
    const dial = transport.dial.bind(transport)
    const createListener = transport.createListener.bind(transport)
    transport.dial = async (address, options) =>
      dial(address, { ...options, upgrader: coalescingUpgrader(options.upgrader) })
    transport.createListener = (options) =>
      createListener({ ...options, upgrader: coalescingUpgrader(options.upgrader) })
    return transport
  }
}
