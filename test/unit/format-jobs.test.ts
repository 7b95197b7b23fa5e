import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { formatDemoSummary } from '../../node/commands/demo.js'
import { formatJobDetail } from '../../node/format/job-detail.js'
import { formatJobsTable } from '../../node/format/jobs-table.js'
import { PEER_A, PEER_B, sampleRecord, withFailedPeer } from '../helpers/job-record.js'

describe('views of jobs: the jobs table, a job in detail, the demo summary', () => {
  it('prints the jobs table and the detailed view of a job', () => {
    const record = sampleRecord()
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

  it('names each peer that failed, and why, in the jobs table and the detail', () => {
    const record = withFailedPeer()
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
  })

  it('names each peer that failed, and why, in the demo summary', () => {
    const record = withFailedPeer()
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
  })
})
