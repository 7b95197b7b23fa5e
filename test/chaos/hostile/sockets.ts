/**
 * Raw TCP attackers against a daemon's libp2p port: sockets that connect and then say nothing, or trickle random
 * bytes, each opened again as soon as the daemon closes it, so that the daemon always has `count` of them.
 * `from` picks the source address: Linux routes all of 127.0.0.0/8 to loopback, so 127.0.0.2 is a second
 * machine as far as the daemon can tell.
 */
import { randomBytes } from 'node:crypto'
import { connect, createServer, type Socket } from 'node:net'

export interface StallInit {
  host: string
  port: number
  count: number
  /** silent: connect and wait; garbage: one random byte every `trickleMs` */
  mode: 'silent' | 'garbage'
  /** Source address(es); each socket takes the next one in turn */
  from?: string[]
  trickleMs?: number
}

export interface StallCounts {
  /** Sockets opened in all */
  opened: number
  /** Closed or reset by the daemon */
  closedByDaemon: number
  /** Open now */
  open: number
}

export class SocketStaller {
  private readonly init: StallInit
  private readonly sockets = new Set<Socket>()
  private readonly timers = new Set<NodeJS.Timeout>()
  private stopped = false
  private opened = 0
  private closedByDaemon = 0
  private nextSource = 0

  constructor(init: StallInit) {
    this.init = init
  }

  start(): void {
    for (let i = 0; i < this.init.count; i++) this.open()
  }

  get counts(): StallCounts {
    return { opened: this.opened, closedByDaemon: this.closedByDaemon, open: this.sockets.size }
  }

  stop(): void {
    this.stopped = true
    for (const timer of this.timers) clearInterval(timer)
    this.timers.clear()
    for (const socket of this.sockets) socket.destroy()
    this.sockets.clear()
  }

  private open(): void {
    if (this.stopped) return
    const sources = this.init.from ?? []
    const localAddress = sources.length === 0 ? undefined : sources[this.nextSource++ % sources.length]
    const socket = connect({ host: this.init.host, port: this.init.port, localAddress })
    this.opened++
    this.sockets.add(socket)
    let trickle: NodeJS.Timeout | undefined
    if (this.init.mode === 'garbage') {
      trickle = setInterval(() => socket.write(randomBytes(1)), this.init.trickleMs ?? 500)
      this.timers.add(trickle)
    }
    socket.on('error', () => undefined)
    socket.once('close', () => {
      if (trickle !== undefined) {
        clearInterval(trickle)
        this.timers.delete(trickle)
      }
      this.sockets.delete(socket)
      if (this.stopped) return
      this.closedByDaemon++
      // again at once, as an attacker would; a short pause keeps a refusing daemon from making this a busy loop
      const again = setTimeout(() => {
        this.timers.delete(again)
        this.open()
      }, 20)
      this.timers.add(again)
    })
  }
}

/** A TCP server that accepts every connection and never says a byte: a dial to it stalls until its deadline */
export interface Tarpit {
  port: number
  close(): Promise<void>
}

export async function tarpit(): Promise<Tarpit> {
  const sockets = new Set<Socket>()
  const server = createServer((socket) => {
    sockets.add(socket)
    socket.on('error', () => undefined)
    socket.once('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('the tarpit has no TCP port')
  return {
    port: address.port,
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => server.close(resolve))
    }
  }
}
