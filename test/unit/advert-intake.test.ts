import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { encodeAdvert } from '../../src/capacity/advert.js'
import { AdvertIntake } from '../../src/capacity/intake.js'
import { PeerTable } from '../../src/capacity/peer-table.js'
import { OriginRateLimiter } from '../../src/capacity/rate-limit.js'
import { makeAdvert } from '../helpers/adverts.js'

const NOW = 1_800_000_000_000

function intake(maxPeers = 10): { intake: AdvertIntake; table: PeerTable } {
  const now = (): number => NOW
  const table = new PeerTable({ maxPeers, now })
  const rateLimiter = new OriginRateLimiter({
    burst: 4,
    perInterval: 4,
    intervalMs: 5_000,
    maxOrigins: 10,
    now
  })
  return { intake: new AdvertIntake({ peers: table, rateLimiter, now }), table }
}

const advert = (seq: bigint): Uint8Array =>
  encodeAdvert(makeAdvert({ seq, timestampMs: BigInt(NOW), unitsTotal: 10, unitsFree: 6 }))
const everyone = (): boolean => true

describe('the capacity table door (two hops)', () => {
  it('lists an advert its origin delivered and lets gossip forward it', () => {
    const { intake: door, table } = intake()
    const outcome = door.admit('a', advert(1n), true, everyone)
    assert.equal(outcome.kind, 'listed')
    assert.equal(outcome.kind === 'listed' && outcome.forward, true)
    assert.equal(outcome.kind === 'listed' && outcome.known, false)
    assert.equal(table.get('a')?.advert.unitsFree, 6)
  })

  it('lists an advert a neighbour relayed, and forwards it no further', () => {
    const { intake: door, table } = intake()
    const outcome = door.admit('b', advert(1n), false, everyone)
    assert.equal(outcome.kind, 'listed')
    assert.equal(outcome.kind === 'listed' && outcome.forward, false)
    assert.ok(table.get('b'))
  })

  it('holds back an origin not reached, and judges the advert itself first', () => {
    const { intake: door, table } = intake()
    assert.equal(door.admit('c', advert(1n), false, () => false).kind, 'unreached')
    assert.equal(table.get('c'), undefined)
    const bad = encodeAdvert(makeAdvert({ seq: 1n, timestampMs: BigInt(NOW), unitsTotal: 1, unitsFree: 2 }))
    const outcome = door.admit('c', bad, false, () => false)
    assert.deepEqual(outcome.kind === 'refused' && [outcome.verdict, outcome.reason], ['reject', 'range'])
  })

  it('ignores a stale sequence, a full table and an origin over its rate', () => {
    const { intake: door } = intake(1)
    assert.equal(door.admit('a', advert(5n), true, everyone).kind, 'listed')
    const stale = door.admit('a', advert(5n), true, everyone)
    assert.deepEqual(stale.kind === 'refused' && stale.reason, 'stale')
    const full = door.admit('b', advert(1n), true, everyone)
    assert.deepEqual(full.kind === 'refused' && full.reason, 'table_full')
    const reasons = [6n, 7n, 8n, 9n].map((seq) => {
      const outcome = door.admit('a', advert(seq), true, everyone)
      return outcome.kind === 'refused' ? outcome.reason : outcome.kind
    })
    // 4 tokens: the first advert spent one
    assert.deepEqual(reasons, ['listed', 'listed', 'listed', 'rate_limited'])
  })

  it('ignores an advert stamped longer ago than its own TTL, and marks who delivered it', () => {
    const { intake: door, table } = intake()
    const at = (ageMs: number, ttlMs: number): Uint8Array =>
      encodeAdvert(
        makeAdvert({ seq: 1n, timestampMs: BigInt(NOW - ageMs), unitsTotal: 1, unitsFree: 1, ttlMs })
      )
    const old = door.admit('a', at(20_000, 0), true, everyone)
    assert.deepEqual(old.kind === 'refused' && old.reason, 'stale_time', 'no TTL named: 15 s')
    assert.equal(door.admit('a', at(20_000, 60_000), true, everyone).kind, 'listed')
    assert.equal(table.get('a')?.direct, true)
    assert.equal(door.admit('b', at(0, 60_000), false, everyone).kind, 'listed')
    assert.equal(table.get('b')?.direct, false)
  })
})
