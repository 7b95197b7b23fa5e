import type { SubscriptionChangeData } from '@libp2p/gossipsub'
import type { Startable } from '@libp2p/interface'
import { PULL_FANOUT } from '../../protocols/capacity/pull-constants.js'
import type { Logger } from '../log/index.js'
import type { PullRound } from './pull.js'

/** What the warm-up needs of gossipsub: who joins a topic, and how many have */
export interface TopicSubscriptions {
  addEventListener(
    type: 'subscription-change',
    listener: (event: CustomEvent<SubscriptionChangeData>) => void
  ): void
  removeEventListener(
    type: 'subscription-change',
    listener: (event: CustomEvent<SubscriptionChangeData>) => void
  ): void
  getSubscribers(topic: string): readonly unknown[]
}

export interface WarmUpInit {
  logger: Logger
  pubsub: TopicSubscriptions
  topic: string
  /** One warm-up pull (CapacityPull.warmUp) */
  warmUp: () => Promise<PullRound>
  /** Neighbours on the topic that start the warm-up at once; fewer start it `waitMs` after the first */
  neighbours?: number
  waitMs?: number
}

/**
 * A node's first neighbours come up within moments of each other (its bootstrap peers are dialled together): the
 * warm-up waits for as many as it asks, or this long after the first, so that it does not ask the first alone
 */
export const WARM_UP_WAIT_MS = 2_000

/**
 * Pulls capacity once, when this node's first neighbours join the capacity topic: a fresh node's table otherwise
 * fills only as its neighbours' heartbeats come (15 s), and a job submitted meanwhile starts on a thin table. Once
 * per start, whatever peers do afterwards: a peer that churns its subscription cannot make this node ask again.
 */
export class WarmUpPull implements Startable {
  private readonly init: WarmUpInit
  private readonly log: Logger
  private readonly neighbours: number
  private readonly waitMs: number
  private timer?: NodeJS.Timeout
  private done = false

  private readonly onSubscriptionChange = (event: CustomEvent<SubscriptionChangeData>): void => {
    if (
      this.done ||
      !event.detail.subscriptions.some((sub) => sub.topic === this.init.topic && sub.subscribe)
    )
      return
    if (this.init.pubsub.getSubscribers(this.init.topic).length >= this.neighbours) this.fire()
    else if (this.timer === undefined) {
      this.timer = setTimeout(() => this.fire(), this.waitMs)
      this.timer.unref()
    }
  }

  constructor(init: WarmUpInit) {
    this.init = init
    this.log = init.logger.child({ component: 'capacity-warm-up' })
    this.neighbours = init.neighbours ?? PULL_FANOUT
    this.waitMs = init.waitMs ?? WARM_UP_WAIT_MS
  }

  start(): void {
    this.done = false
    this.init.pubsub.addEventListener('subscription-change', this.onSubscriptionChange)
  }

  stop(): void {
    this.done = true
    clearTimeout(this.timer)
    this.timer = undefined
    this.init.pubsub.removeEventListener('subscription-change', this.onSubscriptionChange)
  }

  private fire(): void {
    if (this.done) return
    this.done = true
    clearTimeout(this.timer)
    this.timer = undefined
    this.init.pubsub.removeEventListener('subscription-change', this.onSubscriptionChange)
    this.init.warmUp().catch((err: unknown) => this.log.debug({ err }, 'warm-up capacity pull failed'))
  }
}
