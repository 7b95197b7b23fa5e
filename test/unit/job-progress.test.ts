import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { acceptProgress, ProgressRelay, type ProgressReport } from '../../src/job/progress.js'

const PEER = 'peer-a'

describe('job progress: what a peer reports, checked', () => {
  const mine = { segments: [2, 5], aggregator: false }

  it('passes a count of the peer\u2019s own segment, in a phase a worker reports', () => {
    assert.deepEqual(acceptProgress(PEER, { phase: 'prove', segment: 5, done: 3, total: 40 }, mine), {
      peer: PEER,
      phase: 'prove',
      segment: 5,
      done: 3,
      total: 40
    })
    assert.ok(acceptProgress(PEER, { phase: 'contribute', segment: 2, done: 0, total: 1 }, mine))
  })

  it('drops what is not a count of its own work', () => {
    for (const frame of [
      { phase: 'prove', segment: 3, done: 1, total: 4 }, // another peer's segment
      { phase: 'verify', segment: 2, done: 1, total: 4 }, // the submitter's own phase
      { phase: 'x'.repeat(10_000), segment: 2, done: 1, total: 4 },
      { phase: 'prove', segment: 2, done: 1, total: 0 }, // nothing to count
      { phase: 'prove', segment: 2, done: 5, total: 4 } // more done than there is
    ]) {
      assert.equal(acceptProgress(PEER, frame, mine), undefined, JSON.stringify(frame).slice(0, 80))
    }
  })

  it('takes the aggregation\u2019s count from the aggregator only, about no one segment', () => {
    const frame = { phase: 'aggregate', segment: 0, done: 2, total: 9 }
    assert.equal(acceptProgress(PEER, frame, mine), undefined)
    assert.deepEqual(acceptProgress(PEER, frame, { ...mine, aggregator: true }), {
      peer: PEER,
      phase: 'aggregate',
      done: 2,
      total: 9
    })
  })
})

describe('job progress: thinned before it is journaled', () => {
  function setup(): { relay: ProgressRelay; emitted: ProgressReport[]; clock: { now: number } } {
    const emitted: ProgressReport[] = []
    const clock = { now: 1_000 }
    // an interval no timer reaches during a test: flush() is called by hand, at the clock's time
    const relay = new ProgressRelay({ emit: (r) => emitted.push(r), intervalMs: 500, now: () => clock.now })
    return { relay, emitted, clock }
  }
  const report = (done: number, segment = 1, total = 100): ProgressReport => ({
    peer: PEER,
    phase: 'prove',
    segment,
    done,
    total
  })

  it('passes the first report at once and holds the rest of an interval, keeping the latest', () => {
    const { relay, emitted, clock } = setup()
    relay.offer(report(1))
    relay.offer(report(2))
    relay.offer(report(3))
    assert.deepEqual(
      emitted.map((r) => r.done),
      [1]
    )
    clock.now += 499
    relay.flush()
    assert.equal(emitted.length, 1, 'not before the interval is over')
    clock.now += 1
    relay.flush()
    assert.deepEqual(
      emitted.map((r) => r.done),
      [1, 3]
    )
    relay.flush()
    assert.equal(emitted.length, 2, 'nothing twice')
    relay.stop()
  })

  it('passes a completed count at once, once, and keeps segments apart', () => {
    const { relay, emitted } = setup()
    relay.offer(report(1, 1))
    relay.offer(report(1, 2))
    relay.offer(report(100, 1))
    // a peer flipping between done and not yet gets no more than its interval allows
    relay.offer(report(99, 1))
    relay.offer(report(100, 1))
    assert.deepEqual(
      emitted.map((r) => [r.segment, r.done]),
      [
        [1, 1],
        [2, 1],
        [1, 100]
      ]
    )
    relay.stop()
  })

  it('passes nothing once the job is over', () => {
    const { relay, emitted, clock } = setup()
    relay.offer(report(1))
    relay.offer(report(2))
    relay.stop()
    clock.now += 10_000
    relay.flush()
    relay.offer(report(3, 4))
    assert.deepEqual(
      emitted.map((r) => r.done),
      [1]
    )
  })

  it('holds at most one report per peer, phase and segment however many arrive', () => {
    const { relay, emitted, clock } = setup()
    for (let done = 0; done < 10_000; done++) relay.offer(report(done % 99))
    assert.equal(emitted.length, 1)
    clock.now += 500
    relay.flush()
    assert.deepEqual(
      emitted.map((r) => r.done),
      [0, 9_999 % 99]
    )
    relay.stop()
  })
})
