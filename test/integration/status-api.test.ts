import assert from 'node:assert/strict'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { multiaddr } from '@multiformats/multiaddr'
import type { Daemon, PeerRow } from '../../src/daemon/daemon.js'
import { statusToJson } from '../../src/daemon/status-json.js'
import { API_TOKEN_FILE, readApiAddress } from '../../src/rpc/http/credentials.js'
import { requestRemoteStatus } from '../../src/rpc/status/remote.js'
import {
  cpuOnlyHardware,
  multiaddrOf,
  startTestNode,
  stopAll,
  testLogger,
  waitFor
} from '../helpers/network.js'

describe('peer status: the status protocol and the local HTTP API', () => {
  let a: Daemon
  let b: Daemon
  let token: string

  before(async () => {
    a = await startTestNode({
      daemon: { api: true, metrics: true, prover: true },
      overrides: { capacity: { computeUnits: 12, tags: ['region=test'] } }
    })
    b = await startTestNode({ overrides: { net: { bootstrap: [multiaddrOf(a)] } } })
    token = (await readFile(join(a.config.dataDir, API_TOKEN_FILE), 'utf8')).trim()
    await waitFor(
      () => a.capacity.peers.size === 1 && b.capacity.peers.size === 1,
      'the two nodes to see each other'
    )
  })

  after(async () => stopAll([a, b]))

  it('answers a remote peer over /proofmesh/status/1.0.0', async () => {
    const status = statusToJson(await b.statusClient.request(a.node.peerId))
    assert.equal(status.peerId, a.node.peerId.toString())
    assert.ok(status.uptimeMs >= 0)
    assert.ok(status.addrs.length > 0)
    assert.equal(status.capacity?.unitsTotal, 12)
    assert.equal(status.capacity?.cpuCores, cpuOnlyHardware.cpuCores)
    assert.deepEqual(status.capacity?.tags, ['region=test'])
    assert.equal(status.capacity?.prover?.name, 'proofmesh-prover', 'the advert names the native prover')
    assert.deepEqual(status.capacity?.programs, ['rescue-sponge'])
    assert.equal(status.knownPeers, 1)
    assert.ok(status.connectedPeers >= 1)
  })

  it('answers a short-lived client that dials by multiaddr', async () => {
    const status = await requestRemoteStatus({ peer: multiaddrOf(a), logger: testLogger })
    assert.equal(status.peerId, a.node.peerId.toString())
    await assert.rejects(
      requestRemoteStatus({
        peer: multiaddr(multiaddrOf(a)).decapsulateCode(421).toString(),
        logger: testLogger
      }),
      /names no peer id/
    )
  })

  it('keeps the token 0600 and writes where the API listens', async () => {
    const mode = (await stat(join(a.config.dataDir, API_TOKEN_FILE))).mode & 0o777
    assert.equal(mode, 0o600)
    const address = await readApiAddress(a.config.dataDir)
    assert.equal(address.url, a.apiUrl)
    assert.equal(address.peerId, a.node.peerId.toString())
  })

  it('refuses requests without the right bearer token', async () => {
    const url = a.apiUrl
    assert.ok(url)
    const refused: Array<Record<string, string>> = [
      {},
      { authorization: 'Bearer wrong' },
      { authorization: `Basic ${token}` }
    ]
    for (const headers of refused) {
      const response = await fetch(`${url}/v1/status`, { headers })
      assert.equal(response.status, 401)
      assert.match(response.headers.get('www-authenticate') ?? '', /Bearer/)
    }
    const metrics = await fetch(`${url}/metrics`)
    assert.equal(metrics.status, 401)
  })

  it('serves status, peers, health and metrics with the token', async () => {
    const url = a.apiUrl
    assert.ok(url)
    const headers = { authorization: `Bearer ${token}` }
    const status = (await (await fetch(`${url}/v1/status`, { headers })).json()) as { peerId: string }
    assert.equal(status.peerId, a.node.peerId.toString())
    const peers = (await (await fetch(`${url}/v1/peers`, { headers })).json()) as PeerRow[]
    assert.deepEqual(
      peers.map((peer) => peer.peerId),
      [b.node.peerId.toString()]
    )
    for (const peer of peers) {
      assert.equal(new Date(peer.listedSince).toISOString(), peer.listedSince, 'listedSince is an ISO time')
      assert.ok(peer.listedSince <= peer.lastSeen, 'listed no later than its newest advert arrived')
    }
    const health = await fetch(`${url}/v1/health`)
    assert.equal(health.status, 200, 'health needs no token')
    const metrics = await (await fetch(`${url}/metrics`, { headers })).text()
    assert.match(metrics, /proofmesh_peers_known 1/)
    assert.match(metrics, /proofmesh_compute_units\{kind="total"\} 12/)
    assert.match(metrics, /libp2p_/, 'libp2p metrics are included')
    assert.equal((await fetch(`${url}/v1/nothing`, { headers })).status, 404)
    assert.equal((await fetch(`${url}/v1/status`, { method: 'POST', headers })).status, 405)
  })
})
