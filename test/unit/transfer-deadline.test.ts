import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, it } from 'node:test'
import { DeadlineError } from '../../src/net/deadline.js'
import { TransferDeadline } from '../../src/net/transfer-deadline.js'

/** Feeds `bytes` every `everyMs` until the transfer aborts or `untilMs` passes; resolves with its reason, if any */
async function feed(
  transfer: TransferDeadline,
  bytes: number,
  everyMs: number,
  untilMs: number
): Promise<Error | undefined> {
  const end = Date.now() + untilMs
  while (!transfer.signal.aborted && Date.now() < end) {
    transfer.moved(bytes)
    await sleep(everyMs)
  }
  return transfer.signal.reason as Error | undefined
}

// Bounds here are generous: a test gives up only after many windows, and says what it saw
describe('TransferDeadline: an idle timeout and a rate floor', () => {
  const limits = { idleMs: 400, minBytesPerSecond: 10_000, rateWindowMs: 300 }

  it('aborts a transfer that stalls, naming jobs.transfer_idle_timeout', async () => {
    const transfer = new TransferDeadline('sending a slice', { ...limits, minBytesPerSecond: 0 })
    const reason = await feed(transfer, 0, 50, 20_000)
    assert.ok(reason instanceof DeadlineError, `aborted: ${String(reason)}`)
    assert.match(
      reason.message,
      /sending a slice took longer than .* without a byte \(jobs.transfer_idle_timeout\)/
    )
  })

  it('aborts a trickle that keeps the idle timeout satisfied, naming jobs.transfer_min_rate', async () => {
    const transfer = new TransferDeadline('pulling a proof', limits)
    // a byte every half idle timeout: the idle deadline alone would never fire
    const reason = await feed(transfer, 1, limits.idleMs / 2, 20_000)
    assert.ok(reason instanceof DeadlineError, `aborted: ${String(reason)}`)
    assert.match(reason.message, /pulling a proof took longer than .* at under 9.8 KiB\/s: \d+ bytes moved/)
    assert.match(reason.message, /jobs.transfer_min_rate/)
  })

  it('lets a transfer above the floor run window after window', async () => {
    const transfer = new TransferDeadline('sending the hints', limits)
    // a window's floor is 3,000 bytes: each write alone covers it, however late the timers run
    const reason = await feed(transfer, 1_000_000, 20, limits.rateWindowMs * 6)
    transfer.stop()
    assert.equal(reason, undefined, `not aborted: ${String(reason)}`)
  })

  it('counts no time paused on this side against the peer', async () => {
    const transfer = new TransferDeadline('sending the hints', limits)
    transfer.moved(1_000_000)
    transfer.pause()
    await sleep(limits.rateWindowMs * 4)
    assert.equal(transfer.signal.aborted, false, 'paused: neither deadline ran')
    transfer.resume()
    // resumed without bytes: the idle deadline and the window run again and abort it
    const reason = await feed(transfer, 0, 50, 20_000)
    assert.ok(reason instanceof DeadlineError, `aborted after the resume: ${String(reason)}`)
  })

  it('is silent once stopped, and cannot be resumed', async () => {
    const transfer = new TransferDeadline('a local copy', limits)
    transfer.stop()
    transfer.resume()
    await sleep(limits.idleMs * 3)
    assert.equal(transfer.signal.aborted, false)
  })
})
