import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { SubscriptionChangeData } from '@libp2p/gossipsub'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { TypedEventEmitter } from 'main-event'
import { WarmUpPull } from '../../src/capacity/warm-up.js'
import { createLogger } from '../../src/log/index.js'
import { newKey } from '../helpers/signed-adverts.js'

const TOPIC = 'proofmesh/capacity/2'

/** gossipsub's subscription events and subscriber list, driven by the test: who joins the topic, and when */
class Subscriptions extends TypedEventEmitter<{
  'subscription-change': CustomEvent<SubscriptionChangeData>
}> {
  private readonly subscribers = new Set<string>()

  getSubscribers(): string[] {
    return [...this.subscribers]
  }

  async join(topic = TOPIC, subscribe = true): Promise<void> {
    const peerId = peerIdFromPrivateKey(await newKey())
    if (topic === TOPIC && subscribe) this.subscribers.add(peerId.toString())
    this.safeDispatchEvent('subscription-change', {
      detail: { peerId, subscriptions: [{ topic, subscribe }] }
    })
  }
}

function warmUp(
  pubsub: Subscriptions,
  waitMs = 60_000
): { trigger: WarmUpPull; calls: () => number; settled: Promise<void> } {
  let count = 0
  let resolve: () => void = () => undefined
  const settled = new Promise<void>((r) => {
    resolve = r
  })
  const trigger = new WarmUpPull({
    logger: createLogger({ level: 'silent' }),
    pubsub,
    topic: TOPIC,
    neighbours: 3,
    waitMs,
    warmUp: async () => {
      count++
      resolve()
      return { asked: 0, adverts: 0, listed: 0, units: 0 }
    }
  })
  trigger.start()
  return { trigger, calls: () => count, settled }
}

describe('the warm-up pull is started', () => {
  it('once, as soon as as many neighbours as it asks have joined the topic', async () => {
    const pubsub = new Subscriptions()
    const { trigger, calls } = warmUp(pubsub)
    await pubsub.join()
    await pubsub.join('some/other/topic')
    await pubsub.join(TOPIC, false)
    await pubsub.join()
    assert.equal(calls(), 0, 'started before three neighbours joined')
    await pubsub.join()
    assert.equal(calls(), 1)
    // neighbours coming and going later (a peer churning its subscription) start nothing more
    for (let i = 0; i < 10; i++) await pubsub.join()
    assert.equal(calls(), 1)
    trigger.stop()
  })

  it('after its wait when fewer neighbours join, then never again', async () => {
    const pubsub = new Subscriptions()
    const { trigger, calls, settled } = warmUp(pubsub, 50)
    await pubsub.join()
    // the trigger's timer does not hold the process open (a daemon stopping does not wait for it): this one does
    const bound = setTimeout(() => assert.fail('no warm-up within 30 s of the first neighbour'), 30_000)
    await settled
    clearTimeout(bound)
    assert.equal(calls(), 1)
    await pubsub.join()
    await pubsub.join()
    await pubsub.join()
    assert.equal(calls(), 1)
    trigger.stop()
  })

  it('not at all once stopped', async () => {
    const pubsub = new Subscriptions()
    const { trigger, calls } = warmUp(pubsub, 10)
    await pubsub.join()
    trigger.stop()
    await new Promise((resolve) => setTimeout(resolve, 100))
    for (let i = 0; i < 3; i++) await pubsub.join()
    assert.equal(calls(), 0)
  })
})
