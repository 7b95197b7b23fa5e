import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ProverProtocolError } from '../../src/prover/errors.js'
import type { NppMethod, PlanResult } from '../../src/prover/types.js'
import { checkResult, checkV1Plan } from '../../src/prover/validate.js'

const HASH = 'ab'.repeat(32)
const SEGMENT = { index: 0, startBlock: 0, blockCount: 2, inputOffset: 0, inputLength: 100 }

/** One result per method as the spec writes it */
const VALID: Record<NppMethod, unknown> = {
  hello: {
    name: 'p',
    version: '1',
    protocol: 1,
    programs: [{ id: 'x', description: 'd', segmented: true, blockBytes: 56, maxSegmentBlocks: 8 }],
    gpus: [{ index: 0, name: 'g', memoryMiB: 1024 }]
  },
  plan: {
    program: 'x',
    inputSize: 100,
    totalBlocks: 2,
    initialState: '00ff',
    hints: { path: '/h', size: 10 },
    digest: HASH
  },
  contribute: { segment: 0, contribution: HASH },
  prove: { segment: 0, size: 10, sha256: HASH, millis: 5 },
  aggregate: { digest: HASH, size: 10, sha256: HASH, segments: 1 },
  verify: { valid: true, digest: HASH, inputSize: 100, job: 'j', segments: 1 },
  cancel: { cancelled: 0 },
  shutdown: {},
  ping: {}
}

function messageOf(method: NppMethod, result: unknown, check = checkResult): string {
  try {
    check(method, result)
  } catch (err) {
    assert.ok(err instanceof ProverProtocolError)
    return err.message
  }
  assert.fail(`${method} accepted ${JSON.stringify(result)}`)
}

describe('checkResult', () => {
  it('accepts every method result the spec describes, optional fields left out too', () => {
    for (const [method, result] of Object.entries(VALID)) checkResult(method as NppMethod, result)
    checkResult('plan', { ...(VALID.plan as object), hints: undefined, digest: undefined })
    checkResult('verify', { valid: false, reason: 'bad' })
  })

  it('names the method and the first bad field, with what it expected and what came', () => {
    assert.equal(
      messageOf('prove', { segment: 0, size: 10, sha256: 'XYZ', millis: 5 }),
      `the reply to 'prove' has result.sha256 = "XYZ": expected 64 lower-case hex digits`
    )
    assert.equal(
      messageOf(
        'plan',
        { ...(VALID.plan as object), segments: [{ ...SEGMENT, worker: 'w', blockCount: -1 }] },
        (_, result) => checkV1Plan(result as PlanResult)
      ),
      `the reply to 'plan' has result.segments[0].blockCount = -1: expected an integer ≥ 0`
    )
    assert.equal(
      messageOf('plan', VALID.plan, (_, result) => checkV1Plan(result as PlanResult)),
      `the reply to 'plan' has result.segments = nothing: expected an array`
    )
    assert.equal(
      messageOf('contribute', { segment: 0 }),
      `the reply to 'contribute' has result.contribution = nothing: expected present`
    )
    assert.equal(
      messageOf('hello', { ...(VALID.hello as object), programs: 'x' }),
      `the reply to 'hello' has result.programs = "x": expected an array`
    )
    assert.equal(
      messageOf('verify', { valid: 'yes' }),
      `the reply to 'verify' has result.valid = "yes": expected true or false`
    )
    assert.equal(messageOf('cancel', null), `the reply to 'cancel' has result = null: expected an object`)
    assert.equal(
      messageOf('aggregate', { ...(VALID.aggregate as object), size: 2 ** 53 }),
      `the reply to 'aggregate' has result.size = 9007199254740992: expected an integer ≥ 0`
    )
    assert.match(messageOf('prove', { ...(VALID.prove as object), sha256: 'f'.repeat(500) }), /…: expected/)
  })
})
