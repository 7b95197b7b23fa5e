import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { after, before, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { shortPeerId } from '../../src/jobs-model/peer-id.js'
import type { JobEvent, JobPeerRecord, JobRecord } from '../../src/jobs-model/types.js'
import { ApiClient, SseParser } from '../../node/api-client.js'
import {
  buildProveRequest,
  checkProveFiles,
  ephemeralOptions,
  followJob,
  type ProveArgs,
  redrawText,
  runProve
} from '../../node/commands/prove.js'
import { formatDemoSummary } from '../../node/commands/demo.js'
import type { JobSession } from '../../node/ephemeral.js'
import { CliError } from '../../node/errors.js'
import {
  formatEventLine,
  formatJobDetail,
  formatJobsTable,
  formatJobSummary,
  JobProgress,
  progressBar
} from '../../node/format.js'

const PEER_A = '12D3KooWAbCdEfGhJkLmNpQrStUvWxYz1234567890aaaaAAAA'
const PEER_B = '12D3KooWZyXwVuTsRqPoNmLkJiHgFeDcBa0987654321bbbbBBBB'

/** Runs fn expecting a CliError; returns it */
async function cliError(fn: () => unknown): Promise<CliError> {
  try {
    await fn()
  } catch (err) {
    assert.ok(err instanceof CliError, `expected a CliError, got ${String(err)}`)
    assert.ok(!err.message.includes('\n'), `one line: ${err.message}`)
    return err
  }
  assert.fail('no error')
}

function usageError(args: ProveArgs, pattern: RegExp): Promise<void> {
  return cliError(() => buildProveRequest(args, '/work')).then((err) => {
    assert.equal(err.exitCode, 2, err.message)
    assert.match(err.message, pattern)
  })
}

const base: ProveArgs = { inputs: 'block-1.bin', 'compute-capacity': 8 }

function sampleRecord(overrides: Partial<JobRecord> = {}): JobRecord {
  return {
    id: 'job42',
    request: {
      program: 'rescue-sponge',
      inputMode: 'data',
      input: '/data/in.bin',
      computeCapacity: 8,
      minimalComputeCapacity: 4,
      priority: 0,
      dataId: 'in.bin',
      timeoutMs: 600_000,
      webhookUrl: '',
      saveProof: true
    },
    state: 'succeeded',
    submitter: PEER_A,
    createdAt: 10_000,
    updatedAt: 22_000,
    finishedAt: 22_000,
    inputSize: 3 * 1024 * 1024,
    inputSha256: 'ab'.repeat(32),
    peers: [
      { peerId: PEER_A, local: true, units: 4, leaseId: 'l1', state: 'released', bytesSent: 0 },
      { peerId: PEER_B, local: false, units: 4, leaseId: 'l2', state: 'released', bytesSent: 1_572_864 }
    ],
    segments: [0, 1, 2].map((index) => ({
      index,
      startBlock: index * 100,
      blockCount: 100,
      inputOffset: index * 1_000_000,
      inputLength: 1_000_000,
      inputSha256: 'cd'.repeat(32),
      peerId: index === 2 ? PEER_B : PEER_A,
      state: 'proved' as const,
      proveMillis: 1500 + index,
      proofSize: 40_000
    })),
    phases: {
      queue: { startedAt: 10_000, endedAt: 10_005 },
      reserve: { startedAt: 10_005, endedAt: 10_100 },
      plan: { startedAt: 10_100, endedAt: 10_600 },
      contribute: { startedAt: 10_600, endedAt: 12_000 },
      prove: { startedAt: 12_000, endedAt: 20_000 },
      aggregate: { startedAt: 20_000, endedAt: 21_500 },
      verify: { startedAt: 21_500, endedAt: 22_000 }
    },
    bytesOut: 1_572_864,
    digest: 'ef'.repeat(32),
    proof: { size: 123_456, sha256: '12'.repeat(32), path: '/home/u/.proofmesh/proofs/job42.proof' },
    ...overrides
  }
}

describe('prove: flags to the POST /v1/jobs body', () => {
  it('sends a name in path mode and only the fields given', () => {
    assert.deepEqual(buildProveRequest(base, '/work'), {
      inputMode: 'path',
      input: 'block-1.bin',
      computeCapacity: 8
    })
  })

  it('makes a --direct-inputs file and a hints file absolute', () => {
    assert.deepEqual(
      buildProveRequest(
        {
          ...base,
          'direct-inputs': true,
          inputs: 'data/in.bin',
          hints: '../hints.bin',
          'minimal-compute-capacity': 4,
          priority: -20,
          program: 'rescue-sponge',
          'data-id': 'block one',
          timeout: '10m',
          'webhook-url': 'https://hooks.example.org/x',
          'save-proofs': false
        },
        '/work/dir'
      ),
      {
        inputMode: 'data',
        input: '/work/dir/data/in.bin',
        computeCapacity: 8,
        program: 'rescue-sponge',
        hints: { kind: 'file', path: '/work/hints.bin' },
        minimalComputeCapacity: 4,
        priority: -20,
        dataId: 'block one',
        timeoutMs: 600_000,
        webhookUrl: 'https://hooks.example.org/x',
        saveProof: false
      }
    )
  })

  it('streams hints from a unix socket only with --stream-hints', async () => {
    assert.deepEqual(
      buildProveRequest({ ...base, hints: 'unix:///run/h.sock', 'stream-hints': true }, '/work').hints,
      { kind: 'socket', path: '/run/h.sock' }
    )
    await usageError({ ...base, hints: 'unix:///run/h.sock' }, /add --stream-hints/)
    await usageError({ ...base, 'stream-hints': true }, /--stream-hints needs --hints/)
  })

  it('refuses bad numbers with one line and exit 2', async () => {
    await usageError({ inputs: 'x' }, /--compute-capacity is required/)
    await usageError({ ...base, 'compute-capacity': 0 }, /--compute-capacity takes an integer/)
    await usageError({ ...base, 'compute-capacity': 2.5 }, /--compute-capacity takes an integer/)
    await usageError({ ...base, 'compute-capacity': Number.NaN }, /--compute-capacity .* got NaN/)
    await usageError({ ...base, 'minimal-compute-capacity': 0 }, /--minimal-compute-capacity takes/)
    await usageError({ ...base, 'minimal-compute-capacity': 9 }, /is more than --compute-capacity 8/)
    await usageError({ ...base, priority: 5000 }, /--priority takes an integer from -1000 to 1000/)
  })

  it('checks the timeout, the program and the other fields before sending', async () => {
    await usageError({ ...base, timeout: 'soon' }, /--timeout soon: expected a duration/)
    await usageError({ ...base, timeout: '500ms' }, /at least 1s/)
    await usageError({ ...base, program: 'No Such' }, /--program/)
    await usageError({ ...base, 'data-id': 'x'.repeat(200) }, /^--data-id: dataId/)
    await usageError({ ...base, 'webhook-url': 'ftp://x' }, /^--webhook-url: webhookUrl/)
    await usageError({ ...base, inputs: '' }, /--inputs is required/)
    await usageError({ ...base, inputs: '/abs/in.bin' }, /pass -x/)
  })

  it('wants a readable, non-empty regular file for --direct-inputs and --hints', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'proofmesh-cli-prove-'))
    try {
      const input = join(dir, 'in.bin')
      const empty = join(dir, 'empty.bin')
      await writeFile(input, 'data')
      await writeFile(empty, '')
      const body = (inputs: string, hints?: string): ReturnType<typeof buildProveRequest> =>
        buildProveRequest({ ...base, 'direct-inputs': true, inputs, hints }, dir)
      await checkProveFiles(body(input))
      for (const [args, pattern] of [
        [body(join(dir, 'missing.bin')), /missing.bin: no such file/],
        [body(empty), /empty.bin is empty/],
        [body(dir), /is not a regular file/],
        [body(input, join(dir, 'nohints')), /--hints .*nohints: no such file/]
      ] as const) {
        const err = await cliError(() => checkProveFiles(args))
        assert.equal(err.exitCode, 2)
        assert.match(err.message, pattern)
      }
      // Path mode: the peers read the name, nothing to check here
      await checkProveFiles(buildProveRequest(base, dir))
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('checks the --ephemeral flags', async () => {
    const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const address = `/ip4/10.0.0.5/tcp/4001/p2p/${peer}`
    const body = buildProveRequest(base)
    const options = await ephemeralOptions(
      { ...base, ephemeral: true, bootstrap: [address], out: 'final.proof', json: true },
      body
    )
    assert.deepEqual(options.bootstrap, [address])
    assert.equal(options.saveProof, true)
    assert.equal(options.json, true)
    assert.equal(options.wait, true)
    assert.ok(options.out?.endsWith('/final.proof'))
    const bad = await cliError(() =>
      ephemeralOptions({ ...base, ephemeral: true, bootstrap: ['/ip4/10.0.0.5/tcp/4001'] }, body)
    )
    assert.equal(bad.exitCode, 2)
    assert.match(bad.message, /--bootstrap .*\/p2p\/<peer id>/)
    const stray = await cliError(() => runProve({ ...base, bootstrap: [address] }))
    assert.equal(stray.exitCode, 2)
    assert.match(stray.message, /go with --ephemeral/)
  })
})

describe('prove --wait: progress and summary', () => {
  it('formats one plain line per event', () => {
    const at = (seq: number, fields: Partial<JobEvent>): JobEvent => ({
      jobId: 'job42',
      seq,
      at: 10_000 + seq * 1000,
      type: 'log',
      ...fields
    })
    assert.equal(
      formatEventLine(at(1, { type: 'state', state: 'planning' }), 10_000),
      '[   +1.0s] state planning'
    )
    assert.equal(
      formatEventLine(at(2, { type: 'progress', phase: 'prove', done: 3, total: 8 }), 10_000),
      '[   +2.0s] prove 3/8'
    )
    assert.equal(
      formatEventLine(at(2, { type: 'progress', phase: 'prove', segment: 1, done: 3, total: 8 }), 10_000),
      '[   +2.0s] prove segment 1 3/8'
    )
    assert.equal(
      formatEventLine(at(3, { type: 'segment', segment: 2, peer: PEER_B, message: 'proved' }), 10_000),
      `[   +3.0s] segment 2 on ${shortPeerId(PEER_B)} proved`
    )
    assert.equal(
      formatEventLine(at(4, { type: 'peer', peer: PEER_A, message: 'reserved\n4 units' }), 10_000),
      `[   +4.0s] peer ${shortPeerId(PEER_A)} reserved 4 units`
    )
    assert.equal(formatEventLine(at(5, { message: 'hello' }), 10_000), '[   +5.0s] log hello')
    assert.equal(shortPeerId(PEER_A), '\u2026aaaaAAAA')
  })

  it('sums the progress of a phase over its segments', () => {
    const view = new JobProgress('job42')
    view.apply({ jobId: 'job42', seq: 1, at: 0, type: 'state', state: 'contributing' })
    for (const [seq, segment, done] of [
      [2, 0, 2],
      [3, 1, 1],
      [4, 2, 0]
    ] as const) {
      view.apply({
        jobId: 'job42',
        seq,
        at: seq,
        type: 'progress',
        phase: 'contribute',
        segment,
        done,
        total: 2
      })
    }
    assert.match(view.lines(10)[4] ?? '', /contribute +running .*\] 3\/6$/)
    assert.match(view.lines(10)[8] ?? '', /segment 0 .* contribute 2\/2$/)
    // A record refresh keeps what the events said about the running step
    const record = sampleRecord({ state: 'contributing', finishedAt: undefined })
    record.segments = record.segments.map((segment) => ({
      ...segment,
      state: 'assigned',
      proveMillis: undefined
    }))
    view.update(record)
    assert.match(view.lines(10)[9] ?? '', /segment 1 .*assigned .* contribute 1\/2$/)
  })

  it('draws a bar', () => {
    assert.equal(progressBar(0, 4, 8), '[--------]')
    assert.equal(progressBar(2, 4, 8), '[####----]')
    assert.equal(progressBar(9, 4, 8), '[########]')
    assert.equal(progressBar(1, 0, 4), '[----]')
  })

  it('keeps a live view: one line per phase and per segment, a bar for the running phase', () => {
    const view = new JobProgress('job42')
    const event = (seq: number, at: number, fields: Partial<JobEvent>): void =>
      view.apply({ jobId: 'job42', seq, at, type: 'log', ...fields })
    event(1, 1_000, { type: 'state', state: 'queued' })
    event(2, 1_500, { type: 'state', state: 'planning' })
    event(3, 2_000, { type: 'state', state: 'proving' })
    event(4, 2_100, { type: 'segment', segment: 1, peer: PEER_B, message: 'assigned' })
    event(5, 2_200, { type: 'segment', segment: 0, peer: PEER_A, message: 'proved' })
    event(6, 2_300, { type: 'progress', phase: 'prove', done: 1, total: 2 })
    event(7, 2_400, { type: 'progress', phase: 'prove', segment: 1, done: 1, total: 4 })
    const lines = view.lines(4_000)
    assert.equal(lines[0], 'job job42  proving  3.0s')
    assert.match(lines[1] ?? '', /^ {2}queue +done +500ms$/)
    assert.match(lines[2] ?? '', /^ {2}reserve +-$/)
    assert.match(lines[3] ?? '', /^ {2}plan +done +500ms$/)
    assert.match(lines[5] ?? '', /^ {2}prove +running +2\.0s {2}\[#{10}-{10}\] 1\/2$/)
    assert.match(lines[8] ?? '', /^ {2}segment 0 +…aaaaAAAA +proved +1\.8s$/)
    assert.match(lines[9] ?? '', /^ {2}segment 1 +…bbbbBBBB +assigned +1\.9s {2}prove 1\/4$/)
    assert.equal(lines.length, 10)
    // The record wins: segment states and prove times from the engine
    view.update(sampleRecord())
    const done = view.lines(99_000)
    assert.equal(done[0], 'job job42  succeeded  12.0s')
    assert.match(done[5] ?? '', /^ {2}prove +done +8\.0s$/)
    assert.match(done[10] ?? '', /^ {2}segment 2 +…bbbbBBBB +proved +1\.5s$/)
    assert.match(done[9] ?? '', /^ {2}segment 1 +…aaaaAAAA +proved +1\.5s$/)
    assert.ok(view.lines(99_000, 30).every((line) => line.length <= 29))
  })

  it('redraws in place', () => {
    assert.equal(redrawText(0, ['a', 'b']), '\x1b[2Ka\n\x1b[2Kb\n')
    assert.equal(redrawText(2, ['c']), '\x1b[2A\r\x1b[2Kc\n\x1b[J')
  })

  it('prints a summary, a table and a detailed view', () => {
    const record = sampleRecord()
    const summary = formatJobSummary(record, '/tmp/final.proof', 99_000)
    assert.match(summary, /^job +job42 succeeded in 12\.0s$/m)
    assert.match(summary, /^digest +efef/m)
    assert.match(summary, /^proof +121 KiB \(123456 bytes\), sha256 1212/m)
    assert.match(summary, /^on daemon +\/home\/u\/.proofmesh\/proofs\/job42.proof$/m)
    assert.match(summary, /^saved to +\/tmp\/final.proof$/m)
    assert.match(summary, /^phases +queue 5ms, reserve 95ms, plan 500ms, contribute 1\.4s, prove 8\.0s/m)
    assert.match(summary, /^peers +2 peers, 3 segments$/m)
    assert.match(summary, /…aaaaAAAA \(local\): 4 units, 2 segments, 0 B sent/)
    assert.match(summary, /…bbbbBBBB: 4 units, 1 segment, 1\.5 MiB sent/)
    assert.match(summary, /^bytes sent +1\.5 MiB$/m)

    const failed = sampleRecord({
      id: 'job43',
      state: 'failed',
      error: { code: 'TIMEOUT', message: 'too slow' }
    })
    const table = formatJobsTable([record, failed], 99_000).split('\n')
    assert.match(table[0] ?? '', /^ID +STATE +DATA ID +UNITS +PEERS +SEGMENTS +TIME +ERROR$/)
    assert.match(table[1] ?? '', /^job42 +succeeded +in\.bin +8 +2 +3\/3 +took 12\.0s +-$/)
    assert.match(table[2] ?? '', /TIMEOUT: too slow$/)
    assert.equal(formatJobsTable([]), 'no jobs')

    const detail = formatJobDetail({ ...failed, waitingFor: 'needs 8 units, 4 free' }, 99_000)
    for (const pattern of [
      /^state +failed in 12\.0s$/m,
      /^waiting for +needs 8 units, 4 free$/m,
      /^request +rescue-sponge, data \/data\/in.bin$/m,
      /^ +8 units \(at least 4\), priority 0, timeout 10m, proof saved$/m,
      /^error +TIMEOUT: too slow$/m,
      /^phases\n {2}PHASE +STARTED +TOOK$/m,
      /^segments\n {2}# +PEER +STATE +BLOCKS +INPUT +PROVE +PROOF$/m,
      new RegExp(`^ {2}${PEER_B} +4 +released +1 +1\\.5 MiB +l2$`, 'm')
    ]) {
      assert.match(detail, pattern)
    }
  })

  it('says which peers failed and why: summary, jobs table, detail', () => {
    // a path-mode job whose file only the submitter has: the others fail, their segments move to it
    const base = sampleRecord()
    const reason = {
      code: 'INPUT',
      segment: 2,
      message: 'input "in.bin" does not exist in the inputs folder'
    }
    const record = sampleRecord({
      peers: [
        base.peers[0] as JobPeerRecord,
        { ...(base.peers[1] as JobPeerRecord), state: 'failed', bytesSent: 0, failure: reason }
      ],
      segments: base.segments.map((segment) => ({ ...segment, peerId: PEER_A }))
    })
    const summary = formatJobSummary(record, undefined, 99_000)
    assert.match(
      summary,
      /^peers +2 peers, 3 segments; 1 of 2 peers failed; their segments moved to the others$/m
    )
    assert.match(summary, /…aaaaAAAA \(local\): 4 units, 3 segments, 0 B sent/)
    assert.match(
      summary,
      /^ +…bbbbBBBB: 4 units, failed: INPUT \(segment 2\): input "in\.bin" does not exist in the inputs folder$/m
    )
    assert.doesNotMatch(summary, /0 segments/)
    assert.equal(summary.match(/failed/g)?.length, 2, 'once in the count, once for the peer')

    const table = formatJobsTable([record], 99_000).split('\n')
    assert.match(table[1] ?? '', /^job42 +succeeded +in\.bin +8 +2 \(1 failed\) +3\/3 /)

    const detail = formatJobDetail(record, 99_000)
    assert.match(detail, /^peer failures +1 of 2 peers failed; their segments moved to the others$/m)
    assert.match(
      detail,
      new RegExp(
        `^failed peers\n {2}${PEER_B} {2}INPUT \\(segment 2\\): input "in\\.bin" does not exist in the inputs folder$`,
        'm'
      )
    )
    const names = new Map([
      [PEER_A, 'node 0'],
      [PEER_B, 'node 1']
    ])
    const demo = formatDemoSummary(record, names)
    assert.match(demo, /^node 0 \(submitter\) +ok +4 +0,1,2 /m)
    assert.match(demo, /^node 1 +failed +4 +- +0 /m)
    assert.match(
      demo,
      /^failed {5}node 1: INPUT \(segment 2\): input "in\.bin" does not exist in the inputs folder$/m
    )

    // a peer journaled failed before reasons were kept
    const old = sampleRecord({
      peers: [{ ...(base.peers[1] as JobPeerRecord), state: 'failed' }]
    })
    assert.match(formatJobSummary(old, undefined, 99_000), /failed: no reason recorded/)
  })

  describe('followJob over a JobSession', () => {
    let dir: string
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'proofmesh-follow-'))
    })
    after(async () => rm(dir, { recursive: true, force: true }))

    const session = (record: JobRecord, events: Partial<JobEvent>[], proof = 'PROOF'): JobSession => ({
      async *events() {
        let seq = 0
        for (const fields of events)
          yield { jobId: record.id, seq: ++seq, at: 10_000 + seq, type: 'log', ...fields }
      },
      job: async () => record,
      downloadProof: async (file) => writeFile(file, proof),
      close: async () => undefined
    })
    const streams = (): { stdout: PassThrough; stderr: PassThrough; text: () => [string, string] } => {
      const stdout = new PassThrough()
      const stderr = new PassThrough()
      const out: string[] = []
      const err: string[] = []
      stdout.on('data', (chunk: Buffer) => out.push(chunk.toString()))
      stderr.on('data', (chunk: Buffer) => err.push(chunk.toString()))
      return { stdout, stderr, text: () => [out.join(''), err.join('')] }
    }

    it('prints plain event lines, downloads the proof and prints the summary', async () => {
      const { createHash } = await import('node:crypto')
      const record = sampleRecord({
        proof: { size: 5, sha256: createHash('sha256').update('PROOF').digest('hex') }
      })
      const io = streams()
      const out = join(dir, 'final.proof')
      const code = await followJob(
        session(record, [
          { type: 'state', state: 'proving' },
          { type: 'state', state: 'succeeded' }
        ]),
        { json: false, tty: false, out, stdout: io.stdout, stderr: io.stderr }
      )
      assert.equal(code, 0)
      const [stdout, stderr] = io.text()
      assert.match(stderr, /state proving\n.*state succeeded\n$/)
      assert.match(stdout, /^job +job42 succeeded/)
      assert.match(stdout, new RegExp(`saved to +${out}`))
      assert.equal(await readFile(out, 'utf8'), 'PROOF')
    })

    it('refuses a download that does not match the sha256', async () => {
      const out = join(dir, 'bad.proof')
      const err = await cliError(() =>
        followJob(session(sampleRecord(), []), { json: false, tty: false, out, ...streams() })
      )
      assert.match(err.message, /does not match/)
    })

    it('exits 1 and says the job was cancelled, not that it failed', async () => {
      const io = streams()
      const cancelled = sampleRecord({
        state: 'cancelled',
        error: { code: 'CANCELLED', message: 'cancelled by the user' }
      })
      assert.equal(await followJob(session(cancelled, []), { json: true, tty: false, ...io }), 1)
      const [stdout, stderr] = io.text()
      assert.equal((JSON.parse(stdout) as JobRecord).state, 'cancelled')
      assert.equal(stderr, 'job job42 was cancelled\n')
    })

    it('exits 1 with the code, the reason and each failed peer\u2019s reason for a failed job', async () => {
      const io = streams()
      const record = sampleRecord()
      const failed = sampleRecord({
        state: 'failed',
        error: { code: 'PEER_FAILED', message: 'no peer left to take over 1 segment(s)' },
        peers: record.peers.map((peer, i) =>
          i === 0
            ? { ...peer, state: 'failed', failure: { code: 'TIMEOUT', message: 'it went silent for 3.4 s' } }
            : peer
        )
      })
      assert.equal(await followJob(session(failed, []), { json: false, tty: false, ...io }), 1)
      const [stdout, stderr] = io.text()
      assert.equal(stdout, '')
      const peer = record.peers[0]?.peerId ?? ''
      assert.equal(
        stderr,
        'job job42 failed: PEER_FAILED: no peer left to take over 1 segment(s)\n' +
          `  peer \u2026${peer.slice(-8)}: TIMEOUT: it went silent for 3.4 s\n`
      )
      assert.equal(stderr.match(/failed/g)?.length, 1, 'says "failed" once')
    })

    it('draws the live view on a terminal', async () => {
      const io = streams()
      const code = await followJob(session(sampleRecord(), [{ type: 'state', state: 'proving' }]), {
        json: true,
        tty: true,
        columns: 80,
        ...io
      })
      assert.equal(code, 0)
      const [stdout, stderr] = io.text()
      assert.ok(stderr.includes('\x1b[2K'), 'lines are cleared and redrawn')
      assert.match(stderr, /\[\d+A\r/, 'the cursor moves up')
      assert.equal((JSON.parse(stdout) as JobRecord).id, 'job42')
    })
  })
})

