import '../../src/polyfill.js'
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
import { reachablePeersDefaults } from '../../src/net/reachable-peers.js'
import { MemoryNetwork, type MemoryNode } from '../helpers/memory-network.js'
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

/** A fresh key's advert and its signature, as a peer table holds an origin */
async function signedOrigin(
  fields: Parameters<typeof makeAdvert>[0] = { programs: ['fib'] }
): Promise<{ id: string; advert: ReturnType<typeof makeAdvert>; signed: SignedAdvert }> {
  const key = await newKey()
  const advert = makeAdvert(fields)
  return {
    id: peerIdFromPrivateKey(key).toString(),
    advert,
    signed: await signAdvert(key, encodeAdvert(advert), TOPIC)
  }
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

  it('holds adverts of every program when the request names none (a warm-up)', async () => {
    const { table: peers, ids } = await table([
      { units: 4, programs: ['fib'] },
      { units: 0, programs: ['fib'] },
      { units: 3, programs: ['other'] },
      { units: 2, programs: [] },
      { units: 5, signed: false }
    ])
    const answer = answerPull(peers.list(), { program: '', units: 0xffff_ffff, exclude: new Set() })
    // no free units, or no envelope to hand on: left out as for a named program
    assert.deepEqual(
      answer.map((signed) => ids.indexOf(peerOf(signed))),
      [0, 2, 3]
    )
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

describe('a warm-up pull, and pulls at once', () => {
  const logger = createLogger({ level: 'silent' })

  /**
   * A CapacityPull on `node`: its table `peers`, pulled adverts taken through a real intake, each origin reached
   * once `reach` settles true (by default every origin, at once)
   */
  async function puller(
    node: MemoryNode,
    peers: PeerTable,
    neighbours: () => MemoryNode[],
    reach: (origin: string, via: string) => Promise<boolean> = async () => true
  ): Promise<CapacityPull> {
    const rateLimiter = new OriginRateLimiter({
      burst: 4,
      perInterval: 4,
      intervalMs: 5_000,
      maxOrigins: 1_000
    })
    const door = new AdvertIntake({ peers, rateLimiter })
    const pull = new CapacityPull(
      {
        handle: async (protocol, handler) => node.handle(protocol, handler),
        unhandle: async (protocol) => node.unhandle(protocol),
        dialProtocol: async (peer, protocol, options) => node.dialProtocol(peer, protocol, options),
        getPeers: () => neighbours().map((neighbour) => neighbour.peerId)
      },
      {
        logger,
        topic: TOPIC,
        entries: () => peers.list(),
        hasRoom: () => peers.hasRoom(),
        admit: async (origin, signed, via) => {
          const reached = await reach(origin.toString(), via)
          return door.admit(origin.toString(), signed.data, false, () => reached, signed)
        }
      }
    )
    await pull.start()
    return pull
  }

  /** `count` nodes that answer pulls, each table holding every one of `origins` */
  async function answeringNeighbours(
    network: MemoryNetwork,
    origins: ReadonlyArray<Awaited<ReturnType<typeof signedOrigin>>>,
    count: number
  ): Promise<MemoryNode[]> {
    const neighbours = await Promise.all(Array.from({ length: count }, async () => network.node()))
    for (const neighbour of neighbours) {
      const peers = new PeerTable({ maxPeers: 100 })
      for (const origin of origins) peers.update(origin.id, origin.advert, false, origin.signed)
      await puller(neighbour, peers, () => [])
    }
    return neighbours
  }

  it('asks its neighbours one after another, each for peers the answers before it did not hand over', async () => {
    const network = new MemoryNetwork()
    // 60 peers of two programs, the same in every neighbour's table (a small network: everyone hears everyone)
    const origins = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        signedOrigin({ unitsTotal: 10, unitsFree: 10, programs: [i % 2 === 0 ? 'fib' : 'other'] })
      )
    )
    const neighbours = await answeringNeighbours(network, origins, 3)
    const table = new PeerTable({ maxPeers: 100 })
    const fresh = await puller(await network.node(), table, () => neighbours)
    const round = await fresh.warmUp(() => table.list().map((entry) => entry.peerId))
    // without the exclusions, each neighbour would hand over the same 16 (its table's first, in the same order)
    assert.deepEqual(round, {
      asked: 3,
      adverts: 3 * MAX_PULL_ADVERTS,
      listed: 3 * MAX_PULL_ADVERTS,
      units: 480
    })
    assert.equal(table.size, 3 * MAX_PULL_ADVERTS)
    const programs = new Set(table.list().flatMap((entry) => entry.advert.programs))
    assert.deepEqual([...programs].sort(), ['fib', 'other'])
  })

  it('asks the next neighbour when one gives no answer, until three have answered, at most six asked', async () => {
    const network = new MemoryNetwork()
    const origins = await Promise.all(Array.from({ length: 60 }, async () => signedOrigin()))
    // three neighbours of a version before pulls (no handler: no answer) and three that answer
    const silent = await Promise.all([network.node(), network.node(), network.node()])
    const answering = await answeringNeighbours(network, origins, 3)
    const table = new PeerTable({ maxPeers: 100 })
    const fresh = await puller(await network.node(), table, () => [...silent, ...answering])
    const round = await fresh.warmUp(() => table.list().map((entry) => entry.peerId))
    // in whatever order they were asked, the three that answer did: the first three alone would mostly miss some
    assert.equal(round.listed, 3 * MAX_PULL_ADVERTS)
    assert.equal(table.size, 3 * MAX_PULL_ADVERTS)
    assert.ok(round.asked >= 3 && round.asked <= 6, `asked ${round.asked}`)
    // with only silent ones, it gives up after the six it may ask
    const eightSilent = await Promise.all(Array.from({ length: 8 }, async () => network.node()))
    const alone = await puller(await network.node(), new PeerTable({ maxPeers: 100 }), () => eightSilent)
    assert.deepEqual(await alone.warmUp(() => []), { asked: 6, adverts: 0, listed: 0, units: 0 })
  })

  /**
   * Reachability checks as reachable-peers makes them: a relay's origins beyond its share of the queue dropped
   * (not reached), the others settling a moment later with `answers`
   */
  function relayShare(answers: boolean): {
    reach: (origin: string, via: string) => Promise<boolean>
    most: () => number
  } {
    const waiting = new Map<string, number>()
    let most = 0
    return {
      most: () => most,
      reach: async (_origin, via) => {
        const queued = waiting.get(via) ?? 0
        if (queued >= reachablePeersDefaults.maxQueuedPerRelay) return false
        waiting.set(via, queued + 1)
        most = Math.max(most, queued + 1)
        await new Promise((resolve) => setTimeout(resolve, 5))
        waiting.set(via, (waiting.get(via) ?? 1) - 1)
        return answers
      }
    }
  }

  async function answerOfStrangers(answers: boolean): Promise<{ table: PeerTable; most: number }> {
    const network = new MemoryNetwork()
    const neighbour = await network.node()
    const theirs = new PeerTable({ maxPeers: 100 })
    for (let i = 0; i < 2 * MAX_PULL_ADVERTS; i++) {
      const origin = await signedOrigin()
      theirs.update(origin.id, origin.advert, false, origin.signed)
    }
    await puller(neighbour, theirs, () => [])
    const share = relayShare(answers)
    const table = new PeerTable({ maxPeers: 100 })
    const fresh = await puller(await network.node(), table, () => [neighbour], share.reach)
    await fresh.warmUp(() => [])
    return { table, most: share.most() }
  }

  it("checks every stranger of an answer, never more at once than the relay's share of the check queue", async () => {
    const { table, most } = await answerOfStrangers(true)
    // taken all at once, the answer's strangers beyond the relay's share (8 of 16) were dropped unchecked
    assert.equal(table.size, MAX_PULL_ADVERTS)
    assert.equal(most, reachablePeersDefaults.maxQueuedPerRelay)
  })

  it('lists none of the generated keys a hostile neighbour hands over, and queues no more checks than its share', async () => {
    const { table, most } = await answerOfStrangers(false)
    assert.equal(table.size, 0)
    assert.equal(most, reachablePeersDefaults.maxQueuedPerRelay)
  })

  it('leaves out the peers already listed, and asks nobody while the table is full', async () => {
    const network = new MemoryNetwork()
    const origins = await Promise.all(Array.from({ length: 4 }, () => signedOrigin()))
    const neighbour = await network.node()
    const theirs = new PeerTable({ maxPeers: 100 })
    for (const origin of origins) theirs.update(origin.id, origin.advert, false, origin.signed)
    await puller(neighbour, theirs, () => [])
    const ours = new PeerTable({ maxPeers: 3 })
    const [first, second] = origins as [(typeof origins)[0], (typeof origins)[0]]
    ours.update(first.id, first.advert, false, first.signed)
    ours.update(second.id, second.advert, false, second.signed)
    const fresh = await puller(await network.node(), ours, () => [neighbour])
    const round = await fresh.warmUp(() => ours.list().map((entry) => entry.peerId))
    // two of the four were listed already: the answer holds the other two, and one finds room
    assert.equal(round.adverts, 2)
    assert.equal(round.listed, 1)
    assert.equal(ours.size, 3)
    const again = await fresh.warmUp(() => ours.list().map((entry) => entry.peerId))
    assert.deepEqual(again, { asked: 0, adverts: 0, listed: 0, units: 0 })
  })

  it('does not ask a neighbour it is asking already: the second pull would be refused', async () => {
    const network = new MemoryNetwork()
    const origin = await signedOrigin()
    const neighbour = await network.node()
    const theirs = new PeerTable({ maxPeers: 10 })
    theirs.update(origin.id, origin.advert, false, origin.signed)
    await puller(neighbour, theirs, () => [])
    const ours = new PeerTable({ maxPeers: 10 })
    const fresh = await puller(await network.node(), ours, () => [neighbour])
    const first = fresh.pull({ program: 'fib', units: 8, known: [], asked: new Set() })
    const second = await fresh.warmUp(() => [])
    assert.deepEqual(second, { asked: 0, adverts: 0, listed: 0, units: 0 })
    assert.deepEqual(await first, { asked: 1, adverts: 1, listed: 1, units: 8 })
    // the exchange over, the neighbour is asked again
    const third = await fresh.pull({ program: 'fib', units: 8, known: [], asked: new Set() })
    assert.equal(third.asked, 1)
  })
})
