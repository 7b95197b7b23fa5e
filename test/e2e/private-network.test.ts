import assert from 'node:assert/strict'
import { mkdtemp, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { writeRandomFile } from '../../node/random-file.js'
import type { JobRecord } from '../../src/jobs-model/types.js'
import { writeSwarmKey } from '../../src/net/swarm-key.js'
import { type LocalNode, LocalNetwork } from '../../src/testnet/local-network.js'
import { proofmesh } from '../helpers/cli.js'

/** The job that killed its submitter with @libp2p/pnet 3.0.27 (issue 11): 16 MiB in data mode on 127.0.0.1 */
const INPUT_BYTES = 16 * 1024 * 1024

/** What a daemon's log says about an uncaught error or a crash, if anything */
async function crashIn(node: LocalNode): Promise<string | undefined> {
  const log = await readFile(node.logFile, 'utf8')
  return log.split('\n').find((line) => /RangeError|uncaught|WebAssembly/i.test(line))
}

describe('a private network of daemon processes', () => {
  let root: string
  let key: string
  let network: LocalNetwork

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'proofmesh-pnet-e2e-'))
    key = join(root, 'swarm.key')
    await writeSwarmKey(key)
    network = new LocalNetwork({
      nodes: 3,
      root,
      advertInterval: '1s',
      extraArgs: ['--swarm-key', key, '--compute-units', '2']
    })
    await network.start()
    await network.converge()
  })

  after(async () => {
    await network.stop()
    await network.remove()
  })

  it('answers `status --peer` with the key, and without it says that a key may be missing', async () => {
    const peer = network.nodes[1]!.status.addrs[0]!
    const scratch = join(root, 'no-daemon')
    const keyed = await proofmesh(['status', '--data-dir', scratch, '--peer', peer, '--swarm-key', key])
    assert.equal(keyed.code, 0, keyed.stderr)
    assert.match(keyed.stdout, new RegExp(network.nodes[1]!.status.peerId))
    const keyless = await proofmesh(['status', '--data-dir', scratch, '--peer', peer])
    assert.equal(keyless.code, 1)
    assert.match(keyless.stderr, /no status from .*--swarm-key/)
  })

  it('proves a 16 MiB data-mode job and verifies it, and every daemon is still up', async () => {
    const nodes = network.nodes
    for (const node of nodes) {
      assert.match(
        await readFile(node.logFile, 'utf8'),
        /"private":true/,
        `node ${node.index} runs privately`
      )
    }
    const input = join(root, 'input.bin')
    await writeRandomFile(input, INPUT_BYTES)
    const out = join(root, 'input.proof')
    const submitter = nodes[0]!.dataDir
    const flags = ['-x', '--inputs', input, '-c', '6', '--out', out]
    const run = await proofmesh(['prove', '--data-dir', submitter, ...flags, '--wait', '--json'], 600_000)
    const crashes = await Promise.all(nodes.map(crashIn))
    assert.deepEqual(crashes, [undefined, undefined, undefined], 'no daemon logged an uncaught error')
    assert.equal(run.code, 0, `prove: ${run.stderr}`)
    const job = JSON.parse(run.stdout) as JobRecord
    assert.equal(job.state, 'succeeded')
    assert.equal(job.inputSize, INPUT_BYTES)
    const verified = await proofmesh(['verify', out, '--input', input])
    assert.equal(verified.code, 0, verified.stderr)
    for (const node of nodes) {
      assert.equal(node.process.exitCode, null, `node ${node.index} exited (log: ${node.logFile})`)
      assert.equal(node.process.signalCode, null, `node ${node.index} was killed (log: ${node.logFile})`)
    }
  })
})
