import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { LocalNetwork } from '../../src/testnet/local-network.js'
import { formatKeepHelp } from '../../node/commands/testnet.js'
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

  it('names the value a numeric flag was given, with exit 2', async () => {
    for (const [args, pattern] of [
      [['prove', '-i', 'x.bin', '-c', 'abc'], /--compute-capacity takes an integer from 1 to \d+, got "abc"/],
      [
        ['prove', '-i', 'x.bin', '-c', '4', '--priority', '1e9'],
        /--priority takes an integer from -1000 to 1000, got 1000000000/
      ],
      [
        ['daemon', '--compute-units', 'banana', '--data-dir', join(scratch, 'banana')],
        /--compute-units takes an integer of at least 0, got "banana"/
      ],
      [['demo', '--nodes', 'many'], /--nodes takes an integer from 2 to 8, got "many"/],
      [['bench', 'load', '-n', ''], /--jobs takes an integer from 1 to \d+, got nothing/]
    ] as const) {
      const run = await proofmesh([...args])
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`)
      assert.match(run.stderr, pattern)
      assert.doesNotMatch(run.stderr, /something else|got null|NaN/)
    }
  })

  it('takes a malformed --digest as a usage error, before any prover runs', async () => {
    const proof = join(scratch, 'some.proof')
    await writeFile(proof, 'not a proof')
    for (const digest of ['00ff', 'xyz', 'abc']) {
      const run = await proofmesh(['verify', proof, '--digest', digest])
      assert.equal(run.code, 2, `--digest ${digest}: ${run.stderr}`)
      assert.match(run.stderr, /--digest/)
    }
    const short = await proofmesh(['verify', proof, '--digest', '00ff'])
    assert.match(short.stderr, /a rescue-sponge digest is 32 bytes \(64 hex digits\), this is 2/)
  })

  it('refuses a data dir it cannot make at once, with exit 2 and the folder named', async () => {
    const file = join(scratch, 'a-file')
    await writeFile(file, '')
    const under = await proofmesh(['daemon', '--data-dir', join(file, 'node')], 30_000)
    assert.equal(under.code, 2, under.stderr)
    assert.match(under.stderr, new RegExp(`data_dir: ${file} is not a folder`))
    if (existsSync('/proc/self')) {
      // Node's own recursive mkdir spun here forever, silently
      const proc = await proofmesh(['daemon', '--data-dir', '/proc/nope'], 30_000)
      assert.equal(proc.code, 2, proc.stderr)
      assert.match(
        proc.stderr,
        /data_dir: cannot create the folder \/proc\/nope: \/proc takes no new folders/
      )
    }
  })

  it('rotates the token of a data dir no daemon runs on', async () => {
    const dataDir = join(scratch, 'idle')
    const run = await proofmesh(['token', 'rotate', '--data-dir', dataDir])
    assert.equal(run.code, 0, run.stderr)
    assert.match(run.stdout, /no daemon runs on .*the next one to start uses it/)
    const first = await readFile(join(dataDir, 'api.token'), 'utf8')
    assert.match(first, /^[0-9a-f]{64}\n$/)
    assert.equal((await stat(join(dataDir, 'api.token'))).mode & 0o777, 0o600)
    assert.equal((await proofmesh(['token', 'rotate', '--data-dir', dataDir])).code, 0)
    assert.notEqual(await readFile(join(dataDir, 'api.token'), 'utf8'), first)
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

  it('prints the page\u2019s address, with the token only on request', async () => {
    const node = network.nodes[0]
    assert.ok(node)
    const plain = await proofmesh(['ui', '--data-dir', node.dataDir])
    assert.equal(plain.code, 0, plain.stderr)
    assert.equal(plain.stdout.trim(), `${node.api.url}/ui`)
    assert.ok(!`${plain.stdout}${plain.stderr}`.includes(node.token), 'no token unless asked')
    assert.match(plain.stderr, /--show-token/)
    const shown = await proofmesh(['ui', '--data-dir', node.dataDir, '--show-token'])
    assert.equal(shown.code, 0, shown.stderr)
    assert.equal(shown.stdout.trim(), `${node.api.url}/ui#token=${node.token}`)
  })

  it('rotates the token of a running daemon: the old one stops working at once, the CLI goes on', async () => {
    const node = network.nodes[1]
    assert.ok(node)
    const status = async (token: string): Promise<number> =>
      (await fetch(new URL('/v1/status', node.api.url), { headers: { authorization: `Bearer ${token}` } }))
        .status
    assert.equal(await status(node.token), 200)
    const run = await proofmesh(['token', 'rotate', '--data-dir', node.dataDir])
    assert.equal(run.code, 0, run.stderr)
    assert.match(run.stdout, /the daemon \(pid \d+\) uses it now/)
    const fresh = (await readFile(join(node.dataDir, 'api.token'), 'utf8')).trim()
    assert.notEqual(fresh, node.token)
    assert.ok(!run.stdout.includes(fresh), 'the new token stays in its file')
    assert.equal(await status(node.token), 401)
    assert.equal(await status(fresh), 200)
    const after = await proofmesh(['status', '--data-dir', node.dataDir, '--json'])
    assert.equal(after.code, 0, after.stderr)
  })

  it('exits 2 for a job id the daemon has no job of', async () => {
    const node = network.nodes[0]
    assert.ok(node)
    for (const command of ['job', 'cancel']) {
      const run = await proofmesh([command, 'noSuchJob', '--data-dir', node.dataDir])
      assert.equal(run.code, 2, `${command}: ${run.stderr}`)
      assert.match(run.stderr, /no job noSuchJob on this daemon/)
    }
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
  it('says, with --keep, which --data-dir addresses each node', () => {
    const help = formatKeepHelp(['/tmp/t/node-0', '/tmp/t/node-1'])
    assert.match(help, /^ {2}node 0 {2}--data-dir \/tmp\/t\/node-0$/m)
    assert.match(help, /^ {2}node 1 {2}--data-dir \/tmp\/t\/node-1$/m)
    assert.match(help, /^ {2}proofmesh status --data-dir \/tmp\/t\/node-0$/m)
  })

  it('starts three daemons and prints every peer table', async () => {
    const run = await proofmesh(['testnet', '--nodes', '3'], 120_000)
    assert.equal(run.code, 0, run.stderr)
    assert.equal(run.stdout.match(/^node \d/gm)?.length, 3)
    assert.equal(run.stdout.match(/^12D3KooW/gm)?.length, 6, 'each table lists the two other nodes')
  })
})
