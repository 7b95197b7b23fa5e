import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { toString } from 'uint8arrays/to-string'
import { PullRequest, PullResponse } from '../../protocols/capacity/pb/pull.js'
import { MAX_PULL_ADVERTS, MAX_PULL_RESPONSE_BYTES } from '../../protocols/capacity/pull-constants.js'
import { encodeAdvert } from '../../src/capacity/advert.js'
import { capacityTopic } from '../../src/capacity/constants.js'
import { AdvertIntake } from '../../src/capacity/intake.js'
import { PeerTable } from '../../src/capacity/peer-table.js'
import { CapacityPull } from '../../src/capacity/pull.js'
import { answerPull } from '../../src/capacity/pull-answer.js'
import { createLogger } from '../../src/log/index.js'
import { OriginRateLimiter } from '../../src/capacity/rate-limit.js'
import {
  type SignedAdvert,
  SignedAdvertError,
  signedAdvertOf,
  verifySignedAdvert
} from '../../src/capacity/signed-advert.js'
import { makeAdvert } from '../helpers/adverts.js'
import { newKey, signAdvert } from '../helpers/signed-adverts.js'

const TOPIC = capacityTopic()

function advertBytes(fields: Parameters<typeof makeAdvert>[0] = {}): Uint8Array {
  return encodeAdvert(makeAdvert({ programs: ['fib'], unitsTotal: 10, unitsFree: 10, ...fields }))
}

async function rejected(advert: SignedAdvert, topic = TOPIC): Promise<string> {
  try {
    await verifySignedAdvert(advert, topic)
  } catch (err) {
    assert.ok(err instanceof SignedAdvertError, `not a SignedAdvertError: ${String(err)}`)
    return err.message
  }
  assert.fail('the advert was verified')
}

describe('a pulled advert is verified as its origin signed it', () => {
  it('verifies an advert signed by its from, and names the origin', async () => {
    const key = await newKey()
    const signed = await signAdvert(key, advertBytes(), TOPIC)
    const origin = await verifySignedAdvert(signed, TOPIC)
    assert.equal(origin.toString(), peerIdFromPrivateKey(key).toString())
  })

  it('refuses a forged signature', async () => {
    const signed = await signAdvert(await newKey(), advertBytes(), TOPIC)
    signed.signature[10] = (signed.signature[10] ?? 0) ^ 0xff
    assert.match(await rejected(signed), /signature/)
  })

  it('refuses an advert whose data was altered after signing (more free units)', async () => {
    const signed = await signAdvert(await newKey(), advertBytes({ unitsFree: 1 }), TOPIC)
    assert.match(
      await rejected({ ...signed, data: new Uint8Array(advertBytes({ unitsFree: 10 })) }),
      /signature/
    )
  })

  it('refuses a wrong from: signed by one key, claimed for another peer', async () => {
    const signer = await newKey()
    const other = await newKey()
    const signed = await signAdvert(signer, advertBytes(), TOPIC)
    const claimed = peerIdFromPrivateKey(other).toMultihash().bytes
    assert.match(await rejected({ ...signed, from: claimed }), /signature/)
  })

  it('refuses a key that is not the key of its from', async () => {
    const signer = await newKey()
    const other = await newKey()
    const signed = await signAdvert(signer, advertBytes(), TOPIC)
    const key = publicKeyToProtobuf(other.publicKey) as Uint8Array<ArrayBuffer>
    assert.match(await rejected({ ...signed, key }), /key is not the key of its from/)
  })

  it('refuses an advert signed for another topic version', async () => {
    const signed = await signAdvert(await newKey(), advertBytes(), capacityTopic(1))
    assert.match(await rejected(signed), /signature/)
  })

  it('refuses a from that is not a peer id, and a sequence number of another length', async () => {
    const signed = await signAdvert(await newKey(), advertBytes(), TOPIC)
    assert.match(await rejected({ ...signed, from: new Uint8Array([1, 2, 3]) }), /not a peer id/)
    assert.match(await rejected({ ...signed, seqno: new Uint8Array(4) }), /seqno/)
  })

  it("keeps gossip's envelope so that it verifies again elsewhere", async () => {
    const key = await newKey()
    const signed = await signAdvert(key, advertBytes(), TOPIC, 77n)
    const kept = signedAdvertOf({
      type: 'signed',
      from: peerIdFromPrivateKey(key),
      topic: TOPIC,
      data: signed.data,
      sequenceNumber: 77n,
      signature: signed.signature,
      key: key.publicKey
    })
    // an Ed25519 id embeds its key: the envelope leaves it out
    assert.equal(kept.key.byteLength, 0)
    assert.equal((await verifySignedAdvert(kept, TOPIC)).toString(), peerIdFromPrivateKey(key).toString())
  })
})

