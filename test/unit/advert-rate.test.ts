import assert from 'node:assert/strict'
import { afterEach, describe, it, mock } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { type GossipSub, type Message, TopicValidatorResult } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { Registry } from 'prom-client'
import { AdvertValidationError, decodeAdvert, encodeAdvert } from '../../src/capacity/advert.js'
import { ADVERTS_PER_INTERVAL, MAX_CLOCK_SKEW_MS } from '../../src/capacity/constants.js'
import { OriginRateLimiter } from '../../src/capacity/rate-limit.js'
import { CapacityService } from '../../src/capacity/service.js'
import { createLogger } from '../../src/log/index.js'
import { makeAdvert } from '../helpers/adverts.js'

const logger = createLogger({ level: 'silent' })
const NOW = 1_700_000_000_000
const TTL_MS = 15_000

function limiter(clock: { now: number }, maxOrigins = 100): OriginRateLimiter {
  return new OriginRateLimiter({
    burst: 4,
    perInterval: 4,
    intervalMs: 1_000,
    maxOrigins,
    now: () => clock.now
  })
}

function timeVerdict(
  timestampMs: number,
  context = { maxAgeMs: TTL_MS, maxAheadMs: MAX_CLOCK_SKEW_MS }
): string {
  try {
    decodeAdvert(encodeAdvert(makeAdvert({ timestampMs: BigInt(timestampMs) })), { now: NOW, ...context })
    return 'accept'
  } catch (err) {
    assert.ok(err instanceof AdvertValidationError)
    return `${err.verdict}:${err.reason}`
  }
}

/** Just what CapacityService touches of gossipsub: the validator it installs, and what it publishes when */
class FakePubsub {
  readonly topicValidators = new Map<
    string,
    (from: PeerId, message: Message) => TopicValidatorResult | Promise<TopicValidatorResult>
  >()
  readonly published: number[] = []
  readonly payloads: Uint8Array[] = []
  private readonly listeners = new Set<(event: Event) => void>()

  subscribe(): void {}
  unsubscribe(): void {}
  addEventListener(_type: string, listener: (event: Event) => void): void {
    this.listeners.add(listener)
  }
  removeEventListener(_type: string, listener: (event: Event) => void): void {
    this.listeners.delete(listener)
  }
  async publish(_topic: string, data: Uint8Array): Promise<{ recipients: PeerId[] }> {
    this.published.push(Date.now())
    this.payloads.push(data)
    // nobody heard it: every neighbour joining the topic asks for the early advert again
    return { recipients: [] }
  }
  neighbourJoined(topic: string): void {
    const event = new CustomEvent('subscription-change', {
      detail: { peerId: undefined, subscriptions: [{ topic, subscribe: true }] }
    })
    for (const listener of this.listeners) listener(event)
  }
}

async function service(
  init: { advertIntervalMs: number; workload?: { unitsInUse(): number; activeJobs(): number } } = {
    advertIntervalMs: 5_000
  },
  onPeerDisconnect?: (listener: (peerId: string) => void) => () => void
): Promise<{ capacity: CapacityService; pubsub: FakePubsub; registry: Registry }> {
  const pubsub = new FakePubsub()
  const registry = new Registry()
  const capacity = new CapacityService(
    {
      peerId: peerIdFromPrivateKey(await generateKeyPair('Ed25519')),
      pubsub: pubsub as unknown as GossipSub,
      getMultiaddrs: () => [],
      // every origin counts as reached here: this file is about rates (reachable-peers is tested on real hosts)
      reachability: { isReachable: () => true, check: async () => true },
      ...(onPeerDisconnect === undefined ? {} : { onPeerDisconnect })
    },
    {
      logger,
      ...init,
      probe: async () => ({ gpus: [], cpuCores: 4, memoryBytes: 0, freeMemoryBytes: 0 }),
      metricsRegistry: registry
    }
  )
  return { capacity, pubsub, registry }
}

async function signedFrom(): Promise<{ from: PeerId; message: (data: Uint8Array) => Message }> {
  const key = await generateKeyPair('Ed25519')
  const from = peerIdFromPrivateKey(key)
  return {
    from,
    message: (data) => ({
      type: 'signed',
      from,
      topic: 'proofmesh/capacity/2',
      data,
      sequenceNumber: 1n,
      signature: new Uint8Array(64),
      key: key.publicKey
    })
  }
}

