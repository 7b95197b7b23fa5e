import '../../src/polyfill.js'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, it } from 'node:test'
import { raceSignal } from '../../src/prover/signals.js'

describe('raceSignal', () => {
  it('resolves with the promise while the signal holds', async () => {
    assert.equal(await raceSignal(Promise.resolve(7), new AbortController().signal), 7)
  })

  it('rejects with the reason of a signal that aborts first', async () => {
    const controller = new AbortController()
    const waiting = raceSignal(new Promise<never>(() => undefined), controller.signal)
    controller.abort(new Error('cancelled by the test'))
    await assert.rejects(waiting, /cancelled by the test/)
  })

  it('leaves no unhandled rejection when the signal had aborted and the promise rejects later', async () => {
    const unhandled: unknown[] = []
    const onUnhandled = (reason: unknown): void => {
      unhandled.push(reason)
    }
    process.on('unhandledRejection', onUnhandled)
    try {
      const work = Promise.withResolvers<never>()
      await assert.rejects(raceSignal(work.promise, AbortSignal.abort(new Error('gone'))), /gone/)
      work.reject(new Error('the work failed after the caller gave up'))
      // unhandled rejections are reported once the microtasks drain: a macrotask later they would be in
      await sleep(20)
      assert.deepEqual(unhandled, [])
    } finally {
      process.off('unhandledRejection', onUnhandled)
    }
  })
})
