import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { CapacityAdvert } from '../../src/capacity/advert.js'
import { LEGACY_ADVERT_TTL_MS, MAX_ADVERT_TTL_MS } from '../../src/capacity/constants.js'
import { PeerTable } from '../../src/capacity/peer-table.js'
import { makeAdvert } from '../helpers/adverts.js'

function advert(seq: bigint, unitsFree: number, ttlMs = 300): CapacityAdvert {
  return makeAdvert({ seq, unitsTotal: 100, unitsFree, ttlMs })
}

describe('the peer table', () => {
  it('lists fresh peers by free units and expires silent ones after the TTL', () => {
    let now = 1_000
    const table = new PeerTable({ maxPeers: 10, now: () => now })
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
    const table = new PeerTable({ maxPeers: 2, now: () => now })
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

  it("keeps each entry for its own advert's TTL: capped, and 15 s when it names none (older peers)", () => {
    let now = 1_000
    const table = new PeerTable({ maxPeers: 10, now: () => now })
    table.update('legacy', advert(1n, 1, 0))
    table.update('slow', advert(1n, 1, 60_000))
    table.update('greedy', advert(1n, 1, 0xffff_ffff))
    now += LEGACY_ADVERT_TTL_MS + 1
    assert.equal(table.get('legacy'), undefined, 'an advert without a TTL lasts 15 s')
    assert.ok(table.get('slow'))
    now += 60_000
    assert.equal(table.get('slow'), undefined)
    assert.ok(table.get('greedy'), 'within the cap')
    now = 1_000 + MAX_ADVERT_TTL_MS + 1
    assert.equal(table.get('greedy'), undefined, 'a TTL past the cap is cut to it')
  })

  it('drops a neighbour whose connection closed only when its advert came over that connection', () => {
    const table = new PeerTable({ maxPeers: 10, now: () => 1_000 })
    table.update('neighbour', advert(1n, 4), true)
    table.update('two-hops', advert(1n, 4), false)
    const expired: string[] = []
    table.addEventListener('peer:expired', (event) => expired.push(event.detail.peerId))
    assert.equal(table.dropDirect('neighbour')?.peerId, 'neighbour')
    assert.equal(table.dropDirect('two-hops'), undefined, 'heard through a relay: its link says nothing')
    assert.equal(table.dropDirect('unknown'), undefined)
    assert.deepEqual(
      table.list().map((entry) => entry.peerId),
      ['two-hops']
    )
    assert.deepEqual(expired, ['neighbour'])
  })

  it('keeps the time a peer was first listed over its later adverts, and sets it anew when the peer comes back', () => {
    let now = 1_000
    const table = new PeerTable({ maxPeers: 10, now: () => now })
    assert.equal(table.update('a', advert(1n, 5), true)?.listedAt, 1_000, 'a new peer is listed now')
    now += 200
    const replaced = table.update('a', advert(2n, 3), true)
    assert.equal(replaced?.listedAt, 1_000, 'a later advert keeps it')
    assert.equal(replaced?.receivedAt, 1_200)
    now += 100
    table.dropDirect('a')
    assert.equal(table.update('a', advert(3n, 3), true)?.listedAt, 1_300, 'dropped and listed again: anew')
    now += 301
    assert.equal(table.get('a'), undefined, 'past its TTL')
    assert.equal(
      table.update('a', advert(4n, 3))?.listedAt,
      1_601,
      'expired, not pruned yet, then back: anew'
    )
    now += 50
    table.update('b', advert(1n, 1))
    now += 301
    assert.deepEqual(
      table.prune().map((entry) => entry.peerId),
      ['a', 'b']
    )
    assert.equal(table.update('b', advert(2n, 1))?.listedAt, 1_952, 'pruned and listed again: anew')
  })
})
