/**
 * Busy is not dead: daemon processes proving a job while every core is also taken by busy-looping processes keep
 * all their peers, even when the submitter itself cannot run for longer than jobs.peer_timeout (the peers'
 * keep-alives wait in its sockets meanwhile: before, it then dropped every peer at once); a peer that really
 * freezes (SIGSTOP) is still dropped by the keep-alive watch.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { JobRecord } from '../../src/jobs-model/types.js'
import { type LocalNode, LocalNetwork } from '../../src/testnet/local-network.js'
import { api, poll } from '../helpers/api.js'
import { peerDropped, peerStory } from '../helpers/journal.js'

const PEERS = 3
const UNITS = 2
/** 3 segments here: one per peer, all proving at once */
const INPUT_BYTES = 2 * 1024 * 1024
/** The submitter stopped for longer than jobs.peer_timeout (3 s) */
const SUBMITTER_STALL_MS = 5_000

/** One busy loop per core, at the daemons' own priority: the host is saturated whatever the provers do */
function burnCores(): ChildProcess[] {
  return Array.from({ length: availableParallelism() }, () =>
    spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' })
  )
}

async function submit(node: LocalNode, input: string): Promise<JobRecord> {
  return api<JobRecord>(node, '/v1/jobs', {
    inputMode: 'data',
    input,
    computeCapacity: PEERS * UNITS,
    minimalComputeCapacity: 1,
    timeoutMs: '15m'
  })
}

async function ended(node: LocalNode, id: string): Promise<JobRecord> {
  return poll(`job ${id} to end`, 600_000, async () => {
    const job = await api<JobRecord>(node, `/v1/jobs/${id}`)
    return ['succeeded', 'failed', 'cancelled'].includes(job.state) ? job : undefined
  })
}

describe('busy is not dead: a saturated host keeps its peers, a frozen one is still dropped', () => {
  let network: LocalNetwork
  let burners: ChildProcess[] = []

  before(async () => {
    network = new LocalNetwork({
      nodes: PEERS + 1,
      root: await mkdtemp(join(tmpdir(), 'proofmesh-busy-')),
      advertInterval: '1s',
      // node 0 only submits, as the compose testnet's submit does: every job peer is a remote one
      nodeArgs: (index) => (index === 0 ? ['--no-offer'] : ['--compute-units', String(UNITS)])
    })
    await network.start()
    await network.converge(60_000)
  })

  after(async () => {
    for (const burner of burners) burner.kill('SIGKILL')
    for (const node of network.nodes) node.process.kill('SIGCONT')
    await network.stop()
    await network.remove()
  })

  it('proves a job on every peer while busy loops take every core and the submitter stalls, dropping none', async () => {
    const submitter = network.nodes[0] as LocalNode
    const input = join(submitter.dataDir, 'busy.bin')
    await writeFile(input, randomBytes(INPUT_BYTES))
    burners = burnCores()
    let done: JobRecord
    try {
      const job = await submit(submitter, input)
      await poll(`job ${job.id} to prove`, 300_000, async () => {
        const now = await api<JobRecord>(submitter, `/v1/jobs/${job.id}`)
        if (['succeeded', 'failed'].includes(now.state)) throw new Error(`job ended ${now.state} first`)
        return now.state === 'proving' ? now : undefined
      })
      // the submitter's event loop does not run at all: the strongest form of a daemon starved of CPU
      submitter.process.kill('SIGSTOP')
      await new Promise((resolve) => setTimeout(resolve, SUBMITTER_STALL_MS))
      submitter.process.kill('SIGCONT')
      done = await ended(submitter, job.id)
    } finally {
      for (const burner of burners) burner.kill('SIGKILL')
      burners = []
    }
    const gaps = done.peers.map((peer) => `${peer.peerId.slice(-8)} ${peer.longestGapMs ?? '-'} ms`)
    process.stderr.write(`busy peers: longest gap between frames per peer: ${gaps.join(', ')}\n`)
    assert.equal(done.state, 'succeeded', `${JSON.stringify(done.error)}\n${peerStory(submitter, done.id)}`)
    const failed = done.peers.filter((peer) => peer.state === 'failed')
    assert.deepEqual(failed, [], `no peer dropped:\n${peerStory(submitter, done.id)}`)
    assert.equal(done.peers.length, PEERS, 'every peer took part, and no replacement was needed')
    for (const peer of done.peers)
      assert.ok(
        done.segments.some((segment) => segment.peerId === peer.peerId),
        `peer ${peer.peerId} kept its segments`
      )
  })

  it('still drops a peer frozen with SIGSTOP, for its silence, and moves its segments', async () => {
    await network.converge(60_000)
    const submitter = network.nodes[0] as LocalNode
    const input = join(submitter.dataDir, 'frozen.bin')
    await writeFile(input, randomBytes(INPUT_BYTES))
    const job = await submit(submitter, input)
    const proving = await poll(`job ${job.id} to prove`, 300_000, async () => {
      const now = await api<JobRecord>(submitter, `/v1/jobs/${job.id}`)
      if (['succeeded', 'failed'].includes(now.state)) throw new Error(`job ended ${now.state} first`)
      return now.state === 'proving' ? now : undefined
    })
    const victimPeer = proving.peers.find((peer) =>
      proving.segments.some((segment) => segment.peerId === peer.peerId && segment.state !== 'proved')
    )
    const victim = network.nodes.find((node) => node.status.peerId === victimPeer?.peerId)
    assert.ok(victim !== undefined, 'a peer with a segment still to prove')
    victim.process.kill('SIGSTOP')
    const frozenAt = Date.now()
    let done: JobRecord
    try {
      done = await ended(submitter, job.id)
    } finally {
      victim.process.kill('SIGCONT')
    }
    const dropped = peerDropped(submitter, job.id, victim.status.peerId)
    assert.ok(dropped !== undefined, `the frozen peer was dropped:\n${peerStory(submitter, job.id)}`)
    // the keep-alive watch, not the lease (15 s) or a closed stream
    assert.match(dropped.message, /sent nothing for [\d.]+ s, over jobs\.peer_timeout \(3s\)/)
    process.stderr.write(
      `busy peers: the frozen peer was dropped ${dropped.at - frozenAt} ms after SIGSTOP\n`
    )
    assert.equal(done.state, 'succeeded', `${JSON.stringify(done.error)}\n${peerStory(submitter, job.id)}`)
    assert.ok(
      done.segments.every((segment) => segment.peerId !== victim.status.peerId),
      'its segments moved to other peers'
    )
  })
})
