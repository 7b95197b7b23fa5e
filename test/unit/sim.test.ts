import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Rng } from '../helpers/rng.js'
import { simDefaults, simulate } from '../../scripts/sim/simulate.js'
import { reachOf, Topology } from '../../scripts/sim/topology.js'

const costs = { verifyMs: 0.5, duplicateMs: 0.01, overheadBytes: 174 }

function network(peers: number, seed = 7): Topology {
  const topology = new Topology({ degree: 6, meshDegree: 3, lazyDegree: 1, rng: new Rng(seed) })
  for (let id = 0; id < peers; id++) topology.join(id)
  return topology
}

describe('the capacity simulator', () => {
  it('keeps links symmetric and redials after departures', () => {
    const topology = network(40)
    for (let id = 0; id < 10; id++) topology.leave(id)
    assert.equal(topology.size, 30)
    for (let id = 10; id < 40; id++) {
      const neighbours = topology.neighbours(id)
      assert.ok(neighbours.size >= 3, `peer ${id} has ${neighbours.size} connections, at least half of 6`)
      for (const other of neighbours) {
        assert.ok(other >= 10, `peer ${id} is still linked to departed ${other}`)
        assert.ok(topology.neighbours(other).has(id), `the link ${id}-${other} is one-sided`)
      }
      assert.ok(topology.mesh(id).every((peer) => neighbours.has(peer)))
    }
  })

  it('hears directly the neighbours that have it in their mesh, and no origin further than two hops', () => {
    const topology = network(60)
    for (let peer = 0; peer < 60; peer++) {
      const reach = reachOf(topology, peer)
      const neighbours = topology.neighbours(peer)
      for (const neighbour of neighbours)
        assert.equal(reach.get(neighbour)?.direct ?? false, topology.mesh(neighbour).includes(peer))
      assert.equal(reach.has(peer), false)
      for (const [origin, how] of reach) {
        if (how.direct) continue
        // a relay forwards only what its origin delivered to it: origins publish to their mesh
        const relays = [...neighbours].filter((relay) => topology.mesh(origin).includes(relay))
        assert.ok(relays.length > 0, `origin ${origin} is more than two hops from ${peer}`)
        assert.equal(how.pushed + how.announced > 0, true)
      }
    }
  })

  it('lists only what two hops bring, fills jobs and counts the same traffic for the same seed', async () => {
    const options = {
      ...simDefaults,
      peers: 80,
      seed: 3,
      warmupS: 20,
      measureS: 20,
      observers: 8,
      churnPerMinute: 0,
      jobs: 4,
      jobUnits: 20,
      costs
    }
    const first = await simulate(options)
    const again = await simulate(options)
    assert.equal(first.perPeer.messagesPerS, again.perPeer.messagesPerS)
    assert.equal(first.perPeer.tableSize, again.perPeer.tableSize)
    assert.ok(first.perPeer.messagesPerS > 0, 'observers heard adverts')
    assert.ok(
      first.perPeer.tableSize > 6 && first.perPeer.tableSize < 79,
      `tables hold ${first.perPeer.tableSize}: more than the neighbours, fewer than everyone`
    )
    assert.equal(first.gather.filled, 4, `jobs filled: ${JSON.stringify(first.gather)}`)
    assert.equal(first.gather.refusedDeparted, 0, 'no peer left, so none was asked after leaving')
  })

  it('counts asks of departed peers as stale refusals under churn', async () => {
    const result = await simulate({
      ...simDefaults,
      peers: 200,
      seed: 5,
      warmupS: 20,
      measureS: 20,
      observers: 8,
      churnPerMinute: 0.5,
      jobs: 6,
      jobUnits: 20,
      costs
    })
    const { gather } = result
    assert.ok(gather.asks > 0)
    assert.equal(gather.staleShare, (gather.refusedStale + gather.refusedDeparted) / gather.asks)
    assert.ok(gather.filled > 0, `some jobs filled: ${JSON.stringify(gather)}`)
  })

  it("counts joining peers' warm-up pulls against the observed peers they ask, and nothing else changes", async () => {
    const options = {
      ...simDefaults,
      peers: 200,
      seed: 5,
      warmupS: 20,
      measureS: 30,
      observers: 40,
      churnPerMinute: 0.5,
      jobs: 2,
      jobUnits: 20,
      costs
    }
    const without = await simulate({ ...options, warmUp: 0 })
    const withWarmUp = await simulate({ ...options, warmUp: 1 })
    assert.equal(without.perPeer.warmUpsServedPerMin, 0)
    assert.ok(withWarmUp.perPeer.warmUpsServedPerMin > 0, 'no joining peer asked an observed one')
    // a request and an answer per warm-up answered, on top of the same gossip (the same network either way)
    assert.equal(withWarmUp.perPeer.firstCopiesPerS, without.perPeer.firstCopiesPerS)
    assert.equal(withWarmUp.perPeer.tableSize, without.perPeer.tableSize)
    const extra = (withWarmUp.perPeer.messagesPerS - without.perPeer.messagesPerS) * 60
    assert.ok(
      Math.abs(extra - 2 * withWarmUp.perPeer.warmUpsServedPerMin) < 1e-9,
      `${extra} messages a minute more for ${withWarmUp.perPeer.warmUpsServedPerMin} warm-ups`
    )
    assert.ok(withWarmUp.perPeer.bytesPerS > without.perPeer.bytesPerS)
  })
})
