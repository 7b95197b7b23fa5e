import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { defaultProverBinary } from '../../src/config/index.js'
import type { PeerRow } from '../../src/daemon/daemon.js'
import type { JobRecord } from '../../src/jobs-model/types.js'
import { Journal } from '../../src/store/index.js'
import { type LocalNode, LocalNetwork } from '../../src/testnet/local-network.js'
import { api, poll } from '../helpers/api.js'
import { proofmesh } from '../helpers/cli.js'

const exec = promisify(execFile)
const PROVER = defaultProverBinary()
const PROGRAM = 'rescue-sponge'
/** A program only node 2 (cli) runs: the npp submitter cannot split it, nor verify its proof itself */
const WHOLE = 'sponge-whole'
/** A program only node 3 (cli) runs, whose prove template corrupts every proof it makes */
const BROKEN = 'sponge-broken'
const CORRUPT = fileURLToPath(new URL('../../../test/fixtures/prover/corrupt-cli.mjs', import.meta.url))
const PROVE_ARGS = 'prove-all --input {input} --job {job} --out {output} --work-dir {workdir}'

/** The config of a cli node: the reference prover's one-shot commands, under `program` */
function cliConfig(program: string, prove: string): string {
  return [
    '[prover]',
    'backend = "cli"',
    `cli_program = "${program}"`,
    `cli_prove = "${prove}"`,
    `cli_verify = "'${PROVER}' verify --proof {proof} --job {job}"`,
    ''
  ].join('\n')
}

/** Every submitter that leased units of this daemon, from its journal on disk */
function submittersOf(node: LocalNode): string[] {
  const journal = Journal.open(join(node.dataDir, 'journal.sqlite'))
  try {
    return journal.leases().map((lease) => lease.submitter)
  } finally {
    journal.close()
  }
}

/** The peers a submitter's job events name (leased, refused, released…), from its journal on disk */
function peersNamedBy(node: LocalNode, job: string): string[] {
  const journal = Journal.open(join(node.dataDir, 'journal.sqlite'))
  try {
    return journal
      .events(job, 0)
      .flatMap((event) => ('peer' in event && event.peer !== undefined ? [event.peer] : []))
  } finally {
    journal.close()
  }
}

/**
 * Node 0 runs the reference prover over NPP; node 1 runs the same prover through its one-shot commands only
 * (backend = "cli", the way a ZisK operator would), under the same program id; node 2 the same under a program id
 * only it runs; node 3 too, but its prove template corrupts each proof.
 */
