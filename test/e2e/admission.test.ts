import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { createServer as createNetServer, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { promisify } from 'node:util'
import { defaultProverBinary } from '../../src/config/index.js'
import type { PeerRow } from '../../src/daemon/daemon.js'
import type { StatusJson } from '../../src/daemon/status-json.js'
import type { LeaseRecord } from '../../src/jobs-model/lease.js'
import type { JobEvent, JobRecord } from '../../src/jobs-model/types.js'
import { Journal } from '../../src/store/index.js'
import { type LocalNode, LocalNetwork } from '../../src/testnet/local-network.js'
import { api, poll } from '../helpers/api.js'

const exec = promisify(execFile)
const PROVER = defaultProverBinary()

/** Submits a data-mode job through the API of `node` */
async function submit(node: LocalNode, body: Record<string, unknown>): Promise<string> {
  return (await api<JobRecord>(node, '/v1/jobs', { inputMode: 'data', ...body })).id
}

async function finished(node: LocalNode, id: string, timeoutMs = 120_000): Promise<JobRecord> {
  return poll(`job ${id} to end`, timeoutMs, async () => {
    const job = await api<JobRecord>(node, `/v1/jobs/${id}`)
    return ['succeeded', 'failed', 'cancelled'].includes(job.state) ? job : undefined
  })
}

/** Every event of an ended job, from the submitter's server-sent event stream (it ends with the job) */
async function eventsOf(node: LocalNode, id: string): Promise<JobEvent[]> {
  const response = await fetch(new URL(`/v1/jobs/${id}/events`, node.api.url), {
    headers: { authorization: `Bearer ${node.token}` },
    signal: AbortSignal.timeout(10_000)
  })
  const text = await response.text()
  return [...text.matchAll(/^data: (.*)$/gm)].map((match) => JSON.parse(match[1] as string) as JobEvent)
}

/** Every lease the daemon granted, from its journal on disk */
function leasesOf(node: LocalNode): LeaseRecord[] {
  const journal = Journal.open(join(node.dataDir, 'journal.sqlite'))
  try {
    return journal.leases()
  } finally {
    journal.close()
  }
}

describe('admission: allow-list, deny-list and the per-submitter cap, across daemon processes', () => {
  let network: LocalNetwork
  let root: string
  let nodes: LocalNode[]
  const id = (index: number): string => nodes[index]!.status.peerId

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'proofmesh-admission-'))
    const node3Config = join(root, 'node-3.toml')
    await writeFile(node3Config, '[security]\nmax_jobs_per_submitter = 1\n')
    network = new LocalNetwork({
      nodes: 4,
      root,
      advertInterval: '1s',
      // Called as each node starts, so the earlier nodes' ids and addresses are known
      nodeArgs: (index) => {
        const started = network.nodes
        // node 2 works for node 1 (and itself) only
        if (index === 2) return ['--compute-units', '2', '--allow-submitter', started[1]!.status.peerId]
        // node 3 never talks to node 0, so it joins through node 1; it has the most units, so submitters try it
        // first, and it takes one job at a time from each submitter
        if (index === 3) {
          return [
            '--compute-units',
            '4',
            '--deny-peer',
            started[0]!.status.peerId,
            '--bootstrap',
            started[1]!.status.addrs[0]!,
            '--config',
            node3Config
          ]
        }
        return ['--compute-units', '2']
      }
    })
    try {
      await network.start()
      nodes = network.nodes
      // every table complete, but for nodes 0 and 3: a node lists only peers it has been connected to
      await poll('the peer tables', 60_000, async () => {
        const tables = await Promise.all(nodes.map(async (node) => network.peers(node)))
        const complete = tables.every((rows, index) =>
          nodes.every(
            (other, at) =>
              at === index ||
              (index === 3 && at === 0) ||
              (index === 0 && at === 3) ||
              rows.some((row) => row.peerId === other.status.peerId)
          )
        )
        return complete ? true : undefined
      })
    } catch (err) {
      await network.stop()
      throw err
    }
  })

  after(async () => {
    await network.stop()
    await network.remove()
  })

  it('works only for the submitters on a non-empty allow_submitters', async () => {
    const input = join(root, 'allowed.bin')
    await writeFile(input, randomBytes(150_000))
    // the units of nodes 0 and 1 (node 0 does not list node 3); node 0 can lease only its own and node 1's
    const fromNode0 = await submit(nodes[0]!, {
      input,
      computeCapacity: 8,
      minimalComputeCapacity: 4
    })
    const job0 = await finished(nodes[0]!, fromNode0)
    assert.equal(job0.state, 'succeeded', job0.error?.message)
    assert.deepEqual(job0.peers.map((peer) => peer.peerId).sort(), [id(0), id(1)].sort())
    assert.ok(
      !leasesOf(nodes[2]!).some((lease) => lease.jobId === fromNode0),
      "node 2 granted no lease for node 0's job"
    )
    const refusals = (await eventsOf(nodes[0]!, fromNode0)).filter(
      (event) => event.kind === 'refused' && event.peer === id(2)
    )
    assert.ok(
      refusals.some((event) =>
        /^refused: this peer takes work only from its security\.allow_submitters$/.test(event.message ?? '')
      ),
      JSON.stringify(refusals)
    )

    const fromNode1 = await submit(nodes[1]!, { input, computeCapacity: 10 })
    const job1 = await finished(nodes[1]!, fromNode1)
    assert.equal(job1.state, 'succeeded', job1.error?.message)
    assert.ok(
      leasesOf(nodes[2]!).some((lease) => lease.jobId === fromNode1 && lease.submitter === id(1)),
      "node 2 granted a lease for node 1's job"
    )
    // node 3 works for the others all the same
    assert.ok(leasesOf(nodes[3]!).some((lease) => lease.jobId === fromNode1))
  })

  it('never connects a peer to those on its deny_peers, and the network still works', async () => {
    for (let sample = 0; sample < 10; sample++) {
      // node 3 ignores node 0's adverts (its validator), so it lists node 0 nowhere, least of all as connected
      const seenBy3 = (await network.peers(nodes[3]!)).filter((row: PeerRow) => row.peerId === id(0))
      assert.ok(
        seenBy3.every((row) => !row.connected),
        'node 3 has no connection to node 0'
      )
      assert.equal(seenBy3.length, 0, "node 3's table has no node 0")
      // its connections: nodes 1 and 2 at most (with node 0 it would be 3)
      const status = await api<StatusJson>(nodes[3]!, '/v1/status')
      assert.ok(status.connectedPeers <= 2, `node 3 has ${status.connectedPeers} connections`)
      // node 0 hears node 3's adverts through the others, but lists only peers it has been connected to: it
      // could never lease node 3's units
      const seenBy0 = (await network.peers(nodes[0]!)).filter((row: PeerRow) => row.peerId === id(3))
      assert.equal(seenBy0.length, 0, 'node 0 does not list node 3')
      await new Promise((resolve) => setTimeout(resolve, 300))
    }
    assert.ok(
      !leasesOf(nodes[3]!).some((lease) => lease.submitter === id(0)),
      'node 3 never leased units to node 0'
    )
    // node 3 submits too: node 2 turns it away (not on its allow-list), node 1 and node 3 itself prove
    const input = join(root, 'denier.bin')
    await writeFile(input, randomBytes(100_000))
    const fromNode3 = await submit(nodes[3]!, { input, computeCapacity: 6 })
    const job3 = await finished(nodes[3]!, fromNode3)
    assert.equal(job3.state, 'succeeded', job3.error?.message)
    assert.deepEqual(job3.peers.map((peer) => peer.peerId).sort(), [id(1), id(3)].sort())
  })

  it('refuses a second concurrent job of one submitter over max_jobs_per_submitter, naming the cap', async () => {
    // job A holds a lease on node 3 while its hints wait on a socket the test controls
    const hinted = join(root, 'hinted.bin')
    await writeFile(hinted, randomBytes(56 * 64))
    const hints = join(root, 'hints.json')
    await exec(PROVER, ['plan', '--input', hinted, '--max-segment-blocks', '1', '--hints-out', hints])
    const socket = join(root, 'hints.sock')
    const waiting: Socket[] = []
    const server = createNetServer((connection) => {
      waiting.push(connection)
    })
    await new Promise<void>((resolve) => server.listen(socket, resolve))
    try {
      // node 1 must see node 3 as the best candidate (4 free units, a fresh advert) when job A starts: the
      // previous test's jobs ended moments ago, and their adverts may still be on their way
      await poll("node 1 to see node 3's 4 units free", 30_000, async () =>
        (await network.peers(nodes[1]!)).some(
          (row) => row.peerId === id(3) && row.capacity.unitsFree === 4 && row.ageMs < 1_000
        ) && !leasesOf(nodes[3]!).some((lease) => lease.submitter === id(1) && lease.endedAt === undefined)
          ? true
          : undefined
      )
      const jobA = await submit(nodes[1]!, {
        input: hinted,
        hints: { kind: 'socket', path: socket },
        computeCapacity: 1
      })
      await poll('job A to lease on node 3', 60_000, async () =>
        leasesOf(nodes[3]!).some((lease) => lease.jobId === jobA && lease.endedAt === undefined)
          ? true
          : undefined
      ).catch(async (err: unknown) => {
        // say where job A went instead
        const record = await api<JobRecord>(nodes[1]!, `/v1/jobs/${jobA}`)
        throw new Error(
          `${String(err)}; job A: ${JSON.stringify({ state: record.state, peers: record.peers })}`
        )
      })
      const input = join(root, 'second.bin')
      await writeFile(input, randomBytes(100_000))
      const jobB = await submit(nodes[1]!, { input, computeCapacity: 1 })
      const recordB = await finished(nodes[1]!, jobB)
      assert.equal(recordB.state, 'succeeded', recordB.error?.message)
      assert.ok(!recordB.peers.some((peer) => peer.peerId === id(3)), 'job B got no lease on node 3')
      const refusals = (await eventsOf(nodes[1]!, jobB)).filter(
        (event) => event.kind === 'refused' && event.peer === id(3)
      )
      assert.ok(
        refusals.some((event) =>
          /^refused: .*security\.max_jobs_per_submitter \(1\)/.test(event.message ?? '')
        ),
        JSON.stringify(refusals)
      )
      // job A goes on once its hints come
      const bytes = await readFile(hints)
      await poll('job A to open the hints socket', 30_000, async () =>
        waiting.length > 0 ? true : undefined
      )
      for (const connection of waiting) connection.end(bytes)
      const recordA = await finished(nodes[1]!, jobA)
      assert.equal(recordA.state, 'succeeded', recordA.error?.message)
      // node 3 proved every segment; any other peer of job A only checked a contribution of node 3's (a second
      // computation before the challenge) and proved nothing
      assert.deepEqual([...new Set(recordA.segments.map((segment) => segment.peerId))], [id(3)])
      const checkers = new Set(
        (await eventsOf(nodes[1]!, jobA)).flatMap((event) =>
          event.kind === 'note' && /^checks segment /.test(event.message ?? '') ? [event.peer] : []
        )
      )
      const others = recordA.peers.map((peer) => peer.peerId).filter((peerId) => peerId !== id(3))
      assert.ok(
        others.every((peerId) => checkers.has(peerId)),
        `job A's peers other than node 3 are checkers: ${JSON.stringify({ others, checkers: [...checkers] })}`
      )
    } finally {
      for (const connection of waiting) connection.destroy()
      server.close()
    }
  })
})
