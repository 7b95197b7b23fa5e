import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { Daemon } from '../../src/daemon/daemon.js'
import { multiaddrOf, startTestNode, stopAll, waitFor } from '../helpers/network.js'

describe('finding peers beyond the bootstrap list through the kad-dht', () => {
  const daemons: Daemon[] = []

  before(async () => {
    // a ← b ← c: a knows only itself, b bootstraps from a, c bootstraps from b. a never hears of c's address
    // except through the DHT.
    const a = await startTestNode()
    const b = await startTestNode({ overrides: { net: { bootstrap: [multiaddrOf(a)] } } })
    const c = await startTestNode({ overrides: { net: { bootstrap: [multiaddrOf(b)] } } })
    daemons.push(a, b, c)
  })

  after(async () => stopAll(daemons))

  it('resolves a peer id it was never told about to an address, and connects', async () => {
    const [a, , c] = daemons
    assert.ok(a && c)
    const found = await waitFor(
      async () => {
        try {
          const info = await a.node.peerRouting.findPeer(c.node.peerId, {
            signal: AbortSignal.timeout(3_000)
          })
          return info.multiaddrs.some((addr) =>
            c.node.getMultiaddrs().some((own) => own.toString().startsWith(addr.toString()))
          )
        } catch {
          return false
        }
      },
      'the DHT to resolve c',
      20_000,
      500
    )
    assert.ok(found >= 0)
    const status = await a.statusClient.request(c.node.peerId)
    assert.equal(status.peerId, c.node.peerId.toString())
  })

  it('learns every peer\u2019s capacity through gossip across the chain', async () => {
    await waitFor(
      () => daemons.every((daemon) => daemon.capacity.peers.size === 2),
      'every table to list two peers',
      10_000
    )
  })
})
