import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { JobRefusedError, JobRequestError, parseJobRequest } from '../../src/job/request.js'

const defaults = { timeoutMs: 3_600_000 }
const minimal = { inputMode: 'data', input: '/data/block-1.bin', computeCapacity: 8 }

/** parseJobRequest expecting a JobRequestError; returns it */
function refused(
  body: unknown,
  options: { timeoutMs: number; programs?: string[] } = defaults
): JobRequestError {
  try {
    parseJobRequest(body, options)
  } catch (err) {
    assert.ok(err instanceof JobRequestError, `expected a JobRequestError, got ${String(err)}`)
    assert.equal(err.name, 'JobRequestError')
    assert.ok(!err.message.includes('\n'), 'the message is one line')
    return err
  }
  assert.fail(`accepted ${JSON.stringify(body)}`)
}

describe('parseJobRequest', () => {
  it('fills every default from a minimal request', () => {
    assert.deepEqual(parseJobRequest(minimal, defaults), {
      program: 'rescue-sponge',
      inputMode: 'data',
      input: '/data/block-1.bin',
      computeCapacity: 8,
      minimalComputeCapacity: 8,
      priority: 0,
      dataId: 'block-1.bin',
      timeoutMs: 3_600_000,
      webhookUrl: '',
      saveProof: true
    })
  })

  it('keeps every field a full request sets', () => {
    const request = parseJobRequest(
      {
        program: 'rescue-sponge',
        inputMode: 'path',
        input: 'blocks/block-2.bin',
        hints: { kind: 'socket', path: '/run/hints.sock' },
        computeCapacity: 10,
        minimalComputeCapacity: 4,
        priority: -5,
        dataId: 'block 2',
        timeoutMs: '10m',
        webhookUrl: 'https://hooks.example.org/done?job={$job_id}',
        saveProof: false
      },
      { timeoutMs: 1000, programs: ['rescue-sponge'] }
    )
    assert.deepEqual(request, {
      program: 'rescue-sponge',
      inputMode: 'path',
      input: 'blocks/block-2.bin',
      hints: { kind: 'socket', path: '/run/hints.sock' },
      computeCapacity: 10,
      minimalComputeCapacity: 4,
      priority: -5,
      dataId: 'block 2',
      timeoutMs: 600_000,
      webhookUrl: 'https://hooks.example.org/done?job={$job_id}',
      saveProof: false
    })
  })

  it('takes the timeout in milliseconds or as a duration', () => {
    assert.equal(parseJobRequest({ ...minimal, timeoutMs: 90_000 }, defaults).timeoutMs, 90_000)
    assert.equal(parseJobRequest({ ...minimal, timeoutMs: '90s' }, defaults).timeoutMs, 90_000)
    assert.equal(parseJobRequest({ ...minimal, timeoutMs: '1h30m' }, defaults).timeoutMs, 5_400_000)
    for (const timeoutMs of [999, 1.5e3 + 0.5, '500ms', '90', 'soon', -1000, true, '30d']) {
      assert.equal(refused({ ...minimal, timeoutMs }).field, 'timeoutMs', String(timeoutMs))
    }
  })

  it('defaults the data id to the input file name, cut to 128 characters', () => {
    assert.equal(
      parseJobRequest({ ...minimal, inputMode: 'path', input: 'a/b/c.bin' }, defaults).dataId,
      'c.bin'
    )
    const long = `/data/${'x'.repeat(200)}`
    assert.equal(parseJobRequest({ ...minimal, input: long }, defaults).dataId, 'x'.repeat(128))
    assert.equal(refused({ ...minimal, dataId: 'y'.repeat(129) }).field, 'dataId')
    assert.equal(refused({ ...minimal, dataId: 'two\nlines' }).field, 'dataId')
    assert.equal(refused({ ...minimal, dataId: 7 }).field, 'dataId')
  })

  it('treats null as a field not given', () => {
    const request = parseJobRequest({ ...minimal, priority: null, hints: null, webhookUrl: null }, defaults)
    assert.equal(request.priority, 0)
    assert.equal(request.hints, undefined)
    assert.equal(request.webhookUrl, '')
  })

  it('refuses a body that is not an object', () => {
    for (const body of [null, [], 'job', 42, undefined]) {
      assert.match(refused(body).message, /must be a JSON object/)
    }
  })

  it('refuses unknown fields and names them all', () => {
    const err = refused({ ...minimal, computeCapcity: 3, colour: 'red' })
    assert.equal(err.field, 'computeCapcity')
    assert.match(err.message, /unknown fields 'computeCapcity', 'colour'/)
    assert.equal(refused({ ...minimal, hints: { kind: 'file', path: '/h', size: 3 } }).field, 'hints.size')
  })

  it('requires inputMode, input and computeCapacity', () => {
    assert.equal(refused({ input: '/a', computeCapacity: 1 }).field, 'inputMode')
    assert.equal(refused({ inputMode: 'data', computeCapacity: 1 }).field, 'input')
    assert.equal(refused({ inputMode: 'data', input: '/a' }).field, 'computeCapacity')
    assert.equal(refused({ ...minimal, inputMode: 'stream' }).field, 'inputMode')
  })

  it('wants an absolute path in data mode and a name in path mode', () => {
    assert.equal(refused({ ...minimal, input: 'relative.bin' }).field, 'input')
    assert.equal(refused({ ...minimal, input: '' }).field, 'input')
    assert.equal(refused({ ...minimal, inputMode: 'path', input: '' }).field, 'input')
    assert.equal(refused({ ...minimal, inputMode: 'path', input: 'a\0b' }).field, 'input')
    assert.equal(parseJobRequest({ ...minimal, inputMode: 'path', input: 'x.bin' }, defaults).input, 'x.bin')
  })

  it('checks the hints source', () => {
    assert.deepEqual(
      parseJobRequest({ ...minimal, hints: { kind: 'file', path: '/h.bin' } }, defaults).hints,
      {
        kind: 'file',
        path: '/h.bin'
      }
    )
    assert.equal(refused({ ...minimal, hints: { kind: 'pipe', path: '/h' } }).field, 'hints.kind')
    assert.equal(refused({ ...minimal, hints: { kind: 'file', path: 'h.bin' } }).field, 'hints.path')
    assert.equal(refused({ ...minimal, hints: '/h.bin' }).field, 'hints')
  })

  it('bounds the capacities and the priority', () => {
    for (const computeCapacity of [0, -1, 1.5, '8', 2_000_000]) {
      assert.equal(refused({ ...minimal, computeCapacity }).field, 'computeCapacity', String(computeCapacity))
    }
    const over = refused({ ...minimal, minimalComputeCapacity: 9 })
    assert.equal(over.field, 'minimalComputeCapacity')
    assert.match(over.message, /from 1 to computeCapacity \(8\)/)
    assert.equal(refused({ ...minimal, minimalComputeCapacity: 0 }).field, 'minimalComputeCapacity')
    assert.equal(parseJobRequest({ ...minimal, priority: 1000 }, defaults).priority, 1000)
    assert.equal(parseJobRequest({ ...minimal, priority: -1000 }, defaults).priority, -1000)
    assert.equal(refused({ ...minimal, priority: 1001 }).field, 'priority')
    assert.equal(refused({ ...minimal, priority: 0.5 }).field, 'priority')
  })

  it('checks the program id, and that some prover offers it when the list is known', () => {
    assert.equal(refused({ ...minimal, program: 'Rescue Sponge' }).field, 'program')
    assert.equal(refused({ ...minimal, program: '-x' }).field, 'program')
    const unknown = refused({ ...minimal, program: 'keccak' }, { ...defaults, programs: ['rescue-sponge'] })
    assert.equal(unknown.field, 'program')
    assert.equal(unknown.message, "unknown program 'keccak' (known: rescue-sponge)")
    assert.equal(parseJobRequest({ ...minimal, program: 'keccak' }, defaults).program, 'keccak')
  })

  it('takes an http(s) webhook URL or none', () => {
    assert.equal(parseJobRequest({ ...minimal, webhookUrl: '' }, defaults).webhookUrl, '')
    assert.equal(
      parseJobRequest({ ...minimal, webhookUrl: 'http://h:8080/x' }, defaults).webhookUrl,
      'http://h:8080/x'
    )
    for (const webhookUrl of ['ftp://h/x', 'hooks.example.org', 'http://', 'http://a b', 3]) {
      assert.equal(refused({ ...minimal, webhookUrl }).field, 'webhookUrl', String(webhookUrl))
    }
  })

  it('wants saveProof to be a boolean', () => {
    assert.equal(refused({ ...minimal, saveProof: 'no' }).field, 'saveProof')
  })

  it('shows a long bad value cut short', () => {
    const err = refused({ ...minimal, input: 'z'.repeat(10_000) })
    assert.ok(err.message.length < 300, err.message)
  })
})

describe('JobRefusedError', () => {
  it('carries a code and an HTTP status, 409 unless told', () => {
    const full = new JobRefusedError('QUEUE_FULL', 'the queue holds 1000 jobs')
    assert.equal(full.name, 'JobRefusedError')
    assert.equal(full.code, 'QUEUE_FULL')
    assert.equal(full.status, 409)
    assert.equal(new JobRefusedError('NO_PROVER', 'no prover', 503).status, 503)
  })
})