describe('a pull answer', () => {
  const NOW = 1_800_000_000_000

  async function table(
    adverts: Array<{ units: number; programs?: string[]; signed?: boolean; size?: number }>
  ): Promise<{ table: PeerTable; ids: string[] }> {
    const peers = new PeerTable({ maxPeers: 100, now: () => NOW })
    const ids: string[] = []
    for (const spec of adverts) {
      const key = await newKey()
      const id = peerIdFromPrivateKey(key).toString()
      const advert = makeAdvert({
        seq: 1n,
        timestampMs: BigInt(NOW),
        unitsTotal: 10,
        unitsFree: spec.units,
        programs: spec.programs ?? ['fib'],
        tags:
          spec.size === undefined
            ? []
            : Array.from({ length: 32 }, (_, i) => `${i}`.padEnd(spec.size ?? 0, 'x'))
      })
      const signed = await signAdvert(key, encodeAdvert(advert), TOPIC)
      peers.update(id, advert, false, spec.signed === false ? undefined : signed)
      ids.push(id)
    }
    return { table: peers, ids }
  }

  it('holds only signed entries that run the program and have free units, most free first, up to the units wanted', async () => {
    const { table: peers, ids } = await table([
      { units: 4 },
      { units: 0 },
      { units: 9, programs: ['other'] },
      { units: 7 },
      { units: 8, signed: false },
      { units: 3 },
      { units: 2 }
    ])
    const answer = answerPull(peers.list(), { program: 'fib', units: 10, exclude: new Set() })
    const from = answer.map((signed) => ids.indexOf(peerOf(signed)))
    // 7 then 4 cover 10: the 3 and the 2 are not needed
    assert.deepEqual(from, [3, 0])
  })

  it('leaves out the peers the asker excluded', async () => {
    const { table: peers, ids } = await table([{ units: 7 }, { units: 4 }])
    const answer = answerPull(peers.list(), {
      program: 'fib',
      units: 100,
      exclude: new Set([ids[0] as string])
    })
    assert.deepEqual(answer.map(peerOf), [ids[1]])
  })

  it('stops at the advert cap and at the byte cap', async () => {
    const { table: peers } = await table(Array.from({ length: MAX_PULL_ADVERTS + 4 }, () => ({ units: 1 })))
    const capped = answerPull(peers.list(), { program: 'fib', units: 1_000, exclude: new Set() })
    assert.equal(capped.length, MAX_PULL_ADVERTS)
    const { table: large } = await table(
      Array.from({ length: MAX_PULL_ADVERTS }, () => ({ units: 1, size: 128 }))
    )
    const bytesCapped = answerPull(large.list(), { program: 'fib', units: 1_000, exclude: new Set() })
    const encoded = PullResponse.encode({ adverts: bytesCapped }).byteLength
    assert.ok(bytesCapped.length < MAX_PULL_ADVERTS, `${bytesCapped.length} large adverts in one answer`)
    assert.ok(encoded <= MAX_PULL_RESPONSE_BYTES, `an answer of ${encoded} bytes`)
  })

  it('decodes no more adverts than the cap, and no more exclusions than theirs', async () => {
    const signed = await signAdvert(await newKey(), advertBytes(), TOPIC)
    const many = PullResponse.encode({ adverts: Array.from({ length: MAX_PULL_ADVERTS + 1 }, () => signed) })
    assert.throws(() => PullResponse.decode(many, { limits: { adverts: MAX_PULL_ADVERTS } }), {
      name: 'MaxLengthError'
    })
    const request = PullRequest.encode({
      topic: TOPIC,
      program: 'fib',
      units: 1,
      exclude: Array.from({ length: 65 }, () => new Uint8Array(38))
    })
    assert.throws(() => PullRequest.decode(request, { limits: { exclude: 64 } }), { name: 'MaxLengthError' })
  })
})

describe('a pulled advert goes through the same intake as gossip', () => {
  const NOW = 1_800_000_000_000

  it('lists it with its envelope, to be handed on in turn', async () => {
    const peers = new PeerTable({ maxPeers: 10, now: () => NOW })
    const rateLimiter = new OriginRateLimiter({ burst: 4, perInterval: 4, intervalMs: 5_000, maxOrigins: 10 })
    const door = new AdvertIntake({ peers, rateLimiter, now: () => NOW })
    const key = await newKey()
    const data = advertBytes({ seq: 5n, timestampMs: BigInt(NOW) })
    const signed = await signAdvert(key, data, TOPIC)
    const origin = (await verifySignedAdvert(signed, TOPIC)).toString()
    const outcome = door.admit(origin, signed.data, false, () => true, signed)
    assert.equal(outcome.kind, 'listed')
    assert.equal(outcome.kind === 'listed' && outcome.forward, false)
    assert.deepEqual(peers.get(origin)?.signed, signed)
    // the same advert again, as a second neighbour's answer would hand it over: stale, not listed twice
    const again = door.admit(origin, signed.data, false, () => true, signed)
    assert.equal(again.kind === 'refused' && again.reason, 'stale')
  })

  it('keeps an origin this node has not reached out of the table', async () => {
    const peers = new PeerTable({ maxPeers: 10, now: () => NOW })
    const rateLimiter = new OriginRateLimiter({ burst: 4, perInterval: 4, intervalMs: 5_000, maxOrigins: 10 })
    const door = new AdvertIntake({ peers, rateLimiter, now: () => NOW })
    const signed = await signAdvert(await newKey(), advertBytes({ timestampMs: BigInt(NOW) }), TOPIC)
    const origin = (await verifySignedAdvert(signed, TOPIC)).toString()
    assert.equal(door.admit(origin, signed.data, false, () => false, signed).kind, 'unreached')
    assert.equal(peers.size, 0)
  })
})

function peerOf(signed: SignedAdvert): string {
  return toString(signed.from, 'base58btc')
}

describe('a pull round', () => {
  it('asks nobody while the table is full: every advert it fetched would be turned away', async () => {
    const dialled: string[] = []
    const key = await newKey()
    const pull = new CapacityPull(
      {
        handle: async () => undefined,
        unhandle: async () => undefined,
        dialProtocol: async (peer) => {
          dialled.push(peer.toString())
          throw new Error('not dialled in this test')
        },
        getPeers: () => [peerIdFromPrivateKey(key)]
      },
      {
        logger: createLogger({ level: 'silent' }),
        topic: TOPIC,
        entries: () => [],
        hasRoom: () => false,
        admit: async () => assert.fail('nothing to admit')
      }
    )
    const round = await pull.pull({ program: 'fib', units: 10, known: [], asked: new Set() })
    assert.deepEqual(round, { asked: 0, adverts: 0, listed: 0, units: 0 })
    assert.deepEqual(dialled, [])
  })
})
