import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, it } from 'node:test'
import { createLogger } from '../../src/log/index.js'
import { LeaseBook } from '../../src/worker/leases.js'

function book(totalUnits = 4): LeaseBook {
  return new LeaseBook({ logger: createLogger({ level: 'silent' }), totalUnits: () => totalUnits })
}

const request = { jobId: 'job-1', submitter: 'submitter-1', units: 2, minUnits: 1, leaseMs: 600 }

describe('LeaseBook', () => {
  it('never lends more units than it has, and frees them when a lease ends', () => {
    const leases = book(3)
    const first = leases.grant({ ...request, units: 2 })
    const second = leases.grant({ ...request, jobId: 'job-2', units: 5 })
    assert.ok(first.ok && second.ok)
    assert.equal(second.lease.units, 1, 'the second lease got what was left')
    const third = leases.grant({ ...request, jobId: 'job-3' })
    assert.equal(third.ok, false)
    assert.equal(leases.free(), 0)
    leases.end(first.lease.leaseId, 'done')
    assert.equal(leases.free(), 2)
    leases.endAll('test over')
    assert.equal(leases.free(), 3)
  })

  it('keeps a renewed lease and ends one whose submitter stopped renewing it', async () => {
    const leases = book()
    const expired: string[] = []
    leases.addEventListener('expired', (event) => expired.push(event.detail.leaseId))
    const grant = leases.grant(request)
    assert.ok(grant.ok)
    const { leaseId } = grant.lease
    // renewed well inside its 600 ms for 2 s: it stays
    for (let i = 0; i < 10; i++) {
      await sleep(200)
      assert.ok(leases.renew(leaseId), `renewal ${i} found the lease`)
    }
    assert.deepEqual(expired, [], 'a renewed lease never expires')
    // then silence: it ends, however slow this machine is (bounded wait)
    const deadline = Date.now() + 30_000
    while (expired.length === 0 && Date.now() < deadline) await sleep(50)
    assert.deepEqual(expired, [leaseId], 'the silent lease expired')
    assert.equal(leases.get(leaseId), undefined)
    assert.equal(leases.free(), 4)
  })
})