/** The farewell advert waits out the spacing since the last one (mocked timers here), within its deadline */
async function stopUnderMockTimers(capacity: CapacityService): Promise<void> {
  const stopped = capacity.stop()
  mock.timers.tick(ADVERTS_PER_INTERVAL * 1_000)
  await new Promise((resolve) => setImmediate(resolve))
  mock.timers.tick(2_000)
  await stopped
}

async function counted(registry: Registry, result: string, reason: string): Promise<number> {
  const metric = await registry.getSingleMetric('proofmesh_adverts_received_total')?.get()
  return metric?.values.find((v) => v.labels.result === result && v.labels.reason === reason)?.value ?? 0
}

describe('per-origin advert rate', () => {
  it('lets a burst through, refuses the rest, and refills at the rate', () => {
    const clock = { now: NOW }
    const buckets = limiter(clock)
    const first = Array.from({ length: 170 }, () => buckets.take('flooder'))
    assert.equal(first.filter(Boolean).length, 4)
    assert.deepEqual(first.slice(0, 4), [true, true, true, true])
    clock.now += 249
    assert.equal(buckets.take('flooder'), false, 'not a whole token yet')
    clock.now += 1
    assert.equal(buckets.take('flooder'), true, 'one token per quarter interval')
    assert.equal(buckets.take('flooder'), false)
    clock.now += 60_000
    assert.equal(
      Array.from({ length: 10 }, () => buckets.take('flooder')).filter(Boolean).length,
      4,
      'a long silence refills no more than the burst'
    )
  })

  it('keeps each origin to its own bucket', () => {
    const clock = { now: NOW }
    const buckets = limiter(clock)
    for (let i = 0; i < 20; i++) buckets.take('flooder')
    assert.equal(buckets.take('flooder'), false)
    assert.equal(buckets.take('honest'), true)
  })

  it('never lets an origin through faster than one per quarter interval after its burst', () => {
    const clock = { now: NOW }
    const buckets = limiter(clock)
    let allowed = 0
    // 170 a second for ten seconds
    for (let i = 0; i < 1_700; i++) {
      clock.now = NOW + Math.floor((i * 1_000) / 170)
      if (buckets.take('flooder')) allowed++
    }
    assert.ok(allowed <= 4 + 40, `${allowed} allowed`)
    assert.ok(allowed >= 40, `${allowed} allowed`)
  })

  it('remembers a bounded number of origins, forgetting the least recently heard', () => {
    const clock = { now: NOW }
    const buckets = limiter(clock, 3)
    for (let i = 0; i < 5; i++) buckets.take('busy')
    for (let i = 0; i < 1_000; i++) {
      buckets.take(`sybil-${i}`)
      buckets.take('busy')
      assert.ok(buckets.size <= 3)
    }
    assert.equal(buckets.take('busy'), false, 'a recently heard origin keeps its empty bucket')
    assert.equal(buckets.take('sybil-0'), true, 'a forgotten one starts again with a full bucket')
  })

  it('refills nothing when the clock steps back', () => {
    const clock = { now: NOW }
    const buckets = limiter(clock)
    for (let i = 0; i < 4; i++) assert.equal(buckets.take('peer'), true)
    clock.now -= 10_000
    assert.equal(buckets.take('peer'), false)
  })
})

describe('advert time window', () => {
  it('ignores an advert stamped before the peer TTL, such as 1970', () => {
    assert.equal(timeVerdict(0), 'ignore:stale_time')
    assert.equal(timeVerdict(NOW - TTL_MS - 1), 'ignore:stale_time')
    assert.equal(timeVerdict(NOW - TTL_MS), 'accept')
    assert.equal(timeVerdict(NOW - 1_000), 'accept')
  })

  it('ignores an advert stamped more than 30 s ahead', () => {
    assert.equal(MAX_CLOCK_SKEW_MS, 30_000)
    assert.equal(timeVerdict(NOW + 30_000), 'accept')
    assert.equal(timeVerdict(NOW + 30_001), 'ignore:future')
  })

  it('checks no time when none is asked for (an advert in a status reply)', () => {
    assert.equal(timeVerdict(0, {} as { maxAgeMs: number; maxAheadMs: number }), 'accept')
    assert.equal(timeVerdict(NOW + 3_600_000, {} as { maxAgeMs: number; maxAheadMs: number }), 'accept')
  })
})

