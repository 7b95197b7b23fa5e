import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { LocalNetwork } from '../../src/testnet/local-network.js'
import { proofmesh } from '../helpers/cli.js'

describe('the proofmesh command line', () => {
  let scratch: string

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'proofmesh-cli-'))
  })

  after(async () => rm(scratch, { recursive: true, force: true }))

  it('prints its version and explains every command with --help', async () => {
    const version = await proofmesh(['--version'])
    assert.equal(version.code, 0)
    assert.match(version.stdout, /^\d+\.\d+\.\d+/)
    for (const command of ['daemon', 'status', 'peers', 'config init', 'swarm-key', 'testnet']) {
      const help = await proofmesh([...command.split(' '), '--help'])
      assert.equal(help.code, 0, `${command} --help`)
      assert.match(help.stdout, new RegExp(`proofmesh ${command}`))
    }
    const none = await proofmesh([])
    assert.equal(none.code, 2)
    assert.match(none.stderr, /Name a command/)
  })

  it("answers a command's unknown flag with that command's help and exit 2", async () => {
    const run = await proofmesh(['daemon', '--bogus-flag'])
    assert.equal(run.code, 2, run.stderr)
    assert.match(run.stderr, /Unknown arguments?: bogus-flag/)
    assert.match(run.stderr, /--swarm-key/, "the daemon command's own options")
  })

  it('writes a commented config that a daemon accepts, and names the key of a bad one', async () => {
    const path = join(scratch, 'proofmesh.toml')
    assert.equal((await proofmesh(['config', 'init', '--output', path])).code, 0)
    const again = await proofmesh(['config', 'init', '--output', path])
    assert.notEqual(again.code, 0, 'refuses to overwrite')
    const bad = join(scratch, 'bad.toml')
    await writeFile(bad, '[capacity]\nadvert_interval = "fast"\n')
    const run = await proofmesh(['daemon', '--config', bad, '--data-dir', join(scratch, 'bad-node')])
    assert.notEqual(run.code, 0)
    assert.match(run.stderr, /capacity\.advert_interval/)
    assert.match(run.stderr, /duration/)
  })

  it('writes a swarm key and refuses to overwrite it', async () => {
    const key = join(scratch, 'swarm.key')
    assert.equal((await proofmesh(['swarm-key', key])).code, 0)
    assert.notEqual((await proofmesh(['swarm-key', key])).code, 0)
  })

  it('says clearly when no daemon runs', async () => {
    const run = await proofmesh(['status', '--data-dir', join(scratch, 'nobody')])
    assert.equal(run.code, 1)
    assert.match(run.stderr, /no running daemon/)
  })
})

describe('daemon processes driven from the command line', () => {
  let network: LocalNetwork

  before(async () => {
    network = new LocalNetwork({
      nodes: 3,
      root: await mkdtemp(join(tmpdir(), 'proofmesh-e2e-')),
      advertInterval: '500ms'
    })
    await network.start()
    await network.converge(20_000)
  })

  after(async () => {
    await network.stop()
    await network.remove()
  })

  it('lists the peers of the local daemon', async () => {
    const [first, second, third] = network.nodes
    assert.ok(first && second && third)
    const run = await proofmesh(['peers', '--data-dir', first.dataDir, '--json'])
    assert.equal(run.code, 0, run.stderr)
    const peers = JSON.parse(run.stdout) as Array<{ peerId: string }>
    assert.deepEqual(
      peers.map((peer) => peer.peerId).sort(),
      [second.status.peerId, third.status.peerId].sort()
    )
    const table = await proofmesh(['peers', '--data-dir', first.dataDir])
    assert.match(table.stdout, /PEER\s+ADDRESS\s+UNITS/)
    assert.ok(table.stdout.includes(second.status.peerId))
  })

  it('shows the status of the local daemon and of a remote peer', async () => {
    const [first, second] = network.nodes
    assert.ok(first && second)
    const local = await proofmesh(['status', '--data-dir', first.dataDir, '--json'])
    assert.equal(local.code, 0, local.stderr)
    assert.equal((JSON.parse(local.stdout) as { peerId: string }).peerId, first.status.peerId)
    const address = second.status.addrs[0]
    assert.ok(address)
    const remote = await proofmesh(['status', '--peer', address, '--json'])
    assert.equal(remote.code, 0, remote.stderr)
    const status = JSON.parse(remote.stdout) as { peerId: string; knownPeers: number }
    assert.equal(status.peerId, second.status.peerId)
    assert.equal(status.knownPeers, 2)
    const summary = await proofmesh(['status', '--peer', address])
    assert.match(summary.stdout, /peers\s+\d+ connected, 2 advertising/)
  })

  it('shuts down cleanly on SIGTERM and removes its API address', async () => {
    const last = network.nodes[2]
    assert.ok(last)
    const exited = new Promise<number | null>((resolve) => last.process.once('exit', (code) => resolve(code)))
    last.process.kill('SIGTERM')
    assert.equal(await exited, 0)
    assert.equal(existsSync(join(last.dataDir, 'api.json')), false)
  })
})

describe('proofmesh testnet (the README\u2019s main command today)', () => {
  it('starts three daemons and prints every peer table', async () => {
    const run = await proofmesh(['testnet', '--nodes', '3'], 120_000)
    assert.equal(run.code, 0, run.stderr)
    assert.equal(run.stdout.match(/^node \d/gm)?.length, 3)
    assert.equal(run.stdout.match(/^12D3KooW/gm)?.length, 6, 'each table lists the two other nodes')
  })
})