describe('a cli prover proves whole jobs across daemon processes', () => {
  let network: LocalNetwork
  let root: string
  let npp: LocalNode
  let cli: LocalNode
  let whole: LocalNode
  let broken: LocalNode

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'proofmesh-cli-prover-'))
    const configs = [
      cliConfig(PROGRAM, `'${PROVER}' ${PROVE_ARGS}`),
      cliConfig(WHOLE, `'${PROVER}' ${PROVE_ARGS}`),
      cliConfig(BROKEN, `'${process.execPath}' '${CORRUPT}' {output} '${PROVER}' ${PROVE_ARGS}`)
    ]
    const paths = configs.map((_, index) => join(root, `cli-${index + 1}.toml`))
    await Promise.all(paths.map(async (path, index) => writeFile(path, configs[index] ?? '')))
    network = new LocalNetwork({
      nodes: 4,
      root,
      advertInterval: '1s',
      nodeArgs: (index) => [
        '--compute-units',
        '2',
        ...(index === 0 ? [] : ['--config', paths[index - 1] ?? ''])
      ]
    })
    await network.start()
    await network.converge()
    ;[npp, cli, whole, broken] = network.nodes as [LocalNode, LocalNode, LocalNode, LocalNode]
  })

  after(async () => {
    await network.stop()
    await network.remove()
  })

  /** Node 0's row of `node` once it has the node's advert with its prover */
  async function seenByNpp(node: LocalNode): Promise<PeerRow> {
    let seen = 'no row yet'
    return poll(
      () => `node 0 to see ${node.status.peerId}'s advert with its prover (last: ${seen})`,
      60_000,
      async () => {
        const rows = await api<PeerRow[]>(npp, '/v1/peers')
        const found = rows.find((candidate) => candidate.peerId === node.status.peerId)
        seen = JSON.stringify(found?.capacity.prover ?? null)
        return found?.capacity.prover == null ? undefined : found
      }
    )
  }

  it('advertises itself as cli, and the other peer sees it so', async () => {
    const row = await seenByNpp(cli)
    assert.equal(row.capacity.prover?.backend, 'cli')
    assert.deepEqual(row.capacity.programs, [PROGRAM])
    const text = await proofmesh(['peers', '--data-dir', npp.dataDir])
    assert.equal(text.code, 0, text.stderr)
    assert.match(text.stdout, /\[cli: whole jobs\] +rescue-sponge/)
  })

  it('proves its own job with the prove template and checks it with the verify template', async () => {
    const input = join(root, 'own.bin')
    await writeFile(input, randomBytes(100_000))
    const out = join(root, 'own.proof')
    const run = await proofmesh(
      ['prove', '--data-dir', cli.dataDir, '-x', '--inputs', input, '-c', '2', '--out', out, '--json'],
      300_000
    )
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`)
    const job = JSON.parse(run.stdout) as JobRecord
    assert.equal(job.state, 'succeeded')
    assert.deepEqual(
      job.peers.map((peer) => [peer.peerId, peer.local, peer.state]),
      [[cli.status.peerId, true, 'released']]
    )
    assert.equal(job.segments.length, 1)
    assert.equal(job.segments[0]?.inputLength, 100_000)
    // the proof came from the real prover: its own verifier accepts it against the input and the job
    const verified = await exec(PROVER, ['verify', '--proof', out, '--input', input, '--job', job.id])
    assert.match(verified.stdout, /"valid":\s*true/)
    assert.deepEqual(submittersOf(cli), [cli.status.peerId], 'its units were booked for its own job')

    // `proofmesh verify --data-dir` checks it with the prover that daemon runs (its cli_verify), not the defaults
    const args = ['verify', out, '--data-dir', cli.dataDir, '--job', job.id]
    const valid = await proofmesh(args)
    assert.equal(valid.code, 0, `${valid.stdout}\n${valid.stderr}`)
    assert.match(valid.stdout, new RegExp(`^valid: digest not reported \\(job ${job.id}\\)`))
    const unknown = await proofmesh([...args, '--program', 'no-such-program'])
    assert.equal(unknown.code, 2, 'an unknown program is a usage error')
    assert.match(unknown.stderr, /--program no-such-program: this prover runs rescue-sponge/)
    const noJob = await proofmesh(['verify', out, '--data-dir', cli.dataDir])
    assert.equal(noJob.code, 2)
    assert.match(noJob.stderr, /\{job\}.*pass --job/)
    const tampered = join(root, 'tampered.proof')
    const bytes = await readFile(out)
    const middle = bytes.length >> 1
    bytes.writeUInt8(bytes.readUInt8(middle) ^ 0x55, middle)
    await writeFile(tampered, bytes)
    const invalid = await proofmesh(['verify', tampered, '--data-dir', cli.dataDir, '--job', job.id])
    assert.equal(invalid.code, 1, 'an invalid proof, and only that, exits 1')
    assert.match(invalid.stdout, /^invalid: /)
  })

  it('is not leased by a segmenting submitter, which proves with its own units instead', async () => {
    const input = join(root, 'other.bin')
    await writeFile(input, randomBytes(100_000))
    const run = await proofmesh(
      ['prove', '--data-dir', npp.dataDir, '-x', '--inputs', input, '-c', '4', '-m', '1', '--wait', '--json'],
      300_000
    )
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`)
    const job = JSON.parse(run.stdout) as JobRecord
    assert.equal(job.state, 'succeeded')
    assert.deepEqual(
      job.peers.map((peer) => peer.peerId),
      [npp.status.peerId]
    )
    assert.ok(!submittersOf(cli).includes(npp.status.peerId), 'the cli peer granted it nothing')
    const named = peersNamedBy(npp, job.id)
    assert.ok(named.includes(npp.status.peerId), `the job's events name its peers: ${named.join(', ')}`)
    assert.ok(!named.includes(cli.status.peerId), 'the cli peer was never asked for units (not even refused)')
  })

  /** Node 0 proves `bytes` random bytes of `program` through `proofmesh prove --out`, once it sees `peer`'s advert */
  async function proveOnNpp(peer: LocalNode, program: string, bytes: number) {
    await seenByNpp(peer)
    const input = join(root, `${program}.bin`)
    await writeFile(input, randomBytes(bytes))
    const out = join(root, `${program}.proof`)
    const args = ['--inputs', input, '--program', program, '-c', '1', '--out', out, '--json']
    const run = await proofmesh(['prove', '--data-dir', npp.dataDir, '-x', ...args], 300_000)
    return { input, out, run }
  }

  it("proves an npp submitter's job of a program only a cli peer runs, whole, on that peer", async () => {
    const { input, out, run } = await proveOnNpp(whole, WHOLE, 100_000)
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`)
    const job = JSON.parse(run.stdout) as JobRecord
    assert.equal(job.state, 'succeeded')
    assert.deepEqual(
      job.peers.map((peer) => [peer.peerId, peer.local, peer.state]),
      [[whole.status.peerId, false, 'released']]
    )
    assert.equal(job.segments.length, 1)
    assert.equal(job.segments[0]?.inputLength, 100_000)
    assert.equal(job.bytesOut, 100_000, 'the input crossed to the cli peer once, whole')
    // node 0 runs no prover for the program: it says the proof is the cli peer's word, and never calls it verified
    assert.match(job.proof?.unverified ?? '', new RegExp(`runs no prover for ${WHOLE}`))
    assert.equal(job.digest, undefined)
    assert.deepEqual(submittersOf(whole), [npp.status.peerId], 'node 0 leased the cli peer')
    // the proof is the real prover's: its verifier accepts it against the input and the job, and so does
    // `proofmesh verify` with the cli peer's own verify template
    const verified = await exec(PROVER, ['verify', '--proof', out, '--input', input, '--job', job.id])
    assert.match(verified.stdout, /"valid":\s*true/)
    const valid = await proofmesh(['verify', out, '--data-dir', whole.dataDir, '--job', job.id])
    assert.equal(valid.code, 0, `${valid.stdout}\n${valid.stderr}`)
  })

  it('fails a whole job whose cli peer makes a corrupt proof, and saves nothing', async () => {
    const { out, run } = await proveOnNpp(broken, BROKEN, 50_000)
    assert.equal(run.code, 1, `${run.stdout}\n${run.stderr}`)
    const job = (
      await api<JobRecord[]>(npp, '/v1/jobs').then((jobs) => jobs.filter((j) => j.request.program === BROKEN))
    )[0]
    assert.ok(job !== undefined, 'node 0 recorded the job')
    assert.equal(job.state, 'failed')
    assert.equal(job.error?.code, 'PROOF_INVALID', JSON.stringify(job.error))
    assert.equal(job.proof, undefined, 'no proof recorded')
    assert.deepEqual(
      job.peers.map((peer) => [peer.peerId, peer.state, peer.failure?.code]),
      [[broken.status.peerId, 'failed', 'PROOF_INVALID']]
    )
    await assert.rejects(readFile(out), 'no proof written where --out points')
    await assert.rejects(readFile(join(npp.dataDir, 'proofs', `${job.id}.proof`)), 'none saved on the daemon')
  })
})