describe('the capacity validator against replays and floods', () => {
  it('ignores a replayed 1970 advert and keeps the peer out of the table', async () => {
    const { capacity, pubsub, registry } = await service()
    await capacity.start()
    try {
      const validate = pubsub.topicValidators.get(capacity.topic)
      assert.ok(validate)
      const peer = await signedFrom()
      const replay = encodeAdvert(makeAdvert({ seq: 1n, timestampMs: 0n }))
      assert.equal(await validate(peer.from, peer.message(replay)), TopicValidatorResult.Ignore)
      assert.equal(capacity.peers.get(peer.from.toString()), undefined)
      assert.equal(await counted(registry, 'ignore', 'stale_time'), 1)
      const ahead = encodeAdvert(makeAdvert({ timestampMs: BigInt(Date.now() + 120_000) }))
      assert.equal(await validate(peer.from, peer.message(ahead)), TopicValidatorResult.Ignore)
      assert.equal(await counted(registry, 'ignore', 'future'), 1)
      assert.equal(capacity.peers.get(peer.from.toString()), undefined)
    } finally {
      await capacity.stop()
    }
  })

  it('accepts a burst of one origin, ignores the rest, and spends no token on what it would not accept', async () => {
    const { capacity, pubsub, registry } = await service()
    await capacity.start()
    try {
      const validate = pubsub.topicValidators.get(capacity.topic)
      assert.ok(validate)
      const flooder = await signedFrom()
      const base = BigInt(Date.now())
      // stale and out-of-range adverts first: they are ignored or rejected for what they are, not counted
      // against the origin's rate (a replay of someone's old adverts cannot silence them)
      const junk = [
        await validate(flooder.from, flooder.message(encodeAdvert(makeAdvert({ seq: 1n, timestampMs: 0n })))),
        await validate(
          flooder.from,
          flooder.message(encodeAdvert(makeAdvert({ unitsTotal: 1, unitsFree: 2 })))
        )
      ]
      assert.deepEqual(junk, [TopicValidatorResult.Ignore, TopicValidatorResult.Reject])
      const results: TopicValidatorResult[] = []
      for (let i = 0; i < 170; i++) {
        results.push(
          await validate(flooder.from, flooder.message(encodeAdvert(makeAdvert({ seq: base + BigInt(i) }))))
        )
      }
      const accepted = results.filter((result) => result === TopicValidatorResult.Accept).length
      assert.equal(accepted, ADVERTS_PER_INTERVAL)
      assert.equal(await counted(registry, 'ignore', 'rate_limited'), 170 - ADVERTS_PER_INTERVAL)
      assert.equal(capacity.peers.get(flooder.from.toString())?.advert.seq, base + 3n)
      const honest = await signedFrom()
      assert.equal(
        await validate(honest.from, honest.message(encodeAdvert(makeAdvert()))),
        TopicValidatorResult.Accept,
        'another origin is not held back by the flood'
      )
    } finally {
      await capacity.stop()
    }
  })
})

describe('our own publishing against the rate every other peer allows', () => {
  afterEach(() => mock.timers.reset())

  it('never trips the limit: timer, changes and neighbours joining together', async () => {
    mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'], now: NOW })
    const intervalMs = 1_000
    let inUse = 0
    const { capacity, pubsub } = await service({
      advertIntervalMs: intervalMs,
      workload: { unitsInUse: () => inUse % 4, activeJobs: () => 0 }
    })
    await capacity.start()
    const flush = async (): Promise<void> => new Promise((resolve) => setImmediate(resolve))
    try {
      // 20 intervals of a lease changing every 10 ms and neighbours joining every 30 ms (the early advert is
      // asked for each time: the fake says nobody heard the last one), then 5 quiet intervals
      for (let t = 0; t < 25 * intervalMs; t += 10) {
        if (t < 20 * intervalMs) {
          inUse++
          await capacity.notifyChanged()
          if (t % 30 === 0) pubsub.neighbourJoined(capacity.topic)
        }
        mock.timers.tick(10)
        await flush()
      }
    } finally {
      const before = pubsub.published.length
      await stopUnderMockTimers(capacity)
      assert.equal(pubsub.published.length, before + 1, 'a farewell advert when it stops')
    }
    const times = pubsub.published
    const busy = times.filter((time) => time < NOW + 20 * intervalMs)
    assert.ok(busy.length >= 20 * ADVERTS_PER_INTERVAL - 2, `${busy.length} adverts while busy`)
    const quiet = times.slice(0, -1).filter((time) => time >= NOW + 21 * intervalMs)
    assert.ok(quiet.length >= 3 && quiet.length <= 5, `${quiet.length} adverts while quiet: the timer's`)
    for (let i = 1; i < times.length; i++) {
      const gap = (times[i] ?? 0) - (times[i - 1] ?? 0)
      assert.ok(gap >= intervalMs / ADVERTS_PER_INTERVAL, `adverts ${i - 1} and ${i} only ${gap} ms apart`)
    }
    const clock = { now: 0 }
    const receiver = new OriginRateLimiter({
      burst: ADVERTS_PER_INTERVAL,
      perInterval: ADVERTS_PER_INTERVAL,
      intervalMs,
      maxOrigins: 1,
      now: () => clock.now
    })
    for (const time of times) {
      clock.now = time
      assert.ok(receiver.take('us'), `our advert at +${time - NOW} ms would be ignored`)
    }
  })
})

