import assert from 'node:assert/strict'
import { existsSync, readdirSync } from 'node:fs'
import { getPriority } from 'node:os'
import { afterEach, describe, it } from 'node:test'
import {
  ProverCrashedError,
  ProverProtocolError,
  ProverRpcError,
  ProverTimeoutError
} from '../../src/prover/errors.js'
import { NppClient } from '../../src/prover/npp-client.js'
import { NppErrorCode, type ProgressNotification } from '../../src/prover/types.js'
import {
  captureLogger,
  faultCommand,
  isAlive,
  rejection,
  waitFor,
  within
} from '../fixtures/prover/helpers.js'

const clients: NppClient[] = []

async function startClient(init: { maxLineBytes?: number; nice?: number } = {}) {
  const captured = captureLogger()
  const client = new NppClient({ command: faultCommand(), logger: captured.logger, ...init })
  clients.push(client)
  await client.start()
  return { client, ...captured }
}

afterEach(async () => {
  for (const client of clients.splice(0)) {
    client.markClosing()
    client.kill('SIGKILL')
    await client.waitForExit(2_000)
  }
})

describe('NppClient', () => {
  it('runs the prover the given nice levels below this process, every one of its threads', async (t) => {
    const { client } = await startClient({ nice: 5 })
    await client.call('hello', { protocol: 1 })
    const tasks = `/proc/${client.pid}/task`
    if (!existsSync(tasks)) {
      t.skip('no /proc here: the priority is per process, not per thread')
      return
    }
    const expected = Math.min(19, getPriority() + 5)
    const threads = readdirSync(tasks).map(Number)
    assert.ok(threads.length > 1, 'a node prover has threads besides its main one')
    for (const tid of threads) assert.equal(getPriority(tid), expected, `thread ${tid}`)
  })

  it('says hello and matches out-of-order replies by id', async () => {
    const { client } = await startClient()
    const hello = await client.call('hello', { protocol: 1 })
    assert.equal(hello.name, 'fault-prover')
    assert.equal(hello.protocol, 1)
    const slow = client.call('plan', {
      job: 'slow:300',
      program: 'echo',
      input: { path: '/x', offset: 0 },
      workers: []
    })
    const fast = client.call('verify', { program: 'echo', proof: '/fast' })
    const first = await Promise.race([slow.then(() => 'slow'), fast.then(() => 'fast')])
    assert.equal(first, 'fast')
    const slowResult = (await slow) as unknown as { params: { job: string } }
    assert.equal(slowResult.params.job, 'slow:300')
  })

  it('emits progress and log notifications and copies stderr to the logger', async () => {
    const { client, lines } = await startClient()
    const progress: ProgressNotification[] = []
    const logs: string[] = []
    client.addEventListener('progress', (evt) => progress.push(evt.detail))
    client.addEventListener('log', (evt) => logs.push(evt.detail.message))
    await client.call('verify', { program: 'echo', proof: '/p', job: 'progress' })
    // verify carries no running job, so notifications are not tied to it; the fixture sends them anyway
    assert.deepEqual(
      progress.map((p) => p.done),
      [1, 2, 3]
    )
    assert.equal(progress[0]?.phase, 'prove')
    assert.deepEqual(logs, ['fault-prover: a log notification'])
    await client
      .call('plan', { job: 'crash', program: 'echo', input: { path: '/x', offset: 0 }, workers: [] })
      .catch(() => {})
    await waitFor(
      () =>
        lines().some((line) => line.stream === 'stderr' && line.msg === 'fault-prover: crashing on purpose'),
      2_000,
      'the stderr line in the log'
    )
  })

  it('logs and counts garbage lines and a reply to an unknown id, and the call still resolves', async () => {
    const { client } = await startClient()
    const result = await client.call('contribute', {
      job: 'garbage',
      program: 'echo',
      inputSize: 0,
      segment: { index: 0, startBlock: 0, blockCount: 1, inputOffset: 0, inputLength: 0 },
      input: { path: '/x', offset: 0 }
    })
    assert.ok(result)
    // not JSON, a JSON array, an object that is neither reply nor notification, a malformed progress
    assert.equal(client.stats.garbageLines, 4)
    assert.equal(client.stats.unknownReplies, 1)
    assert.ok(client.running)
    assert.ok(await client.call('hello', { protocol: 1 }))
  })

  it('fails a call whose reply has neither result nor error with ProverProtocolError', async () => {
    const { client } = await startClient()
    const err = await rejection(
      client.call('plan', {
        job: 'bad-reply',
        program: 'echo',
        input: { path: '/x', offset: 0 },
        workers: []
      })
    )
    assert.ok(err instanceof ProverProtocolError)
    assert.ok(client.running)
  })

  it('fails a call whose result breaks the spec, naming the method and the field', async () => {
    const { client } = await startClient()
    const segment = { index: 0, startBlock: 0, blockCount: 1, inputOffset: 0, inputLength: 1 }
    const err = await rejection(
      client.call('prove', {
        job: 'bad-field',
        program: 'echo',
        inputSize: 1,
        segment,
        input: { path: '/x', offset: 0 },
        challenge: '00'.repeat(32),
        out: '/x.proof'
      })
    )
    assert.ok(err instanceof ProverProtocolError)
    assert.equal(
      err.message,
      `the reply to 'prove' has result.sha256 = "Not-Hex": expected 64 lower-case hex digits`
    )
    assert.ok(client.running, 'one bad reply costs that call only')
  })

  it('drops an oversized reply line, fails that call and keeps serving', async () => {
    const { client } = await startClient({ maxLineBytes: 64 * 1024 })
    const err = await rejection(
      client.call('plan', {
        job: 'oversized:200000',
        program: 'echo',
        input: { path: '/x', offset: 0 },
        workers: []
      })
    )
    assert.ok(err instanceof ProverProtocolError)
    assert.equal(err.name, 'ProverProtocolError')
    assert.equal(client.stats.oversizedLines, 1)
    // An oversized notification is dropped without failing anything
    await client.call('plan', {
      job: 'oversized-notify:200000',
      program: 'echo',
      input: { path: '/x', offset: 0 },
      workers: []
    })
    assert.equal(client.stats.oversizedLines, 2)
    assert.ok(await client.call('hello', { protocol: 1 }))
  })

  it('turns an error reply into ProverRpcError with code and data', async () => {
    const { client } = await startClient()
    const err = await rejection(
      client.call('plan', { job: 'error', program: 'echo', input: { path: '/x', offset: 0 }, workers: [] })
    )
    assert.ok(err instanceof ProverRpcError)
    assert.equal(err.code, NppErrorCode.PROOF_INVALID)
    assert.deepEqual(err.data, { segment: 1, reason: 'bad' })
  })

  it('times out a call, sends cancel for its job and ignores the late CANCELLED reply', async () => {
    const { client, lines } = await startClient()
    // the fake prover never answers 'hang': only the call's own deadline can end it
    const err = await within(
      rejection(
        client.call(
          'plan',
          { job: 'hang', program: 'echo', input: { path: '/x', offset: 0 }, workers: [] },
          { timeoutMs: 200 }
        )
      ),
      30_000,
      'the call to time out'
    )
    assert.ok(err instanceof ProverTimeoutError)
    assert.equal(err.method, 'plan')
    await waitFor(
      () =>
        lines().some((line) => line.msg === 'cancelled the job of an abandoned call' && line.cancelled === 1),
      30_000,
      'the cancel of the abandoned call'
    )
    assert.equal(client.stats.unknownReplies, 0)
  })

  it('cancels an abandoned call by its name when it has one, not by its job', async () => {
    const { client, lines } = await startClient()
    // two sessions of one job on a peer: each aggregate under its own name, so that a cancel stops only its own
    const params = {
      job: 'hang',
      name: 'session-1',
      program: 'echo',
      inputSize: 1,
      challenge: '00',
      contributions: [],
      proofs: [],
      out: '/x'
    }
    const err = await within(
      rejection(client.call('aggregate', params, { timeoutMs: 200 })),
      30_000,
      'the call to time out'
    )
    assert.ok(err instanceof ProverTimeoutError)
    await waitFor(
      () =>
        lines().some(
          (line) =>
            line.msg === 'cancelled the job of an abandoned call' &&
            line.job === 'session-1' &&
            line.cancelled === 1
        ),
      30_000,
      'the cancel of the abandoned call, by its name'
    )
  })

  it('rejects with the abort reason when the caller aborts', async () => {
    const { client } = await startClient()
    const controller = new AbortController()
    const call = client.call(
      'prove',
      {
        job: 'hang',
        program: 'echo',
        inputSize: 0,
        segment: { index: 0, startBlock: 0, blockCount: 1, inputOffset: 0, inputLength: 0 },
        input: { path: '/x', offset: 0 },
        challenge: '00',
        out: '/y'
      },
      { signal: controller.signal }
    )
    controller.abort()
    const err = await rejection(call)
    assert.equal(err.name, 'AbortError')
  })

  it('fails every in-flight call with ProverCrashedError when the prover exits', async () => {
    const { client } = await startClient()
    const exited = new Promise<number | null>((resolve) => {
      client.addEventListener('exit', (evt) => resolve(evt.detail.exitCode), { once: true })
    })
    const hanging = rejection(
      client.call('plan', { job: 'hang', program: 'echo', input: { path: '/x', offset: 0 }, workers: [] })
    )
    const crashing = rejection(
      client.call('plan', { job: 'crash', program: 'echo', input: { path: '/x', offset: 0 }, workers: [] })
    )
    for (const err of [await hanging, await crashing]) {
      assert.ok(err instanceof ProverCrashedError)
      assert.equal(err.exitCode, 3)
      assert.ok(err.stderr.includes('fault-prover: crashing on purpose'))
      assert.match(err.message, /code 3/)
    }
    assert.equal(await within(exited, 30_000, 'the exit event'), 3)
    assert.equal(client.running, false)
    assert.equal((await rejection(client.call('hello', { protocol: 1 }))).name, 'ProverNotRunningError')
  })

  it('reports a SIGKILLed prover with its signal', async () => {
    const { client } = await startClient()
    const pid = client.pid
    assert.ok(pid !== undefined && isAlive(pid))
    const err = await rejection(
      client.call('plan', { job: 'kill', program: 'echo', input: { path: '/x', offset: 0 }, workers: [] })
    )
    assert.ok(err instanceof ProverCrashedError)
    assert.equal(err.signal, 'SIGKILL')
  })

  it('rejects start() when the prover cannot be spawned', async () => {
    const client = new NppClient({
      command: ['/nonexistent/prover', 'serve'],
      logger: captureLogger().logger
    })
    const err = await rejection(client.start())
    assert.ok(err instanceof ProverCrashedError)
    assert.match(err.message, /ENOENT/)
  })
})
