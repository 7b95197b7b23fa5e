import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { Daemon } from '../../src/daemon/daemon.js'
import { multiaddrOf, startTestNode, stopAll, waitFor } from '../helpers/network.js'

const ADVERT_INTERVAL_MS = 500

describe('capacity gossip between five daemons bootstrapped from one', () => {
  const daemons: Daemon[] = []

  before(async () => {
    const first = await startTestNode({ overrides: { capacity: { advertIntervalMs: ADVERT_INTERVAL_MS } } })
    daemons.push(first)
    for (let i = 0; i < 4; i++) {
      daemons.push(
        await startTestNode({
          overrides: {
            net: { bootstrap: [multiaddrOf(first)] },
            capacity: { advertIntervalMs: ADVERT_INTERVAL_MS, computeUnits: 10 + i, tags: [`node-${i + 1}`] }
          }
        })
      )
    }
  })

  after(async () => stopAll(daemons))

  it('lists every other peer with its advert, each one reached directly', async () => {
    // Three advert intervals, each peer's check of the others (a dial and identify), and room for a loaded
    // machine; the time it took is printed
    const elapsed = await waitFor(
      () => daemons.every((daemon) => daemon.capacity.peers.size === daemons.length - 1),
      'every peer table to list the four others',
      3 * ADVERT_INTERVAL_MS + 10_000
    )
    process.stderr.write(
      `capacity gossip: 5 peer tables complete ${elapsed} ms after the last daemon started\n`
    )
    for (const daemon of daemons) {
      const others = daemons.filter((other) => other !== daemon)
      for (const other of others) {
        const entry = daemon.capacity.peers.get(other.node.peerId.toString())
        assert.ok(entry, `${daemon.node.peerId.toString()} lacks ${other.node.peerId.toString()}`)
        assert.equal(entry.advert.unitsTotal, other.capacity.currentAdvert().unitsTotal)
        assert.deepEqual(entry.advert.tags, other.config.capacity.tags)
        assert.equal(entry.advert.cpuCores, 4)
      }
    }
  })

  it('drops a stopped daemon after its TTL', async () => {
    const stopped = daemons.pop()
    assert.ok(stopped)
    const gone = stopped.node.peerId.toString()
    await stopAll([stopped])
    const ttl = ADVERT_INTERVAL_MS * 3
    await waitFor(
      () => daemons.every((daemon) => daemon.capacity.peers.get(gone) === undefined),
      'the stopped peer to drop out',
      ttl + 3 * ADVERT_INTERVAL_MS + 1_000
    )
    for (const daemon of daemons) assert.equal(daemon.capacity.peers.size, daemons.length - 1)
  })
})

describe('a daemon that stops, at the default heartbeat', () => {
  const daemons: Daemon[] = []
  // the defaults: a 15 s heartbeat and a TTL of 2 beats, so that the TTL alone would take 30 s
  const capacity = { advertIntervalMs: 15_000, peerTtlIntervals: 2 }

  before(async () => {
    const first = await startTestNode({ overrides: { capacity } })
    daemons.push(first)
    daemons.push(await startTestNode({ overrides: { net: { bootstrap: [multiaddrOf(first)] }, capacity } }))
  })

  after(async () => stopAll(daemons))

  it('is no longer offered by its neighbour long before its TTL (farewell advert, connection closed)', async () => {
    const [stays, leaves] = daemons as [Daemon, Daemon]
    const gone = leaves.node.peerId.toString()
    await waitFor(
      () => (stays.capacity.peers.get(gone)?.advert.unitsFree ?? 0) > 0,
      'the neighbour to be listed with free units',
      20_000
    )
    await stopAll([daemons.pop() as Daemon])
    const elapsed = await waitFor(
      () => (stays.capacity.peers.get(gone)?.advert.unitsFree ?? 0) === 0,
      'the stopped neighbour to offer nothing',
      10_000
    )
    process.stderr.write(`capacity gossip: a stopped neighbour offered nothing after ${elapsed} ms\n`)
  })
})
