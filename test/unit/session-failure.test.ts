import '../../src/polyfill.js'
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { FailCode } from '../../protocols/job/pb/job.js'
import { type FailureReport, judgeFailure, MAX_FETCH_RETRIES } from '../../src/job/blame.js'
import type { SegmentRecord } from '../../src/jobs-model/types.js'
import { ProverRpcError } from '../../src/prover/errors.js'
import { NppErrorCode } from '../../src/prover/types.js'
import { failureOf } from '../../src/worker/session/failure.js'

describe('failureOf: what a prover error is called on the job stream', () => {
  it('names the segment of an invalid proof as PROOF_INVALID: its owner lied', () => {
    const f = failureOf(new ProverRpcError(NppErrorCode.PROOF_INVALID, 'segment 1: bad', { segment: 1 }))
    assert.deepEqual([f.code, f.segment], [FailCode.PROOF_INVALID, 1])
  })

  it("reports a proof of another prover version as one that cannot be had, not as a lie nor as the aggregator's fault", () => {
    const err = new ProverRpcError(
      NppErrorCode.UNSUPPORTED_VERSION,
      'segment 2: unsupported segment proof version 2',
      {
        segment: 2,
        version: 2
      }
    )
    const f = failureOf(err)
    assert.deepEqual([f.code, f.segment], [FailCode.TRANSFER, 2])
    const segment: SegmentRecord = {
      index: 2,
      startBlock: 0,
      blockCount: 8,
      inputOffset: 0,
      inputLength: 448,
      inputSha256: '00'.repeat(32),
      peerId: 'owner',
      state: 'proved',
      proofSha256: 'ab'.repeat(32)
    }
    const report: FailureReport = {
      code: f.code,
      fromAggregator: true,
      segment,
      proofSha256: '',
      ownSegment: false,
      fetchFailures: 0,
      otherOwnersUnreached: 0
    }
    assert.equal(judgeFailure({ ...report, fetchFailures: 0 }), 'retry')
    assert.equal(judgeFailure({ ...report, fetchFailures: MAX_FETCH_RETRIES }), 'owner-unreachable')
  })
})
