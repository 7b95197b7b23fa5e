import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { JobRecord } from '../../src/jobs-model/types.js'
import { parseSize, planLoad } from '../../node/load/plan.js'
import { formatLoadSummary, outcomeOf, percentile, summarizeLoad } from '../../node/load/summary.js'

function record(fields: Partial<JobRecord>): JobRecord {
  return {
    id: 'job-1',
    request: {} as JobRecord['request'],
    state: 'succeeded',
    submitter: 'self',
    createdAt: 1_000,
    updatedAt: 5_000,
    finishedAt: 5_000,
    peers: [],
    segments: [],
    phases: { queue: { startedAt: 1_000, endedAt: 1_250 } },
    bytesOut: 300,
    proof: { size: 10, sha256: 'ab', path: '/proofs/job-1.proof' },
    digest: 'cd',
    expectedDigest: 'cd',
    ...fields
  }
}

describe('bench load: flags', () => {
  it('reads sizes in bytes with k, m and g as powers of 1024', () => {
    assert.equal(parseSize('65536'), 65536)
    assert.equal(parseSize('64k'), 65536)
    assert.equal(parseSize('2MiB'), 2 * 1024 * 1024)
    assert.equal(parseSize('1.5MB'), 1.5 * 1024 * 1024)
    assert.equal(parseSize(' 1g '), 1024 ** 3)
    assert.throws(() => parseSize('1t'), /expected bytes like/)
    assert.throws(() => parseSize('-5'), /expected bytes like/)
  })

  it('plans with defaults, never more in flight than jobs', () => {
    const plan = planLoad({ jobs: 3, concurrency: 8 })
    assert.equal(plan.jobs, 3)
    assert.equal(plan.concurrency, 3)
    assert.equal(plan.sizeBytes, 256 * 1024)
    assert.equal(plan.program, 'rescue-sponge')
    assert.equal(plan.timeoutMs, 10 * 60_000)
    assert.equal(plan.computeCapacity, undefined)
  })

  it('refuses bad flags with a usage error (exit 2) that names the flag', () => {
    const refused = (args: Parameters<typeof planLoad>[0], pattern: RegExp): void => {
      assert.throws(
        () => planLoad(args),
        (err: Error & { exitCode?: number }) => pattern.test(err.message) && err.exitCode === 2
      )
    }
    refused({ jobs: 0 }, /--jobs takes an integer from 1/)
    refused({ jobs: 1.5 }, /--jobs takes an integer/)
    refused({ concurrency: Number.NaN }, /--concurrency takes an integer from 1 to 1000, got NaN/)
    refused({ size: 'huge' }, /--size: expected bytes/)
    refused({ size: '2g' }, /--size 2g: a job's input is 1 byte to 1 GiB/)
    refused({ program: 'Bad Program' }, /--program Bad Program/)
    refused({ timeout: 'soon' }, /--timeout soon: expected a duration/)
    refused({ 'compute-capacity': 2, 'minimal-compute-capacity': 3 }, /is more than --compute-capacity 2/)
  })
})

describe('bench load: figures', () => {
  it('takes nearest-rank percentiles', () => {
    assert.equal(percentile([], 50), undefined)
    assert.equal(percentile([7], 95), 7)
    const values = Array.from({ length: 20 }, (_, i) => i + 1)
    assert.equal(percentile(values, 50), 10)
    assert.equal(percentile(values, 95), 19)
    assert.equal(percentile(values, 100), 20)
  })

  it('calls a job ok only with a proof and the digest its plan expected', () => {
    assert.equal(outcomeOf(1, record({}), 0).ok, true)
    assert.equal(outcomeOf(1, record({}), 0).latencyMs, 4_000)
    assert.equal(outcomeOf(1, record({}), 0).queueMs, 250)
    assert.equal(outcomeOf(2, record({ proof: undefined }), 0).error?.code, 'NO_PROOF')
    assert.equal(outcomeOf(3, record({ digest: 'ef' }), 0).error?.code, 'DIGEST_MISMATCH')
    const failed = outcomeOf(
      4,
      record({ state: 'failed', error: { code: 'PEER_FAILED', message: 'lost' } }),
      0
    )
    assert.deepEqual([failed.ok, failed.error?.code], [false, 'PEER_FAILED'])
    const running = outcomeOf(5, record({ state: 'proving', finishedAt: undefined }), 1_000, 3_000)
    assert.deepEqual([running.error?.code, running.latencyMs], ['UNFINISHED', 2_000])
  })

  it('sums a run: throughput over the wall time, latency of completed jobs, failures in order', () => {
    const outcomes = [
      outcomeOf(2, record({ finishedAt: 3_000 }), 0),
      outcomeOf(1, record({ finishedAt: 9_000 }), 0),
      outcomeOf(3, record({ state: 'failed', error: { code: 'TIMEOUT', message: 'too slow' } }), 0),
      {
        n: 4,
        state: 'unsubmitted' as const,
        ok: false,
        latencyMs: 5,
        bytesOut: 0,
        error: { code: 'SUBMIT', message: 'refused' }
      }
    ]
    const summary = summarizeLoad(outcomes, {
      jobs: 4,
      concurrency: 2,
      sizeBytes: 1024,
      computeCapacity: 4,
      program: 'rescue-sponge',
      interrupted: false,
      wallMs: 60_000
    })
    assert.equal(summary.completed, 2)
    assert.equal(summary.failed, 2)
    assert.equal(summary.submitted, 3)
    assert.equal(summary.jobsPerMinute, 2)
    assert.deepEqual([summary.p50Ms, summary.p95Ms, summary.maxMs], [2_000, 8_000, 8_000])
    assert.equal(summary.meanQueueMs, 250)
    assert.equal(summary.bytesUploaded, 900)
    assert.deepEqual(
      summary.failures.map((failure) => [failure.n, failure.code]),
      [
        [3, 'TIMEOUT'],
        [4, 'SUBMIT']
      ]
    )
    const text = formatLoadSummary(summary)
    assert.match(text, /throughput 2 jobs\/min/)
    assert.match(text, /job 4 \(not submitted\): SUBMIT: refused/)
  })
})
