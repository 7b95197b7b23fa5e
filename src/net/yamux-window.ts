/**
 * @libp2p/yamux 8 sends a window update after every data frame it receives, however small: each gossip RPC, ping or
 * short reply costs a second encrypted frame back, and its receiver a second frame to decrypt and parse. An idle
 * daemon among 40 exchanged ~35 Noise packets a second, about half of them these updates (/metrics over 30 s), and
 * its CPU profile spent 8% of its busy time in sendWindowUpdate alone. go-yamux and rust-yamux hold the update until
 * half the receive window has been consumed, as done here: the sender always has at least half a window to write
 * into, so it never waits for an update it would not have waited for before, and a reader that stops reading still
 * stops the sender (the update comes only when the window is spent, as before). Updates that carry a flag (the
 * SYN or ACK of a new stream) go out as before; so does the one after a pause once half the window is spent (a
 * sender with more than half a window left is not waiting for it).
 */
import { StreamState, YamuxStream } from '@libp2p/yamux/stream'

/** The private fields of YamuxStream this rule reads (stream.js of @libp2p/yamux 8) */
interface ReceiveWindow {
  state: StreamState
  recvWindow: number
  recvWindowCapacity: number
}

let installed = false

/** Whether a stream would send a window update with no flag that gives back less than half its window */
export function updateIsPremature(stream: ReceiveWindow): boolean {
  if (
    stream.state !== StreamState.SYNSent &&
    stream.state !== StreamState.Established &&
    stream.state !== StreamState.Finished
  )
    return false
  return stream.recvWindow - stream.recvWindowCapacity < stream.recvWindow / 2
}

/** Makes every yamux stream of this process update its peer's send window once half of it is consumed */
export function deferYamuxWindowUpdates(): void {
  if (installed) return
  const prototype = YamuxStream.prototype as unknown as {
    sendWindowUpdate: ((this: YamuxStream) => void) | undefined
  }
  const sendWindowUpdate = prototype.sendWindowUpdate
  if (typeof sendWindowUpdate !== 'function')
    throw new Error('@libp2p/yamux: YamuxStream.sendWindowUpdate not found (a new version?)')
  prototype.sendWindowUpdate = function (this: YamuxStream): void {
    if (updateIsPremature(this as unknown as ReceiveWindow)) return
    sendWindowUpdate.call(this)
  }
  installed = true
}
