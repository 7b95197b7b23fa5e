import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { CapacityAdvert } from '../../src/capacity/advert.js'
import { PeerTable } from '../../src/capacity/peer-table.js'
import { makeAdvert } from '../helpers/adverts.js'

function advert(seq: bigint, unitsFree: number): CapacityAdvert {
  return makeAdvert({ seq, unitsTotal: 100, unitsFree })
}

describe('the peer table', () => {
  it('lists fresh peers by free units and expires silent ones after the TTL', () => {
    let now = 1_000
    const table = new PeerTable({ ttlMs: 300, maxPeers: 10, now: () => now })
    const expired: string[] = []
    table.addEventListener('peer:expired', (event) => expired.push(event.detail.peerId))
    table.update('a', advert(1n, 5))
    table.update('b', advert(1n, 50))
    assert.deepEqual(
      table.list().map((entry) => entry.peerId),
      ['b', 'a']
    )
    assert.equal(table.lastSeq('a'), 1n)
    now += 200
    table.update('a', advert(2n, 5))
    now += 150
    assert.equal(table.get('b'), undefined, 'b is past its TTL')
    assert.equal(table.size, 1)
    assert.deepEqual(
      table.prune().map((entry) => entry.peerId),
      ['b']
    )
    assert.deepEqual(expired, ['b'])
    assert.equal(table.lastSeq('b'), undefined)
    assert.equal(table.get('a')?.advert.seq, 2n)
  })

  it('turns new peers away when full, until expired ones make room', () => {
    let now = 1_000
    const table = new PeerTable({ ttlMs: 300, maxPeers: 2, now: () => now })
    assert.ok(table.update('a', advert(1n, 1)))
    now += 200
    assert.ok(table.update('b', advert(1n, 1)))
    assert.equal(table.update('c', advert(1n, 1)), undefined, 'full')
    assert.equal(table.get('c'), undefined)
    assert.ok(table.update('b', advert(2n, 3)), 'a listed peer still updates')
    assert.equal(table.get('b')?.advert.unitsFree, 3)
    now += 150
    // a is now past its TTL: it is pruned to make room
    assert.ok(table.hasRoomFor('c'))
    assert.ok(table.update('c', advert(1n, 1)))
    assert.deepEqual(
      table
        .list()
        .map((entry) => entry.peerId)
        .sort(),
      ['b', 'c']
    )
  })
})