describe('heartbeat, farewell and neighbours that leave', () => {
  afterEach(() => mock.timers.reset())

  it('beats every 20 s, every 5 s while a peer of the previous version is heard, and says goodbye with no units', async () => {
    mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'], now: NOW })
    const { capacity, pubsub } = await service({ advertIntervalMs: 20_000 })
    await capacity.start()
    const flush = async (): Promise<void> => new Promise((resolve) => setImmediate(resolve))
    const advance = async (ms: number): Promise<void> => {
      for (let t = 0; t < ms; t += 1_000) {
        mock.timers.tick(1_000)
        await flush()
      }
    }
    try {
      assert.equal(pubsub.published.length, 1, 'the first advert at start')
      await advance(19_000)
      assert.equal(pubsub.published.length, 1, 'nothing changed: no advert before the heartbeat')
      await advance(1_000)
      assert.equal(pubsub.published.length, 2)
      const mine = decodeAdvert(pubsub.payloads[1] as Uint8Array)
      assert.equal(mine.ttlMs, 40_000, 'a TTL of 2 heartbeats')
      // a peer of the previous version: its adverts name no TTL (it keeps ours 15 s)
      const legacy = await signedFrom()
      const validator = pubsub.topicValidators.get(capacity.topic)
      assert.ok(validator)
      const data = encodeAdvert(makeAdvert({ seq: 1n, timestampMs: BigInt(Date.now()), ttlMs: 0 }))
      assert.equal(await validator(legacy.from, legacy.message(data)), TopicValidatorResult.Accept)
      await advance(5_000)
      assert.equal(pubsub.published.length, 3, 'the legacy heartbeat while it is listed')
      await advance(16_000)
      assert.equal(capacity.peers.get(legacy.from.toString()), undefined, 'it expired after 15 s')
      const count: number = pubsub.published.length
      await advance(13_000)
      assert.equal(pubsub.published.length, count, 'back to 20 s: none 19 s after the last')
      await advance(2_000)
      assert.equal(pubsub.published.length, count + 1)
    } finally {
      await stopUnderMockTimers(capacity)
    }
    const farewell = decodeAdvert(pubsub.payloads.at(-1) as Uint8Array)
    assert.equal(farewell.unitsTotal, 4)
    assert.equal(farewell.unitsFree, 0, 'the farewell offers no units')
  })

  it('drops a neighbour when its last connection closes, not a peer heard through it', async () => {
    let disconnected: ((peerId: string) => void) | undefined
    const { capacity, pubsub } = await service({ advertIntervalMs: 20_000 }, (listener) => {
      disconnected = listener
      return () => {
        disconnected = undefined
      }
    })
    await capacity.start()
    try {
      const validator = pubsub.topicValidators.get(capacity.topic)
      assert.ok(validator)
      const neighbour = await signedFrom()
      const farther = await signedFrom()
      const advert = (): Uint8Array =>
        encodeAdvert(makeAdvert({ timestampMs: BigInt(Date.now()), ttlMs: 60_000 }))
      await validator(neighbour.from, neighbour.message(advert()))
      await validator(neighbour.from, farther.message(advert()))
      assert.equal(capacity.peers.size, 2)
      disconnected?.(neighbour.from.toString())
      disconnected?.(farther.from.toString())
      assert.equal(capacity.peers.get(neighbour.from.toString()), undefined)
      assert.ok(capacity.peers.get(farther.from.toString()), 'its advert came through a relay')
    } finally {
      await capacity.stop()
    }
    assert.equal(disconnected, undefined, 'the listener is removed when the service stops')
  })
})
