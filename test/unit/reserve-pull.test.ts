import assert from 'node:assert/strict'
import { afterEach, describe, it } from 'node:test'
import { RefuseCode } from '../../protocols/job/pb/job.js'
import { JobHarness } from '../helpers/job-harness.js'

// A real JobRun against scripted peers (test/helpers/job-harness.ts): peers added with addUnlisted are missing from
// the submitter's table until the run pulls capacity

let harness: JobHarness
afterEach(() => harness.close())

describe('a reserve that comes up short pulls capacity', () => {
  it('pulls once for the units missing after its waves, and leases the peers the pull listed', async () => {
    harness = new JobHarness()
    harness.add('a', 2)
    harness.add('stale', 4, {
      reserve: (peer) =>
        peer.send({ refused: { code: RefuseCode.BUSY, message: 'busy since', freeUnits: 0 } })
    })
    harness.addUnlisted('far', 4)
    const result = await harness.run({ computeCapacity: 6, pull: true })
    assert.equal(result.error, undefined, result.error?.message)
    assert.equal(result.record.state, 'succeeded', JSON.stringify(result.record.error))
    assert.deepEqual(harness.pulls, [4], 'one pull, for the 4 units the refusal left missing')
    const leased = result.record.peers.map((peer) => peer.peerId).sort()
    assert.deepEqual(leased, ['a', 'far'])
    assert.equal(
      harness.opened.get('stale'),
      1,
      'a peer asked in the waves is not asked again after the pull'
    )
  })

  it('does not pull when its waves covered the job', async () => {
    harness = new JobHarness()
    harness.add('a', 2)
    harness.add('b', 2)
    harness.addUnlisted('far', 4)
    const result = await harness.run({ computeCapacity: 4, pull: true })
    assert.equal(result.record.state, 'succeeded', JSON.stringify(result.record.error))
    assert.deepEqual(harness.pulls, [])
    assert.equal(harness.opened.get('far'), undefined)
  })
})
