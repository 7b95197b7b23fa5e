import assert from 'node:assert/strict'
import { CliError } from '../../node/errors.js'

/** Runs fn expecting a CliError; returns it */
export async function cliError(fn: () => unknown): Promise<CliError> {
  try {
    await fn()
  } catch (err) {
    assert.ok(err instanceof CliError, `expected a CliError, got ${String(err)}`)
    assert.ok(!err.message.includes('\n'), `one line: ${err.message}`)
    return err
  }
  assert.fail('no error')
}
