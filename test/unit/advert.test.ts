import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { multiaddr } from '@multiformats/multiaddr'
import {
  type AdvertContext,
  AdvertValidationError,
  type CapacityAdvert,
  decodeAdvert,
  encodeAdvert
} from '../../src/capacity/advert.js'
import { advertToJson } from '../../src/capacity/advert-json.js'
import {
  capacityTopic,
  MAX_ADVERT_BYTES,
  MAX_CLOCK_SKEW_MS,
  parseCapacityTopic
} from '../../src/capacity/constants.js'
import { makeAdvert } from '../helpers/adverts.js'

function advert(fields: Partial<CapacityAdvert> = {}): CapacityAdvert {
  return makeAdvert({
    seq: 10n,
    timestampMs: 1_700_000_000_000n,
    unitsTotal: 20,
    unitsFree: 10,
    gpus: [
      {
        index: 0,
        name: 'NVIDIA H100 80GB HBM3',
        memoryTotalMib: 81559,
        memoryUsedMib: 100,
        utilizationPercent: 3
      }
    ],
    cpuCores: 16,
    memoryBytes: 128n * 1024n ** 3n,
    proverName: 'proofmesh-prover',
    proverVersion: '0.1.0',
    programs: ['rescue-sponge'],
    tags: ['region=eu'],
    activeJobs: 1,
    version: '0.1.0',
    addrs: [multiaddr('/ip4/10.0.0.1/tcp/4001').bytes],
    ...fields
  })
}

function verdictOf(data: Uint8Array, context: AdvertContext = {}): string {
  try {
    decodeAdvert(data, { now: 1_700_000_000_000, maxAheadMs: MAX_CLOCK_SKEW_MS, ...context })
    return 'accept'
  } catch (err) {
    assert.ok(err instanceof AdvertValidationError)
    return `${err.verdict}:${err.reason}`
  }
}

describe('capacity adverts', () => {
  it('round-trips through the wire form', () => {
    const original = advert()
    const decoded = decodeAdvert(encodeAdvert(original), { now: 1_700_000_000_000 })
    assert.deepEqual(
      { ...decoded, addrs: decoded.addrs.map((a) => [...a]) },
      { ...original, addrs: original.addrs.map((a) => [...a]) }
    )
  })

  it('renders JSON with readable addresses and GPU memory', () => {
    const json = advertToJson(advert())
    assert.deepEqual(json.addrs, ['/ip4/10.0.0.1/tcp/4001'])
    assert.equal(json.gpus[0]?.memoryTotalMiB, 81559)
    assert.equal(json.prover?.name, 'proofmesh-prover')
    assert.equal(json.time, new Date(1_700_000_000_000).toISOString())
  })

  it('rejects what is provably invalid', () => {
    assert.equal(verdictOf(new Uint8Array([0xff, 0xff, 0xff])), 'reject:malformed')
    assert.equal(verdictOf(new Uint8Array(MAX_ADVERT_BYTES + 1)), 'reject:oversize')
    assert.equal(verdictOf(encodeAdvert(advert({ seq: 0n }))), 'reject:range')
    assert.equal(verdictOf(encodeAdvert(advert({ unitsFree: 21 }))), 'reject:range')
    assert.equal(verdictOf(encodeAdvert(advert({ unitsTotal: 2_000_000, unitsFree: 0 }))), 'reject:range')
    assert.equal(verdictOf(encodeAdvert(advert({ tags: ['x'.repeat(200)] }))), 'reject:range')
    assert.equal(
      verdictOf(encodeAdvert(advert({ addrs: [new Uint8Array([0xde, 0xad])] }))),
      'reject:malformed'
    )
    const gpu = { index: 0, name: 'g', memoryTotalMib: 10, memoryUsedMib: 11, utilizationPercent: 0 }
    assert.equal(verdictOf(encodeAdvert(advert({ gpus: [gpu] }))), 'reject:range')
    assert.equal(
      verdictOf(encodeAdvert(advert({ gpus: [{ ...gpu, memoryUsedMib: 1, utilizationPercent: 101 }] }))),
      'reject:range'
    )
    const tooManyTags = advert({ tags: Array.from({ length: 40 }, (_, i) => `t${i}`) })
    assert.equal(verdictOf(encodeAdvert(tooManyTags)), 'reject:malformed')
  })

  it('ignores stale and far-future adverts without blaming the sender', () => {
    assert.equal(verdictOf(encodeAdvert(advert({ seq: 10n })), { lastSeq: 10n }), 'ignore:stale')
    assert.equal(verdictOf(encodeAdvert(advert({ seq: 9n })), { lastSeq: 10n }), 'ignore:stale')
    assert.equal(verdictOf(encodeAdvert(advert({ seq: 11n })), { lastSeq: 10n }), 'accept')
    assert.equal(
      verdictOf(encodeAdvert(advert({ timestampMs: 1_700_000_000_000n + 3_600_000n }))),
      'ignore:future'
    )
  })

  it('builds and parses versioned topic names', () => {
    assert.equal(capacityTopic(), 'proofmesh/capacity/1')
    assert.equal(parseCapacityTopic('proofmesh/capacity/1'), 1)
    assert.equal(parseCapacityTopic('proofmesh/capacity/x'), undefined)
    assert.equal(parseCapacityTopic('other/capacity/1'), undefined)
  })
})
