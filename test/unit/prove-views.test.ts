import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { formatEventLine } from '../../node/prove/event-line.js'
import { formatJobSummary } from '../../node/prove/outcome.js'
import { JobProgress } from '../../node/prove/progress-view.js'
import { shortPeerId } from '../../src/jobs-model/peer-id.js'
import type { JobEvent, JobPeerRecord } from '../../src/jobs-model/types.js'
import { PEER_A, PEER_B, sampleRecord, withFailedPeer } from '../helpers/job-record.js'

describe('prove --wait: what it shows', () => {
  it('formats one plain line per event', () => {
    const at = (seq: number, fields: Partial<JobEvent>): JobEvent =>
      ({ jobId: 'job42', seq, at: 10_000 + seq * 1000, kind: 'log', ...fields }) as JobEvent
    assert.equal(
      formatEventLine(at(1, { kind: 'state', state: 'planning' }), 10_000),
      '[   +1.0s] state planning'
    )
    assert.equal(
      formatEventLine(at(2, { kind: 'progress', phase: 'prove', done: 3, total: 8 }), 10_000),
      '[   +2.0s] prove 3/8'
    )
    assert.equal(
      formatEventLine(at(2, { kind: 'progress', phase: 'prove', segment: 1, done: 3, total: 8 }), 10_000),
      '[   +2.0s] prove segment 1 3/8'
    )
    assert.equal(
      formatEventLine(at(3, { kind: 'proved', segment: 2, peer: PEER_B, message: 'proved' }), 10_000),
      `[   +3.0s] segment 2 on ${shortPeerId(PEER_B)} proved`
    )
    assert.equal(
      formatEventLine(
        at(4, { kind: 'leased', peer: PEER_A, units: 4, message: 'reserved\n4 units' }),
        10_000
      ),
      `[   +4.0s] peer ${shortPeerId(PEER_A)} reserved 4 units`
    )
    assert.equal(formatEventLine(at(5, { message: 'hello' }), 10_000), '[   +5.0s] log hello')
    assert.equal(shortPeerId(PEER_A), '\u2026aaaaAAAA')
  })

  it('sums the progress of a phase over its segments', () => {
    const view = new JobProgress('job42')
    view.apply({ jobId: 'job42', seq: 1, at: 0, kind: 'state', state: 'contributing' })
    for (const [seq, segment, done] of [
      [2, 0, 2],
      [3, 1, 1],
      [4, 2, 0]
    ] as const) {
      view.apply({
        jobId: 'job42',
        seq,
        at: seq,
        kind: 'progress',
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

  it('keeps a live view: one line per phase and per segment, a bar for the running phase', () => {
    const view = new JobProgress('job42')
    const event = (seq: number, at: number, fields: Partial<JobEvent>): void =>
      view.apply({ jobId: 'job42', seq, at, kind: 'log', ...fields } as JobEvent)
    event(1, 1_000, { kind: 'state', state: 'queued' })
    event(2, 1_500, { kind: 'state', state: 'planning' })
    event(3, 2_000, { kind: 'state', state: 'proving' })
    event(4, 2_100, { kind: 'note', segment: 1, peer: PEER_B, message: 'assigned' })
    event(5, 2_200, { kind: 'proved', segment: 0, peer: PEER_A, message: 'proved' })
    event(6, 2_300, { kind: 'progress', phase: 'prove', done: 1, total: 2 })
    event(7, 2_400, { kind: 'progress', phase: 'prove', segment: 1, done: 1, total: 4 })
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

  it('prints the summary of a job that succeeded', () => {
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
  })

  it('says so when the proof was not verified by the submitter', () => {
    const record = sampleRecord()
    assert.doesNotMatch(formatJobSummary(record, undefined, 99_000), /NOT verified/)
    if (record.proof !== undefined) record.proof.unverified = 'this daemon runs no prover for zisk-block'
    assert.match(
      formatJobSummary(record, undefined, 99_000),
      /^NOT verified +this daemon runs no prover for zisk-block$/m
    )
  })

  it('names each peer that failed, and why, in the summary', () => {
    const record = withFailedPeer()
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

    // a peer journaled failed before reasons were kept
    const base = sampleRecord()
    const old = sampleRecord({
      peers: [{ ...(base.peers[1] as JobPeerRecord), state: 'failed' }]
    })
    assert.match(formatJobSummary(old, undefined, 99_000), /failed: no reason recorded/)
  })
})
