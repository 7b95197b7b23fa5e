import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { getPriority } from 'node:os'
import { describe, it } from 'node:test'
import { lowerPriority, MAX_NICE } from '../../src/prover/priority.js'

/** A child that waits for its stdin to close */
function idleChild() {
  const child = spawn(process.execPath, ['-e', 'process.stdin.resume()'], {
    stdio: ['pipe', 'ignore', 'ignore']
  })
  return { child, done: () => child.stdin.end() }
}

describe('lowerPriority', () => {
  it('puts a child the given nice levels below this process, and never above 19', async () => {
    const { child, done } = idleChild()
    try {
      await new Promise((resolve) => child.once('spawn', resolve))
      const pid = child.pid as number
      assert.equal(lowerPriority(pid, 3), Math.min(MAX_NICE, getPriority() + 3))
      assert.equal(getPriority(pid), Math.min(MAX_NICE, getPriority() + 3))
      assert.equal(lowerPriority(pid, 40), MAX_NICE)
      assert.equal(getPriority(pid), MAX_NICE)
    } finally {
      done()
    }
  })

  it('leaves a child alone for 0 steps, and reports a child that is gone', async () => {
    const { child, done } = idleChild()
    await new Promise((resolve) => child.once('spawn', resolve))
    const pid = child.pid as number
    assert.equal(lowerPriority(pid, 0), undefined)
    assert.equal(getPriority(pid), getPriority())
    done()
    await new Promise((resolve) => child.once('exit', resolve))
    assert.equal(lowerPriority(pid, 5), undefined)
  })
})
