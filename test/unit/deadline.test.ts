import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { DeadlineError, deadline, nameTimeout } from '../../src/net/deadline.js'

/** The signal's reason once it aborts; a timer holds the event loop meanwhile (a deadline's own is unref'd) */
async function reasonOf(signal: AbortSignal): Promise<Error> {
  const hold = setTimeout(() => undefined, 10_000)
  try {
    await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))
    return signal.reason as Error
  } finally {
    clearTimeout(hold)
  }
}

describe('deadline: a timeout that says what timed out and after how long', () => {
  it('aborts with a TimeoutError naming the operation and the limit', async () => {
    const reason = await reasonOf(deadline('the lease reply from peer …abc', 20))
    assert.ok(reason instanceof DeadlineError)
    assert.equal(reason.name, 'TimeoutError', 'what callers match on, as for AbortSignal.timeout')
    assert.equal(reason.message, 'the lease reply from peer …abc took longer than 20ms')
    assert.equal(deadline('a phase', 600_000).aborted, false)
  })

  it("names a library's own timeout, and passes other errors and named ones through", async () => {
    const library = await reasonOf(AbortSignal.timeout(1))
    const named = nameTimeout(library, 'opening /x/1.0.0 to peer P', 'libp2p gives a connection 10 s')
    assert.equal(named.message, 'opening /x/1.0.0 to peer P took longer than libp2p gives a connection 10 s')
    const other = new Error('connection refused')
    assert.equal(nameTimeout(other, 'opening', 'limits'), other)
    const ours = new DeadlineError('a read', 5_000)
    assert.equal(nameTimeout(ours, 'opening', 'limits'), ours)
  })
})
