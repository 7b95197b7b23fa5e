import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { JobRecord } from '../../src/jobs-model/types.js'
import { type LocalNode, LocalNetwork } from '../../src/testnet/local-network.js'
import { repoRoot } from '../fixtures/prover/helpers.js'
import { proofmesh } from '../helpers/cli.js'

const PROVER = join(repoRoot, 'examples/python-prover/prover.py')
const PROGRAM = 'sha256-chain'
const BLOCK_BYTES = 4096
const python = spawnSync('python3', ['--version']).status === 0
const skip = python ? false : 'python3 is not installed: the Python example prover cannot run'

/** The example's statement, recomputed here: s_0 = SHA-256(tag ‖ u64be(size)), s_b+1 = SHA-256(s_b ‖ block b) */
function chainDigest(input: Buffer): string {
  const size = Buffer.alloc(8)
  size.writeBigUInt64BE(BigInt(input.length))
  let state = createHash('sha256').update('pm-py/chain/init').update(size).digest()
  for (let at = 0; at < input.length; at += BLOCK_BYTES) {
    state = createHash('sha256')
      .update(state)
      .update(input.subarray(at, at + BLOCK_BYTES))
      .digest()
  }
  return state.toString('hex')
}

/** Three daemons, each running the Python example prover through prover.command */
describe('the Python example prover proves a job across daemon processes', { skip }, () => {
  let network: LocalNetwork
  let root: string

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'proofmesh-python-prover-'))
    const config = join(root, 'python.toml')
    await writeFile(config, `[prover]\ncommand = ["python3", ${JSON.stringify(PROVER)}]\n`)
    network = new LocalNetwork({
      nodes: 3,
      root,
      advertInterval: '1s',
      nodeArgs: () => ['--compute-units', '2', '--config', config]
    })
    await network.start()
    await network.converge()
  })

  after(async () => {
    await network.stop()
    await network.remove()
  })

  it('splits the job over the three peers and its proof verifies', async () => {
    const [submitter] = network.nodes as [LocalNode]
    const bytes = randomBytes(3 * 1024 * 1024 + 123)
    const input = join(root, 'input.bin')
    await writeFile(input, bytes)
    const out = join(root, 'final.proof')
    const run = await proofmesh(
      [
        'prove',
        '--data-dir',
        submitter.dataDir,
        '-x',
        '--inputs',
        input,
        '--program',
        PROGRAM,
        '-c',
        '6',
        '--out',
        out,
        '--json'
      ],
      300_000
    )
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`)
    const job = JSON.parse(run.stdout) as JobRecord
    assert.equal(job.state, 'succeeded')
    const peers = new Set(job.peers.map((peer) => peer.peerId))
    assert.equal(peers.size, 3, `the job ran on ${[...peers].join(', ')}`)
    assert.ok(job.segments.length >= 3, `${job.segments.length} segments`)

    const verified = await proofmesh([
      'verify',
      out,
      '--data-dir',
      submitter.dataDir,
      '--program',
      PROGRAM,
      '--job',
      job.id
    ])
    assert.equal(verified.code, 0, `${verified.stdout}\n${verified.stderr}`)
    assert.match(verified.stdout, new RegExp(`^valid: ${chainDigest(bytes)} `))
  })
})
