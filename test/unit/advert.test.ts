import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
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
    proverBackend: 'npp',
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

  it('rejects hardware figures beyond any machine', () => {
    assert.equal(verdictOf(encodeAdvert(advert({ cpuCores: 4_294_967_295 }))), 'reject:range')
    assert.equal(verdictOf(encodeAdvert(advert({ memoryBytes: 2n ** 64n - 1n }))), 'reject:range')
    assert.equal(verdictOf(encodeAdvert(advert({ activeJobs: 4_294_967_295 }))), 'reject:range')
    const gpu = {
      index: 0,
      name: 'g',
      memoryTotalMib: 4_294_967_295,
      memoryUsedMib: 0,
      utilizationPercent: 0
    }
    const sixtyFour = Array.from({ length: 64 }, (_, index) => ({ ...gpu, index }))
    assert.equal(verdictOf(encodeAdvert(advert({ gpus: sixtyFour }))), 'reject:range')
    const honest = sixtyFour.map((entry) => ({ ...entry, memoryTotalMib: 81_559 }))
    assert.equal(verdictOf(encodeAdvert(advert({ gpus: honest }))), 'accept', '64 real GPUs are fine')
    assert.equal(verdictOf(encodeAdvert(advert({ gpus: [honest[0]!, honest[0]!] }))), 'reject:range')
    assert.equal(verdictOf(encodeAdvert(advert({ gpus: [{ ...honest[0]!, index: 64 }] }))), 'reject:range')
  })

  it('rejects integers out of their type or not in their shortest form on the wire', () => {
    const varint = (value: bigint): number[] => {
      const out: number[] = []
      let rest = value
      do {
        const low = Number(rest & 0x7fn)
        rest >>= 7n
        out.push(rest === 0n ? low : low | 0x80)
      } while (rest !== 0n)
      return out
    }
    // a valid advert, then one more field: protobuf keeps the last value of a field
    const base = encodeAdvert(advert({ unitsTotal: 0, unitsFree: 0 }))
    const withField = (...bytes: number[]): Uint8Array => Uint8Array.from([...base, ...bytes])
    const UNITS_TOTAL = (3 << 3) | 0
    assert.equal(verdictOf(withField(UNITS_TOTAL, ...varint(5n))), 'accept')
    assert.equal(
      verdictOf(withField(UNITS_TOTAL, ...varint(2n ** 32n + 5n))),
      'reject:range',
      '2^32 + 5 is not 5'
    )
    assert.equal(verdictOf(withField(UNITS_TOTAL, 0x85, 0x00)), 'reject:malformed', '5 in two bytes')
    const MEMORY = (7 << 3) | 0
    assert.equal(verdictOf(withField(MEMORY, ...varint(2n ** 40n))), 'accept')
    assert.equal(
      verdictOf(withField(MEMORY, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02)),
      'reject:malformed',
      'past 64 bits'
    )
    assert.equal(verdictOf(withField(UNITS_TOTAL | 2, 1, 0)), 'reject:malformed', 'a uint32 sent as bytes')
    const gpuMemory = [(3 << 3) | 0, ...varint(2n ** 32n + 1n)]
    assert.equal(
      verdictOf(withField((5 << 3) | 2, gpuMemory.length, ...gpuMemory)),
      'reject:range',
      'inside a Gpu'
    )
    assert.equal(
      verdictOf(withField((99 << 3) | 0, ...varint(7n))),
      'accept',
      'a later version may add fields'
    )
  })

  it('rejects an address that names another peer than its signer', async () => {
    const signer = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const other = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const withAddr = (addr: string): Uint8Array => encodeAdvert(advert({ addrs: [multiaddr(addr).bytes] }))
    assert.equal(verdictOf(withAddr(`/ip4/10.0.0.1/tcp/4001/p2p/${signer}`), { signer }), 'accept')
    assert.equal(verdictOf(withAddr('/ip4/10.0.0.1/tcp/4001'), { signer }), 'accept')
    assert.equal(verdictOf(withAddr(`/ip4/10.0.0.1/tcp/4001/p2p/${other}`), { signer }), 'reject:address')
    assert.equal(
      verdictOf(withAddr(`/ip4/10.0.0.1/tcp/4001/p2p/${other}/p2p-circuit/p2p/${signer}`), { signer }),
      'accept',
      'through a relay'
    )
    assert.equal(
      verdictOf(withAddr(`/ip4/10.0.0.1/tcp/4001/p2p/${signer}/p2p-circuit/p2p/${other}`), { signer }),
      'reject:address'
    )
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
    assert.equal(capacityTopic(), 'proofmesh/capacity/2')
    assert.equal(parseCapacityTopic('proofmesh/capacity/1'), 1)
    assert.equal(parseCapacityTopic('proofmesh/capacity/x'), undefined)
    assert.equal(parseCapacityTopic('other/capacity/1'), undefined)
  })
})
