import assert from 'node:assert/strict'
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { createServer as createHttpServer } from 'node:http'
import { createServer as createNetServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { promisify } from 'node:util'
import { defaultProverBinary } from '../../src/config/index.js'
import type { LeaseRecord } from '../../src/jobs-model/lease.js'
import type { JobRecord } from '../../src/jobs-model/types.js'
import { readApiAddress, readApiToken } from '../../src/rpc/http/credentials.js'
import { Journal } from '../../src/store/index.js'
import { type LocalNode, LocalNetwork } from '../../src/testnet/local-network.js'
import { CLI, proofmesh } from '../helpers/cli.js'
import { api, poll } from '../helpers/api.js'

const exec = promisify(execFile)
const PROVER = defaultProverBinary()

async function jobState(
  node: LocalNode,
  id: string,
  states: string[],
  timeoutMs = 120_000
): Promise<JobRecord> {
  let seen = 'no answer yet'
  return poll(
    () => `job ${id} to reach ${states.join('/')} (last seen: ${seen})`,
    timeoutMs,
    async () => {
      const job = await api<JobRecord>(node, `/v1/jobs/${id}`)
      seen = job.state
      return states.includes(job.state) ? job : undefined
    }
  )
}

/** Worker-side bytes received, by kind, from a daemon's /metrics */
async function bytesIn(node: LocalNode): Promise<Record<string, number>> {
  const response = await fetch(new URL('/metrics', node.api.url), {
    headers: { authorization: `Bearer ${node.token}` }
  })
  const text = await response.text()
  const counts: Record<string, number> = {}
  for (const match of text.matchAll(/^proofmesh_worker_bytes_in_total\{kind="(\w+)"\} (\d+)/gm)) {
    counts[match[1] as string] = Number(match[2])
  }
  return counts
}

async function hashOf(file: string): Promise<string> {
  return (JSON.parse((await exec(PROVER, ['hash', file])).stdout) as { digest: string }).digest
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

/** The most units booked at once, over every moment a lease started */
function peakUnits(leases: LeaseRecord[]): number {
  let peak = 0
  for (const lease of leases) {
    const at = lease.grantedAt
    const booked = leases
      .filter((other) => other.grantedAt <= at && (other.endedAt ?? Number.MAX_SAFE_INTEGER) > at)
      .reduce((sum, other) => sum + other.units, 0)
    peak = Math.max(peak, booked)
  }
  return peak
}

describe('jobs proved across daemon processes', () => {
  let network: LocalNetwork
  let root: string
  let nodes: LocalNode[]
  /** Units each offering daemon has (its CPU cores) and in all */
  let unitsEach: number
  let unitsAll: number

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'proofmesh-jobs-'))
    network = new LocalNetwork({
      nodes: 4,
      root,
      advertInterval: '1s',
      // node 3 offers nothing: it only submits
      nodeArgs: (index) => (index === 3 ? ['--no-offer'] : ['--compute-units', '2'])
    })
    await network.start()
    await network.converge()
    nodes = network.nodes
    unitsEach = 2
    unitsAll = 3 * unitsEach
  })

  after(async () => {
    await network.stop()
    await network.remove()
  })

  it('proves a data-mode job: the proof verifies against the input, a changed byte is refused, peers got only their slices', async () => {
    const input = join(root, 'data.bin')
    await writeFile(input, randomBytes(300_000))
    const before = await Promise.all(nodes.map(bytesIn))
    const out = join(root, 'data.proof')
    const run = await proofmesh(
      [
        'prove',
        '--data-dir',
        nodes[0]!.dataDir,
        '-x',
        '--inputs',
        input,
        '-c',
        String(unitsAll),
        '--wait',
        '--out',
        out,
        '--json'
      ],
      180_000
    )
    assert.equal(run.code, 0, run.stderr)
    const job = JSON.parse(run.stdout) as JobRecord
    assert.equal(job.state, 'succeeded')
    assert.equal(job.peers.length, 3)
    const digest = await hashOf(input)
    assert.equal(job.digest, digest)
    const verified = await proofmesh(['verify', out, '--input', input])
    assert.equal(verified.code, 0, verified.stderr)
    assert.match(verified.stdout, new RegExp(digest))
    const tampered = join(root, 'tampered.proof')
    const bytes = await readFile(out)
    const middle = Math.floor(bytes.length / 2)
    bytes.writeUInt8(bytes.readUInt8(middle) ^ 0x01, middle)
    await writeFile(tampered, bytes)
    const refused = await proofmesh(['verify', tampered, '--input', input])
    assert.equal(refused.code, 1)
    // counted on the peers: each remote peer received exactly its segments' slices, far less than the input
    const afterward = await Promise.all(nodes.map(bytesIn))
    for (const peer of job.peers.filter((candidate) => !candidate.local)) {
      const index = nodes.findIndex((node) => node.status.peerId === peer.peerId)
      const received = (afterward[index]?.input ?? 0) - (before[index]?.input ?? 0)
      const own = job.segments
        .filter((segment) => segment.peerId === peer.peerId)
        .reduce((sum, segment) => sum + segment.inputLength, 0)
      assert.equal(received, own, `peer ${index} received its slices only`)
      assert.ok(received < job.inputSize! / 2)
    }
    assert.ok(job.bytesOut <= job.inputSize! * 1.1, 'about one copy uploaded in all')
  })

  it('proves a path-mode job from every peer\u2019s own inputs folder', async () => {
    const bytes = randomBytes(150_000)
    for (const node of nodes) {
      await mkdir(join(node.dataDir, 'inputs'), { recursive: true })
      await writeFile(join(node.dataDir, 'inputs', 'block.bin'), bytes)
    }
    const run = await proofmesh(
      [
        'prove',
        '--data-dir',
        nodes[1]!.dataDir,
        '--inputs',
        'block.bin',
        '-c',
        String(unitsAll),
        '--wait',
        '--json'
      ],
      180_000
    )
    assert.equal(run.code, 0, run.stderr)
    const job = JSON.parse(run.stdout) as JobRecord
    assert.equal(job.digest, await hashOf(join(nodes[1]!.dataDir, 'inputs', 'block.bin')))
    const verified = await proofmesh([
      'verify',
      job.proof!.path!,
      '--input',
      join(nodes[0]!.dataDir, 'inputs', 'block.bin')
    ])
    assert.equal(verified.code, 0, verified.stderr)
  })

  it('says so when peers fail a path-mode job whose file only the submitter has: each one\u2019s reason, none of their paths', async () => {
    const submitter = nodes[2]!
    for (const node of nodes) await mkdir(join(node.dataDir, 'inputs'), { recursive: true })
    await writeFile(join(submitter.dataDir, 'inputs', 'only-here.bin'), randomBytes(150_000))
    const run = await proofmesh(
      [
        'prove',
        '--data-dir',
        submitter.dataDir,
        '--inputs',
        'only-here.bin',
        '-c',
        String(unitsAll),
        '--wait'
      ],
      180_000
    )
    // the proof holds (the submitter proved every segment itself), so the job succeeded: its summary says how
    assert.equal(run.code, 0, run.stderr)
    const id = /^job +(\S+) succeeded/m.exec(run.stdout)?.[1]
    assert.ok(id !== undefined, run.stdout)
    const job = await api<JobRecord>(submitter, `/v1/jobs/${id}`)
    const failed = job.peers.filter((peer) => peer.state === 'failed')
    assert.equal(failed.length, 2, JSON.stringify(job.peers))
    for (const peer of failed) {
      assert.equal(peer.failure?.code, 'INPUT')
      assert.equal(peer.failure?.message, 'input "only-here.bin" does not exist in the inputs folder')
    }
    assert.ok(job.segments.every((segment) => segment.peerId === submitter.status.peerId))
    assert.match(
      run.stdout,
      /^peers +3 peers, \d+ segments?; 2 of 3 peers failed; their segments moved to the others$/m
    )
    assert.equal(
      run.stdout.match(/failed: INPUT(?: \(segment \d+\))?: input "only-here\.bin" does not exist/g)?.length,
      2
    )
    assert.doesNotMatch(run.stdout, /0 segments/)
    const detail = await proofmesh(['job', id, '--data-dir', submitter.dataDir])
    assert.equal(detail.code, 0, detail.stderr)
    assert.match(detail.stdout, /^failed peers$/m)
    for (const peer of failed) {
      assert.match(
        detail.stdout,
        new RegExp(`^ {2}${peer.peerId} {2}INPUT(?: \\(segment \\d+\\))?: input "only-here`, 'm')
      )
    }
    // the other machines' data dirs appear nowhere; no line printed says "failed" twice
    for (const text of [run.stdout, run.stderr, detail.stdout, JSON.stringify(job)]) {
      for (const other of [nodes[0]!, nodes[1]!]) assert.ok(!text.includes(other.dataDir), text)
    }
    for (const line of `${run.stdout}\n${run.stderr}\n${detail.stdout}`.split('\n')) {
      assert.ok((line.match(/failed/gi) ?? []).length <= 1, line)
    }
  })

  it('refuses names outside the inputs folder: ../, an absolute path, a symlink out', async () => {
    const folder = join(nodes[0]!.dataDir, 'inputs')
    await mkdir(folder, { recursive: true })
    await writeFile(join(root, 'secret.bin'), 'secret')
    await symlink(join(root, 'secret.bin'), join(folder, 'link.bin'))
    for (const name of ['../secret.bin', join(root, 'secret.bin'), 'link.bin']) {
      const run = await proofmesh(['prove', '--data-dir', nodes[0]!.dataDir, '--inputs', name, '-c', '1'])
      assert.notEqual(run.code, 0, name)
      assert.match(run.stderr, /inputs folder/, name)
      assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace')
    }
  })

  it('takes a job from a peer with no units of its own, and from an ephemeral peer', async () => {
    const input = join(root, 'zero.bin')
    await writeFile(input, randomBytes(100_000))
    const run = await proofmesh(
      [
        'prove',
        '--data-dir',
        nodes[3]!.dataDir,
        '-x',
        '--inputs',
        input,
        '-c',
        String(unitsAll),
        '--wait',
        '--json'
      ],
      180_000
    )
    assert.equal(run.code, 0, run.stderr)
    const job = JSON.parse(run.stdout) as JobRecord
    assert.ok(
      job.peers.every((peer) => !peer.local),
      'the submitter worked on nothing'
    )
    const out = join(root, 'ephemeral.proof')
    const bootstrap = `${nodes[0]!.status.addrs[0]}`
    const ephemeral = await proofmesh(
      ['prove', '--ephemeral', '--bootstrap', bootstrap, '-x', '--inputs', input, '-c', '2', '--out', out],
      180_000
    )
    assert.equal(ephemeral.code, 0, ephemeral.stderr)
    assert.equal((await proofmesh(['verify', out, '--input', input])).code, 0)
  })

  it('proves with hints streamed from a unix socket', async () => {
    const input = join(root, 'hinted.bin')
    await writeFile(input, randomBytes(56 * 64))
    const hints = join(root, 'hints.json')
    // a state at every block, so any segment layout finds its boundaries
    await exec(PROVER, ['plan', '--input', input, '--max-segment-blocks', '1', '--hints-out', hints])
    const socket = join(root, 'hints.sock')
    const server = createNetServer((connection) => {
      void readFile(hints).then((bytes) => connection.end(bytes))
    })
    await new Promise<void>((resolve) => server.listen(socket, resolve))
    try {
      const run = await proofmesh(
        [
          'prove',
          '--data-dir',
          nodes[0]!.dataDir,
          '-x',
          '--inputs',
          input,
          '--hints',
          `unix://${socket}`,
          '--stream-hints',
          '-c',
          String(unitsAll),
          '--wait',
          '--json'
        ],
        120_000
      )
      assert.equal(run.code, 0, run.stderr)
      assert.equal((JSON.parse(run.stdout) as JobRecord).digest, await hashOf(input))
    } finally {
      server.close()
    }
  })

  it('fires the webhook on success and on failure', async () => {
    const received: Array<{
      path: string
      body: { job_id: string; success: boolean; error: { code: string } | null }
    }> = []
    const server = createHttpServer((request, response) => {
      let text = ''
      request.on('data', (chunk: Buffer) => (text += chunk.toString()))
      request.on('end', () => {
        received.push({
          path: request.url ?? '',
          body: JSON.parse(text) as (typeof received)[number]['body']
        })
        response.end('ok')
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const port = (server.address() as { port: number }).port
    try {
      const input = join(root, 'hook.bin')
      await writeFile(input, randomBytes(50_000))
      const hook = `http://127.0.0.1:${port}/hook/{$job_id}`
      const ok = await proofmesh(
        [
          'prove',
          '--data-dir',
          nodes[0]!.dataDir,
          '-x',
          '--inputs',
          input,
          '-c',
          '2',
          '--webhook-url',
          hook,
          '--wait',
          '--json'
        ],
        120_000
      )
      assert.equal(ok.code, 0, ok.stderr)
      const okId = (JSON.parse(ok.stdout) as JobRecord).id
      const failed = await proofmesh(
        [
          'prove',
          '--data-dir',
          nodes[0]!.dataDir,
          '-x',
          '--inputs',
          input,
          '-c',
          '1000',
          '--webhook-url',
          hook,
          '--wait'
        ],
        60_000
      )
      assert.equal(failed.code, 1)
      // a request above the whole network fails at once, naming both numbers
      assert.match(failed.stderr, new RegExp(`requested 1000 units.*network has ${unitsAll}`))
      await poll('both webhooks', 20_000, async () => (received.length >= 2 ? true : undefined))
      const success = received.find((hit) => hit.body.success)
      assert.equal(success?.path, `/hook/${okId}`)
      assert.equal(success?.body.job_id, okId)
      const failure = received.find((hit) => !hit.body.success)
      assert.equal(failure?.body.error?.code, 'CAPACITY')
    } finally {
      server.close()
    }
  })

  it('runs two jobs submitted at once from two peers, never booking a unit twice; a queued job starts when units free up', async () => {
    const input = join(root, 'pair.bin')
    await writeFile(input, randomBytes(200_000))
    const submit = async (node: LocalNode): Promise<JobRecord> =>
      api<JobRecord>(node, '/v1/jobs', {
        inputMode: 'data',
        input,
        computeCapacity: unitsAll,
        minimalComputeCapacity: unitsAll
      })
    const [first, second] = await Promise.all([submit(nodes[0]!), submit(nodes[1]!)])
    // each asks for the whole network: one of them waits in its submitter's queue for the other to end
    const waiting = await poll('one job to wait for units', 20_000, async () => {
      for (const [node, job] of [
        [nodes[0]!, first],
        [nodes[1]!, second]
      ] as const) {
        const now = await api<JobRecord>(node, `/v1/jobs/${job.id}`)
        if (now.waitingFor !== undefined) return now
      }
      return undefined
    })
    assert.match(waiting.waitingFor ?? '', /needs \d+ units, \d+ free/)
    const done = await Promise.all([
      jobState(nodes[0]!, first.id, ['succeeded', 'failed'], 240_000),
      jobState(nodes[1]!, second.id, ['succeeded', 'failed'], 240_000)
    ])
    assert.deepEqual(
      done.map((job) => job.state),
      ['succeeded', 'succeeded'],
      JSON.stringify(done.map((job) => job.error))
    )
    for (const node of nodes.slice(0, 3)) {
      const leases = leasesOf(node)
      assert.ok(leases.length > 0)
      assert.ok(
        peakUnits(leases) <= unitsEach,
        `node ${node.index} booked ${peakUnits(leases)} of ${unitsEach} units at once`
      )
    }
  })

  it('cancels a running job and every peer frees its units', async () => {
    const input = join(root, 'long.bin')
    await writeFile(input, randomBytes(4 * 1024 * 1024))
    const job = await api<JobRecord>(nodes[0]!, '/v1/jobs', {
      inputMode: 'data',
      input,
      computeCapacity: unitsAll
    })
    await jobState(nodes[0]!, job.id, ['proving'], 120_000)
    const started = Date.now()
    const cancel = await proofmesh(['cancel', job.id, '--data-dir', nodes[0]!.dataDir])
    assert.equal(cancel.code, 0, cancel.stderr)
    const ended = await jobState(nodes[0]!, job.id, ['cancelled'], 120_000)
    assert.equal(ended.error?.code, 'CANCELLED')
    let open: string[] = []
    await poll(
      () => `every lease of the job to end (still open on: ${open.join(', ')})`,
      120_000,
      async () => {
        open = nodes
          .slice(0, 3)
          .filter((node) =>
            leasesOf(node).some((lease) => lease.jobId === job.id && lease.endedAt === undefined)
          )
          .map((node) => `node ${node.index}`)
        return open.length === 0 ? true : undefined
      }
    )
    // the cancel reached every peer: no lease of the job merely ran out
    for (const node of nodes.slice(0, 3)) {
      for (const lease of leasesOf(node).filter((lease) => lease.jobId === job.id))
        assert.notEqual(lease.endReason, 'expired', `node ${node.index}'s lease ended by itself`)
    }
    // a figure, not a bound: a loaded machine takes longer, and that is no failure of cancel
    process.stderr.write(
      `cancel: every peer freed its units ${Date.now() - started} ms after \`proofmesh cancel\`\n`
    )
    // a `prove --wait` of its own follows a second job, cancelled the same way
    const waiting = proofmesh(
      ['prove', '--data-dir', nodes[0]!.dataDir, '-x', '--inputs', input, '-c', String(unitsAll), '--wait'],
      180_000
    )
    const followed = await poll('the job of prove --wait to run', 120_000, async () =>
      (await api<JobRecord[]>(nodes[0]!, '/v1/jobs')).find(
        (other) =>
          other.id !== job.id &&
          other.request.input === input &&
          ['contributing', 'proving'].includes(other.state)
      )
    )
    assert.equal((await proofmesh(['cancel', followed.id, '--data-dir', nodes[0]!.dataDir])).code, 0)
    const waited = await waiting
    assert.equal(waited.code, 1, waited.stderr)
    assert.match(waited.stderr, new RegExp(`^job ${followed.id} was cancelled$`, 'm'))
    assert.doesNotMatch(waited.stderr, /failed: CANCELLED/)
  })

  it('lists its jobs and serves their proofs after a SIGKILL and a restart', async () => {
    const node = nodes[0]!
    const before = await api<JobRecord[]>(node, '/v1/jobs')
    const proved = before.find((job) => job.state === 'succeeded')
    assert.ok(proved !== undefined)
    node.process.kill('SIGKILL')
    await new Promise((resolve) => node.process.once('exit', resolve))
    const restarted: ChildProcess = spawn(
      process.execPath,
      [
        CLI,
        'daemon',
        '--data-dir',
        node.dataDir,
        '--listen',
        '/ip4/127.0.0.1/tcp/0',
        '--api-port',
        '0',
        '--log-format',
        'json',
        '--compute-units',
        '2'
      ],
      { stdio: 'ignore', env: { ...process.env, PROOFMESH_CONFIG: '' } }
    )
    try {
      const address = await poll('the restarted daemon', 30_000, async () => {
        const found = await readApiAddress(node.dataDir).catch(() => undefined)
        return found?.pid === restarted.pid ? found : undefined
      })
      const token = await readApiToken(node.dataDir)
      const after = await api<JobRecord[]>({ api: address, token }, '/v1/jobs')
      assert.deepEqual(after.map((job) => job.id).sort(), before.map((job) => job.id).sort())
      const listed = await proofmesh(['jobs', '--data-dir', node.dataDir])
      assert.equal(listed.code, 0, listed.stderr)
      assert.match(listed.stdout, new RegExp(proved.id))
      const response = await fetch(new URL(`/v1/jobs/${proved.id}/proof`, address.url), {
        headers: { authorization: `Bearer ${token}` }
      })
      assert.equal(response.status, 200)
      const bytes = Buffer.from(await response.arrayBuffer())
      assert.equal(bytes.length, proved.proof?.size)
    } finally {
      restarted.kill('SIGTERM')
      await new Promise((resolve) => restarted.once('exit', resolve))
      await rm(join(node.dataDir, 'api.json'), { force: true })
    }
  })
})
