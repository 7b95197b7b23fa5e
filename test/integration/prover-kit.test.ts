import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { type CheckVerdict, runProverKit } from '../../src/prover/kit/index.js'
import { faultCommand, repoRoot } from '../fixtures/prover/helpers.js'
import { proofmesh } from '../helpers/cli.js'

const binary = join(repoRoot, 'native/target/release/proofmesh-prover')
const skip = existsSync(binary) ? false : `no prover binary at ${binary}; run cargo build --release`
const wrapper = fileURLToPath(new URL('test/fixtures/prover/wrap-prover.mjs', `file://${repoRoot}`))
/** The whole kit against the reference prover takes seconds idle; this bounds it on a saturated machine */
const KIT_TIMEOUT_MS = 600_000
/** A check's deadline in the hang test: ample for the few-block proves of the kit, short enough for the test */
const HANG_TIMEOUT_MS = 60_000

function wrapped(mode: string): string[] {
  return [process.execPath, wrapper, mode, binary, 'serve']
}

function verdict(verdicts: CheckVerdict[], name: string): CheckVerdict {
  const found = verdicts.find((v) => v.name === name)
  assert.ok(found, `no check named '${name}' among ${verdicts.map((v) => v.name).join(', ')}`)
  return found
}

function failures(verdicts: CheckVerdict[]): string {
  return JSON.stringify(
    verdicts.filter((v) => v.status === 'fail'),
    null,
    1
  )
}

describe('proofmesh prover check', { skip }, () => {
  it(
    'passes the reference prover on every check, as a command with --json',
    { timeout: KIT_TIMEOUT_MS },
    async () => {
      const run = await proofmesh(['prover', 'check', '--json', '--', binary, 'serve'], KIT_TIMEOUT_MS)
      assert.equal(run.code, 0, `exit ${run.code}: ${run.stdout}${run.stderr}`)
      const report = JSON.parse(run.stdout) as { failed: number; passed: number; checks: CheckVerdict[] }
      assert.equal(report.failed, 0, failures(report.checks))
      for (const name of [
        'hello',
        'malformed requests',
        'prove (segmented)',
        'aggregate refuses bad partial proofs (segmented)',
        'verify a tampered proof (segmented)',
        'cancel mid-call (segmented)',
        'shutdown while a call runs',
        'end of input'
      ]) {
        assert.equal(verdict(report.checks, name).status, 'pass', name)
      }
    }
  )

  it(
    'fails a prover whose partial proofs are corrupt, at aggregate',
    { timeout: KIT_TIMEOUT_MS },
    async () => {
      const verdicts = await runProverKit({ command: wrapped('corrupt-prove') })
      assert.equal(verdict(verdicts, 'prove (segmented)').status, 'pass', failures(verdicts))
      const aggregate = verdict(verdicts, 'aggregate (segmented)')
      assert.equal(aggregate.status, 'fail')
      assert.match(aggregate.detail ?? '', /PROOF_INVALID/)
      assert.equal(verdict(verdicts, 'aggregate (segmented)').section, 'aggregate')
      assert.equal(verdict(verdicts, 'verify a good proof (segmented)').status, 'fail')
    }
  )

  it(
    'kills a prover that hangs on a method, reports it and goes on with a fresh one',
    { timeout: KIT_TIMEOUT_MS },
    async () => {
      // from its first cancel on the wrapper passes nothing either way: every check that sends a cancel hangs
      const verdicts = await runProverKit({
        command: wrapped('hang-on:cancel'),
        checkTimeoutMs: HANG_TIMEOUT_MS
      })
      const cancel = verdict(verdicts, 'cancel with nothing running')
      assert.equal(cancel.status, 'fail')
      assert.match(cancel.detail ?? '', /no answer within 5000 ms/)
      // replies that never come: the contribute replies (the check's own deadline ends it) or, when the prover
      // answered those before the wrapper passed the cancel on, the ping's (its own deadline)
      const concurrent = verdict(verdicts, 'concurrent calls (segmented)')
      assert.equal(concurrent.status, 'fail')
      assert.match(
        concurrent.detail ?? '',
        new RegExp(`within ${HANG_TIMEOUT_MS} ms|the ping among them: no answer within \\d+ ms`)
      )
      // the checks after it ran on a new prover process
      assert.equal(verdict(verdicts, 'plan (segmented)').status, 'pass', failures(verdicts))
      assert.equal(verdict(verdicts, 'end of input').status, 'pass', failures(verdicts))
    }
  )

  it(
    'fails a prover that ignores shutdown and the end of its input',
    { timeout: KIT_TIMEOUT_MS },
    async () => {
      const [file, ...args] = faultCommand()
      const command = [
        '/usr/bin/env',
        'FAULT_IGNORE_SHUTDOWN=1',
        'FAULT_PROTOCOL=2',
        file ?? process.execPath,
        ...args
      ]
      const verdicts = await runProverKit({ command })
      assert.equal(verdict(verdicts, 'hello').status, 'pass', failures(verdicts))
      const shutdown = verdict(verdicts, 'shutdown while a call runs')
      assert.equal(shutdown.status, 'fail')
      assert.equal(shutdown.section, 'shutdown')
      assert.match(verdict(verdicts, 'end of input').detail ?? '', /did not exit within 5000 ms/)
    }
  )

  it('exits 2 without a prover command, and explains itself with --help', async () => {
    const none = await proofmesh(['prover', 'check'])
    assert.equal(none.code, 2, none.stderr)
    assert.match(none.stderr, /name the prover to check/)
    const help = await proofmesh(['prover', 'check', '--help'])
    assert.equal(help.code, 0)
    assert.match(help.stdout, /Exit code: 0 every check passed/)
    const badTimeout = await proofmesh(['prover', 'check', '--timeout', 'soon', '--', binary, 'serve'])
    assert.equal(badTimeout.code, 2, badTimeout.stderr)
  })
})

const pythonProver = join(repoRoot, 'examples/python-prover/prover.py')
const noPython =
  spawnSync('python3', ['--version']).status === 0
    ? false
    : 'python3 is not installed: the Python example cannot run'

describe('the Python example prover', { skip: noPython }, () => {
  it('passes every check of the kit, none skipped', { timeout: KIT_TIMEOUT_MS }, async () => {
    const verdicts = await runProverKit({ command: ['python3', pythonProver] })
    assert.deepEqual(
      verdicts.filter((v) => v.status !== 'pass'),
      [],
      'both of its programs (segmented and not) run every check'
    )
  })
})
