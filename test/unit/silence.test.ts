import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { SilenceWatch } from '../../src/silence-watch.js'

/** A watch on a hand-moved clock, ticked every `tickMs` of it */
function watch(limitMs = 3_000, tickMs = 300) {
  let now = 1_000_000
  const silence = new SilenceWatch<string>({ limitMs, tickMs, now: () => now })
  return {
    silence,
    /** Moves the clock by `ms` in steps of one tick, ticking after each; the keys reported silent, in order */
    run(ms: number, step = tickMs): string[] {
      const lost: string[] = []
      for (let passed = 0; passed < ms; passed += step) {
        now += Math.min(step, ms - passed)
        for (const { key } of silence.tick()) if (!lost.includes(key)) lost.push(key)
      }
      return lost
    },
    /** This daemon blocked for `ms`: the clock moves with no tick */
    stall(ms: number): void {
      now += ms
    }
  }
}

describe('SilenceWatch: a peer is lost after peer_timeout of silence while this daemon listened', () => {
  it('keeps a peer whose frames come within the limit', () => {
    const w = watch()
    w.silence.heard('a')
    for (let i = 0; i < 20; i++) {
      assert.deepEqual(w.run(2_700), [])
      w.silence.heard('a')
    }
  })

  it('loses a silent peer once the limit has passed, within a tick of it', () => {
    const w = watch()
    w.silence.heard('a')
    w.silence.heard('b')
    assert.deepEqual(w.run(3_000), [], 'not at the limit itself')
    w.silence.heard('b')
    assert.deepEqual(w.run(300), ['a'])
    const [lost] = w.silence.tick()
    assert.ok(lost !== undefined && lost.silentMs > 3_000 && lost.silentMs <= 3_300, `${lost?.silentMs}`)
  })

  it('does not count a stall of this daemon against its peers', () => {
    const w = watch()
    w.silence.heard('a')
    w.run(1_500)
    // the event loop blocked for 5 s; the peer's frames wait in the socket, read after the first tick
    w.stall(5_000)
    assert.deepEqual(w.run(300), [], 'the tick after the stall')
    w.silence.heard('a')
    assert.deepEqual(w.run(2_700), [])
  })

  it('counts late ticks in full up to two ticks, so that timer jitter does not slow detection', () => {
    const w = watch()
    w.silence.heard('a')
    // every tick comes 1.5 ticks late: 450 ms apart, all of it counted
    assert.deepEqual(w.run(2_700, 450), [])
    assert.deepEqual(w.run(450, 450), ['a'])
  })

  it('still loses a frozen peer after a stall of its own, once the limit has passed in listening time', () => {
    const w = watch()
    w.silence.heard('a')
    w.run(1_500)
    w.stall(10_000)
    // 1.5 s, then the first tick after the stall credits two ticks (0.6 s), then 0.3 s a tick
    assert.deepEqual(w.run(1_200), [], '3.0 s counted')
    assert.deepEqual(w.run(300), ['a'], '3.3 s counted')
  })

  it('reports the wall-clock gap between frames, and forgets a peer it is told to', () => {
    const w = watch()
    assert.equal(w.silence.heard('a'), 0)
    w.run(900)
    assert.equal(w.silence.heard('a'), 900)
    w.stall(2_000)
    assert.equal(w.silence.heard('a'), 2_000, 'the gap as it arrived, stall included')
    w.silence.forget('a')
    assert.deepEqual(w.run(10_000), [])
  })
})
