import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { multiaddr } from '@multiformats/multiaddr'
import type { Daemon } from '../../src/daemon/daemon.js'
import { readSwarmKey, SwarmKeyError, writeSwarmKey } from '../../src/net/swarm-key.js'
import { multiaddrOf, startTestNode, stopAll, waitFor } from '../helpers/network.js'

describe('a private network (pre-shared swarm key)', () => {
  let keyDir: string
  let keyPath: string
  const daemons: Daemon[] = []

  before(async () => {
    keyDir = await mkdtemp(join(tmpdir(), 'proofmesh-psk-'))
    keyPath = join(keyDir, 'swarm.key')
    await writeSwarmKey(keyPath)
  })

  after(async () => {
    await stopAll(daemons)
    await rm(keyDir, { recursive: true, force: true })
  })

  it('lets a node with the key join and see the others', async () => {
    const first = await startTestNode({ overrides: { net: { swarmKey: keyPath } } })
    daemons.push(first)
    const second = await startTestNode({
      overrides: { net: { swarmKey: keyPath, bootstrap: [multiaddrOf(first)] } }
    })
    daemons.push(second)
    await waitFor(
      () => first.capacity.peers.size === 1 && second.capacity.peers.size === 1,
      'the two keyed nodes to see each other'
    )
  })

  it('keeps out a node without the key', async () => {
    const first = daemons[0]
    assert.ok(first)
    const outsider = await startTestNode()
    daemons.push(outsider)
    await assert.rejects(
      outsider.node.dial(multiaddr(multiaddrOf(first)), { signal: AbortSignal.timeout(5_000) })
    )
    assert.equal(first.node.getConnections(outsider.node.peerId).length, 0)
    assert.equal(first.capacity.peers.get(outsider.node.peerId.toString()), undefined)
  })

  it('keeps out a node with a different key', async () => {
    const first = daemons[0]
    assert.ok(first)
    const otherKey = join(keyDir, 'other.key')
    await writeSwarmKey(otherKey)
    const outsider = await startTestNode({ overrides: { net: { swarmKey: otherKey } } })
    daemons.push(outsider)
    await assert.rejects(
      outsider.node.dial(multiaddr(multiaddrOf(first)), { signal: AbortSignal.timeout(5_000) })
    )
    assert.equal(first.capacity.peers.get(outsider.node.peerId.toString()), undefined)
  })

  it('refuses a swarm key file that is not one, naming the file', async () => {
    const bad = join(keyDir, 'bad.key')
    await writeFile(bad, 'not a key\n')
    await assert.rejects(
      readSwarmKey(bad),
      (err: Error) => err instanceof SwarmKeyError && err.message.includes(bad)
    )
    await assert.rejects(writeSwarmKey(keyPath), { code: 'EEXIST' })
  })
})
