import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { type CapacityWish, PullRounds, type PullRoundResult } from '../../src/job/pull-rounds.js'

const wish = { program: 'fib', units: 10, known: [] }

/** A pull whose rounds the test settles one by one */
function scriptedPull(): {
  pull: (wish: CapacityWish) => Promise<PullRoundResult>
  wishes: CapacityWish[]
  settle: (result: PullRoundResult | Error) => void
} {
  const pending: Array<(result: PullRoundResult | Error) => void> = []
  const wishes: CapacityWish[] = []
  return {
    wishes,
    pull: async (asked) => {
      wishes.push(asked)
      const result = await new Promise<PullRoundResult | Error>((resolve) => pending.push(resolve))
      if (result instanceof Error) throw result
      return result
    },
    settle: (result) => pending.shift()?.(result)
  }
}

async function roundEnded(rounds: { ended: string[] }, count: number): Promise<void> {
  for (let i = 0; i < 1_000 && rounds.ended.length < count; i++) await new Promise((r) => setImmediate(r))
  assert.equal(rounds.ended.length, count, `rounds ended: ${rounds.ended.length}`)
}

describe('pull rounds of a queued job', () => {
  it('waits while a round is in flight, and takes the table as it is after the last round', async () => {
    const script = scriptedPull()
    const ended = { ended: [] as string[] }
    const rounds = new PullRounds(script.pull, (jobId) => ended.ended.push(jobId), 2)
    assert.equal(rounds.wait('j', wish), true)
    assert.equal(rounds.wait('j', wish), true, 'a second look while the round is in flight waits for it')
    assert.equal(script.wishes.length, 1)
    script.settle({ asked: 3, listed: 0, units: 0 })
    await roundEnded(ended, 1)
    assert.equal(rounds.wait('j', wish), true, 'the second round')
    script.settle({ asked: 3, listed: 1, units: 4 })
    await roundEnded(ended, 2)
    assert.equal(rounds.wait('j', wish), false, 'no third round')
    assert.equal(script.wishes.length, 2)
    // the rounds share one set of neighbours asked, so that the second asks others
    assert.equal(script.wishes[0]?.asked, script.wishes[1]?.asked)
  })

  it('stops when no neighbour is left to ask, and when a round fails it looks at the queue again', async () => {
    const script = scriptedPull()
    const ended = { ended: [] as string[] }
    const rounds = new PullRounds(script.pull, (jobId) => ended.ended.push(jobId), 5)
    assert.equal(rounds.wait('a', wish), true)
    script.settle({ asked: 0, listed: 0, units: 0 })
    await roundEnded(ended, 1)
    assert.equal(rounds.wait('a', wish), false)
    assert.equal(rounds.wait('b', wish), true)
    script.settle(new Error('boom'))
    await roundEnded(ended, 2)
    assert.equal(rounds.wait('b', wish), true, 'a failed round counts as one; the next may be asked')
  })

  it('forgets a job that started, so a job run again later pulls again', async () => {
    const script = scriptedPull()
    const ended = { ended: [] as string[] }
    const rounds = new PullRounds(script.pull, (jobId) => ended.ended.push(jobId), 1)
    assert.equal(rounds.wait('j', wish), true)
    script.settle({ asked: 2, listed: 2, units: 20 })
    await roundEnded(ended, 1)
    assert.equal(rounds.wait('j', wish), false)
    rounds.forget('j')
    assert.equal(rounds.wait('j', wish), true)
  })

  it('gives a running job the rounds the queue left, one at a time', async () => {
    const script = scriptedPull()
    const rounds = new PullRounds(script.pull, () => undefined, 2)
    const first = rounds.round('j', wish)
    assert.equal(await rounds.round('j', wish), undefined, 'a round is in flight already')
    script.settle({ asked: 3, listed: 2, units: 8 })
    assert.deepEqual(await first, { asked: 3, listed: 2, units: 8 })
    const second = rounds.round('j', wish)
    script.settle({ asked: 1, listed: 0, units: 0 })
    assert.deepEqual(await second, { asked: 1, listed: 0, units: 0 })
    assert.equal(await rounds.round('j', wish), undefined, 'the job spent its rounds')
    assert.equal(rounds.wait('j', wish), false)
  })
})