describe('ApiClient', () => {
  it('parses server-sent events split anywhere', () => {
    const parser = new SseParser()
    const text =
      ': hello\r\nid: 1\r\nevent: state\r\ndata: {"a":1}\r\n\r\nid: 2\ndata: x\ndata: y\n\nretry: 5\n\n'
    const messages = []
    for (const char of text) messages.push(...parser.push(char))
    assert.deepEqual(messages, [
      { id: '1', event: 'state', data: '{"a":1}' },
      { id: '2', event: 'message', data: 'x\ny' }
    ])
  })

  describe('events and download against a server', () => {
    let server: Server
    let client: ApiClient
    let connections = 0
    const lastEventIds: (string | undefined)[] = []
    let mode: 'drop' | 'down' = 'drop'
    let dir: string
    const frame = (seq: number, state: string): string =>
      `id: ${seq}\nevent: state\ndata: ${JSON.stringify({ jobId: 'j1', seq, at: seq, type: 'state', state })}\n\n`

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'proofmesh-client-'))
      server = createServer((request, response) => {
        if (request.url === '/v1/jobs/j1/proof') {
          response.writeHead(200, { 'content-length': '6' })
          response.end('PROOF!')
          return
        }
        if (request.url === '/v1/jobs/nope/events') {
          response.writeHead(404, { 'content-type': 'application/json' })
          response.end('{"error":"no job nope"}')
          return
        }
        connections++
        if (mode === 'down') {
          request.socket.destroy()
          return
        }
        lastEventIds.push(request.headers['last-event-id'] as string | undefined)
        response.writeHead(200, { 'content-type': 'text/event-stream' })
        if (connections === 1) {
          // One event, then the connection breaks
          response.write(frame(1, 'queued'))
          setTimeout(() => response.destroy(), 20)
          return
        }
        response.write(frame(1, 'queued'))
        response.write(frame(2, 'proving'))
        response.end(frame(3, 'succeeded'))
      })
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      const { port } = server.address() as AddressInfo
      client = ApiClient.forAddress({ url: `http://127.0.0.1:${port}`, pid: 1, peerId: 'p' }, 'token')
    })

    after(async () => {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
      await rm(dir, { recursive: true, force: true })
    })

    it('resumes a broken stream from the last event it saw', async () => {
      const seen: number[] = []
      for await (const event of client.events('j1', { reconnectDelayMs: 5 })) seen.push(event.seq)
      assert.deepEqual(seen, [1, 2, 3])
      assert.deepEqual(lastEventIds, [undefined, '1'])
    })

    it('gives up after 5 reconnects that bring nothing', async () => {
      mode = 'down'
      connections = 0
      const err = await cliError(async () => {
        for await (const event of client.events('j1', { reconnectDelayMs: 1 }))
          assert.fail(`got ${event.seq}`)
      })
      assert.match(err.message, /gave up after 5 reconnects/)
      assert.equal(connections, 6)
      mode = 'drop'
    })

    it('turns a daemon error into a CliError at once', async () => {
      const err = await cliError(async () => {
        for await (const event of client.events('nope')) assert.fail(`got ${event.seq}`)
      })
      assert.equal(err.message, 'no job nope')
      assert.equal(err.exitCode, 1)
    })

    it('downloads atomically: the whole file or nothing', async () => {
      const target = join(dir, 'sub')
      await mkdir(target)
      const result = await client.download('/v1/jobs/j1/proof', join(target, 'p.proof'))
      assert.equal(result.size, 6)
      assert.equal(await readFile(join(target, 'p.proof'), 'utf8'), 'PROOF!')
      await cliError(() => client.download('/v1/jobs/nope/events', join(target, 'q.proof')))
      assert.deepEqual(await readdir(target), ['p.proof'])
    })
  })
})
