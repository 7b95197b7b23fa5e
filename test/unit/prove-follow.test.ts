import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { after, before, describe, it } from 'node:test'
import { followJob } from '../../node/prove/follow.js'
import type { JobSession } from '../../node/prove/session.js'
import { redrawText } from '../../node/prove/terminal.js'
import type { JobEvent, JobRecord } from '../../src/jobs-model/types.js'
import { cliError } from '../helpers/cli-error.js'
import { sampleRecord } from '../helpers/job-record.js'

describe('prove --wait: followJob over a JobSession', () => {
  let dir: string
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'proofmesh-follow-'))
  })
  after(async () => rm(dir, { recursive: true, force: true }))

  const session = (record: JobRecord, events: Partial<JobEvent>[], proof = 'PROOF'): JobSession => ({
    async *events() {
      let seq = 0
      for (const fields of events)
        yield { jobId: record.id, seq: ++seq, at: 10_000 + seq, kind: 'log', ...fields } as JobEvent
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
        { kind: 'state', state: 'proving' },
        { kind: 'state', state: 'succeeded' }
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
    const code = await followJob(session(sampleRecord(), [{ kind: 'state', state: 'proving' }]), {
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

  it('redraws in place', () => {
    assert.equal(redrawText(0, ['a', 'b']), '\x1b[2Ka\n\x1b[2Kb\n')
    assert.equal(redrawText(2, ['c']), '\x1b[2A\r\x1b[2Kc\n\x1b[J')
  })
})
