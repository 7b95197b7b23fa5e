/**
 * The hostile suite, network half: strangers that open sockets and stall, and gossip peers that lie. Each attack
 * runs from this process against real daemon processes on 127.0.0.1; the test checks that honest peers still
 * join and an honest job still proves and verifies, and prints its figures (join and job times next to clean
 * ones, the victim's RSS, /v1/status time and peer table). `HOSTILE=full` (npm run test:chaos) runs the attacks
 * at the sizes; `npm test` runs shorter ones.
 */
import '../../src/polyfill.js'
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { LocalNetwork, LocalNode } from '../../src/testnet/local-network.js'
import {
  figures,
  FULL,
  type HostileNetwork,
  joinNetwork,
  type Joined,
  report,
  startNetwork,
  tcpAddress
} from './hostile/harness.js'
import { SocketStaller, type StallInit } from './hostile/sockets.js'

/** A generous bound for a join, only to tell "joined" from "locked out"; the figure printed is the result */
const JOIN_BOUND_MS = 60_000

describe('hostile: sockets that stall a daemon', () => {
  let net: HostileNetwork
  let victim: LocalNode
  const joiners: LocalNetwork[] = []
  let clean: Joined

  before(async () => {
    net = await startNetwork('sockets', { nodes: 1, converge: false })
    victim = net.network.nodes[0] as LocalNode
    const first = await joinNetwork(victim, net.root, 'clean', JOIN_BOUND_MS)
    joiners.push(first.network)
    clean = first.joined
    await report('a new peer joins with no attack', {
      'started ms': clean.startedMs,
      'connected ms': clean.connectedMs,
      'listed ms': clean.listedMs
    })
  })

  after(async () => {
    for (const joiner of joiners) {
      await joiner.stop()
      await joiner.remove()
    }
    await net.stop()
  })

  async function underAttack(name: string, attack: Omit<StallInit, 'host' | 'port'>): Promise<void> {
    const { host, port } = tcpAddress(victim)
    const before = await figures(victim)
    const staller = new SocketStaller({ host, port, ...attack })
    staller.start()
    try {
      // the sockets are in, and libp2p's pending slots (10 by default) would be full by now
      await new Promise((resolve) => setTimeout(resolve, 2_000))
      const { joined, network } = await joinNetwork(victim, net.root, name, JOIN_BOUND_MS).catch(
        (err: unknown) => {
          throw new Error(`${(err as Error).message}; attack sockets: ${JSON.stringify(staller.counts)}`)
        }
      )
      joiners.push(network)
      const during = await figures(victim)
      await report(
        `a new peer joins while ${attack.count} ${attack.mode} sockets from ${sources(attack)} stall`,
        {
          'started ms': joined.startedMs,
          'connected ms': joined.connectedMs,
          'listed ms': joined.listedMs,
          'clean listed ms': clean.listedMs,
          'sockets opened': staller.counts.opened,
          'closed by the daemon': staller.counts.closedByDaemon,
          'victim RSS MiB': during.rssMiB,
          'RSS before MiB': before.rssMiB,
          'status ms': during.statusMs
        }
      )
      assert.ok(joined.listedMs < JOIN_BOUND_MS)
      await network.stop()
    } finally {
      staller.stop()
    }
    const health = await fetch(new URL('/v1/health', victim.api.url), { signal: AbortSignal.timeout(5_000) })
    assert.equal(health.status, 200, 'the victim is still up')
  }

  it('lets a new peer join while 100 silent sockets from another address stall its bootstrap peer', async () => {
    await underAttack('silent', { count: 100, mode: 'silent', from: ['127.0.0.2'] })
  })

  it('lets a new peer join while 100 sockets trickle garbage', async () => {
    await underAttack('garbage', { count: 100, mode: 'garbage', from: ['127.0.0.3'], trickleMs: 500 })
  })

  it('lets a new peer join while more sockets than all the handshake slots stall, from many addresses', async () => {
    const count = FULL ? 1_000 : 600
    const from = Array.from({ length: 200 }, (_, i) => `127.0.1.${i + 1}`)
    await underAttack('many', { count, mode: 'silent', from })
  })
})

function sources(attack: Omit<StallInit, 'host' | 'port'>): string {
  const from = attack.from ?? []
  return from.length === 1 ? (from[0] as string) : `${from.length} addresses`
}
