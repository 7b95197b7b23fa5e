import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { PROOF_PROTOCOL } from '../../protocols/proof/constants.js'
import type { Daemon } from '../../src/daemon/daemon.js'
import { TERMINAL_STATES } from '../../src/jobs-model/states.js'
import type { JobRecord } from '../../src/jobs-model/types.js'
import { repoRoot } from '../fixtures/prover/helpers.js'
import { multiaddrOf, startTestNode, stopAll, waitFor } from '../helpers/network.js'

const binary = join(repoRoot, 'native/target/release/proofmesh-prover')
const skip = existsSync(binary) ? false : `no prover binary at ${binary}; run cargo build --release`
const UNITS = 2
/** 3000 blocks of rescue-sponge: a segment on each of the three peers, each proved in seconds */
const INPUT_BYTES = 56 * 3000 - 17
/** Three small proves, one move and its prove again, on a machine whose cores other tests saturate */
const JOB_DEADLINE_MS = 4 * 60_000

/**
 * The cascade, on three real daemons with the reference prover: one peer's proof transfers fail at
 * opening, both ways (its /proofmesh/proof/1.0.0 handler closes every stream at once, and every proof stream it
 * opens fails), whether or not it is elected aggregator. Its pulls failing must not cost the owners it pulled
 * from, nor the ones its segments move to: that one peer is failed, the job succeeds.
 */
describe('a peer whose proof transfers fail at opening', { skip, timeout: JOB_DEADLINE_MS + 60_000 }, () => {
  const daemons: Daemon[] = []
  let dir: string

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'proofmesh-transfer-cascade-'))
    const node = async (bootstrap: string[]): Promise<Daemon> =>
      await startTestNode({
        overrides: {
          net: { bootstrap },
          capacity: { computeUnits: UNITS },
          prover: { command: [binary, 'serve'] }
        },
        daemon: { prover: true }
      })
    const first = await node([])
    daemons.push(first, await node([multiaddrOf(first)]), await node([multiaddrOf(first)]))
    await waitFor(
      () => daemons.every((daemon) => daemon.capacity.peers.size === daemons.length - 1),
      'every daemon to have the two others in its peer table',
      30_000
    )
  })

  after(async () => {
    await stopAll(daemons)
    await rm(dir, { recursive: true, force: true })
  })

  it('fails that peer alone, and the job succeeds', async () => {
    const [submitter, , faulty] = daemons as [Daemon, Daemon, Daemon]
    const faultyId = faulty.node.peerId.toString()
    // serving: the stream is closed as it opens, as in the "Remote closed connection during opening"
    await faulty.node.unhandle(PROOF_PROTOCOL)
    await faulty.node.handle(PROOF_PROTOCOL, (stream) => {
      stream.abort(new Error('injected: the proof stream is closed at opening'))
    })
    // pulling (when it aggregates): every proof stream it opens fails the same way
    const dialProtocol = faulty.node.dialProtocol.bind(faulty.node)
    faulty.node.dialProtocol = async (peer, protocols, options) => {
      const wanted = Array.isArray(protocols) ? protocols : [protocols]
      if (wanted.includes(PROOF_PROTOCOL))
        throw new Error('injected: Remote closed connection during opening')
      return await dialProtocol(peer, protocols, options)
    }

    const input = join(dir, 'input.bin')
    await writeFile(input, randomBytes(INPUT_BYTES))
    const jobs = submitter.jobs
    assert.ok(jobs !== undefined, 'the submitter runs a job service')
    const submitted = await jobs.submit({
      program: 'rescue-sponge',
      inputMode: 'data',
      input,
      // its own 2 units and one from each of the others: a peer grants a job of this size no more than 1
      computeCapacity: UNITS + 2
    })
    let record: JobRecord | undefined
    const seen = (): string =>
      JSON.stringify({
        state: record?.state,
        aggregator: record?.aggregator,
        peers: record?.peers.map((peer) => [peer.peerId, peer.state, peer.failure?.code]),
        segments: record?.segments.map((segment) => [segment.peerId, segment.state])
      })
    await waitFor(
      () => {
        record = jobs.get(submitted.id)
        return record !== undefined && TERMINAL_STATES.includes(record.state)
      },
      'the job to end',
      JOB_DEADLINE_MS,
      250
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}; the job was ${seen()}`)
    })
    const done = record as JobRecord
    const peers = done.peers.map((peer) => ({ peer: peer.peerId, state: peer.state, failure: peer.failure }))
    assert.equal(
      done.state,
      'succeeded',
      `${done.error?.code}: ${done.error?.message}; peers ${JSON.stringify(peers)}`
    )
    const failed = done.peers.filter((peer) => peer.state === 'failed')
    assert.deepEqual(
      failed.map((peer) => [peer.peerId, peer.failure?.code]),
      [[faultyId, 'TRANSFER']],
      `only the faulty peer fails, for its transfers: ${JSON.stringify(peers)}`
    )
    assert.ok(
      done.segments.every((segment) => segment.peerId !== faultyId),
      'its segments moved to the others'
    )
  })
})
