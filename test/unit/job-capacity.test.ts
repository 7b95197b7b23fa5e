import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { capacityShortfall, jobCapacity } from '../../src/job/capacity-rule.js'
import type { Candidate } from '../../src/job/link.js'
import { SubmitterCaps } from '../../src/job/submitter-caps.js'

function peer(peerId: string, unitsTotal: number, unitsFree = unitsTotal): Candidate {
  return { peerId, local: false, addrs: [], programs: ['p'], unitsTotal, unitsFree }
}

const request = (min: number) => ({ program: 'p', computeCapacity: min, minimalComputeCapacity: min })

describe('the scheduler capacity rule', () => {
  // three 2-unit peers: 6 units over the network, 2 on any one of them
  const threeSmall = [
    peer('peer-a-000000000001', 2),
    peer('peer-b-000000000002', 2, 1),
    peer('peer-c-000000000003', 2, 0)
  ]
  const uncapped = (_peerId: string, units: number): number => units

  it('adds the peers up for a segmented job', () => {
    const capacity = jobCapacity(threeSmall, uncapped, false)
    assert.deepEqual(capacity, { total: 6, grantable: 6, free: 3 })
    assert.equal(capacityShortfall(request(4), capacity, false), undefined)
    assert.match(
      capacityShortfall(request(7), capacity, false) ?? '',
      /requested 7 units .*network has 6 for p$/
    )
  })

  it('holds a whole job to the largest single peer: one no peer can hold fails, naming that peer', () => {
    const capacity = jobCapacity(threeSmall, uncapped, true)
    assert.equal(capacity.total, 2)
    assert.equal(capacity.grantable, 2)
    assert.equal(capacity.free, 2, 'the freest single peer, not the sum of free units')
    const why = capacityShortfall(request(4), capacity, true)
    assert.match(
      why ?? '',
      /requested 4 units .*whole job .*runs on one peer.*largest running p, …00000001, has 2$/
    )
    assert.equal(capacityShortfall(request(2), capacity, true), undefined)
  })

  it('places a whole job once one peer large enough appears', () => {
    const capacity = jobCapacity([...threeSmall, peer('peer-d-000000000004', 8, 5)], uncapped, true)
    assert.deepEqual(capacity.largest, { peerId: 'peer-d-000000000004', units: 8, grantable: 8 })
    assert.equal(capacity.free, 5)
    assert.equal(capacityShortfall(request(4), capacity, true), undefined)
  })

  it("applies each peer's stated cap on this submitter to the one peer a whole job runs on", () => {
    const caps = new SubmitterCaps()
    // the 8-unit peer lets this submitter hold 3 at once; the 4-unit one states no cap
    caps.granted('peer-big-00000000008', 3)
    const candidates = [peer('peer-big-00000000008', 8), peer('peer-mid-00000000004', 4)]
    const limit = (peerId: string, units: number): number => caps.limit(peerId, units)
    const capacity = jobCapacity(candidates, limit, true)
    assert.deepEqual(capacity.largest, { peerId: 'peer-mid-00000000004', units: 4, grantable: 4 })
    assert.equal(capacityShortfall(request(4), capacity, true), undefined)
    caps.granted('peer-mid-00000000004', 2)
    const capped = jobCapacity(candidates, limit, true)
    assert.equal(capped.grantable, 3, 'the most any one peer lets this submitter hold, not 3 + 2')
    assert.match(
      capacityShortfall(request(4), capped, true) ?? '',
      /largest running p, …00000008, has 8, of which it lets this submitter hold 3 at once/
    )
    // the same peers add up for a segmented job: 3 + 2 hold it
    assert.equal(capacityShortfall(request(4), jobCapacity(candidates, limit, false), false), undefined)
  })

  it('says so when no peer proving whole jobs runs the program', () => {
    const capacity = jobCapacity([], uncapped, true)
    assert.deepEqual(capacity, { total: 0, grantable: 0, free: 0, largest: undefined })
    assert.match(capacityShortfall(request(1), capacity, true) ?? '', /no peer proving whole jobs .* runs p$/)
  })
})
