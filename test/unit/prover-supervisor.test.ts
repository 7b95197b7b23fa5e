import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, afterEach, before, describe, it } from 'node:test'
import {
  isCancelledError,
  ProverCrashedError,
  ProverNotRunningError,
  ProverTimeoutError
} from '../../src/prover/errors.js'
import { createProverBackend } from '../../src/prover/index.js'
import {
  type ProverRestartedEvent,
  ProverSupervisor,
  type ProverSupervisorInit
} from '../../src/prover/supervisor.js'
import type { PlanParams } from '../../src/prover/types.js'
import { captureLogger, faultCommand, isAlive, rejection, within } from '../fixtures/prover/helpers.js'

const supervisors: ProverSupervisor[] = []
let dir: string

function supervisor(init: Partial<ProverSupervisorInit> = {}): ProverSupervisor {
  const created = new ProverSupervisor(
    { command: faultCommand(), shutdownGraceMs: 500, killGraceMs: 500, ...init },
    { logger: captureLogger().logger }
  )
  supervisors.push(created)
  return created
}

/** The fault prover speaks NPP v1, so these plans also go through the v1 split (no segments: none come back) */
function plan(job: string): PlanParams {
  return { job, program: 'echo', input: { path: '/x', offset: 0 }, segments: [] }
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'proofmesh-prover-supervisor-'))
})

after(async () => {
  await rm(dir, { recursive: true, force: true })
})

afterEach(async () => {
  for (const created of supervisors.splice(0)) {
    await created.stop()
  }
})

describe('ProverSupervisor', () => {
  it('starts the prover, keeps its hello as info and stops it with shutdown', async () => {
    const prover = supervisor()
    await prover.start()
    assert.equal(prover.info.name, 'fault-prover')
    assert.equal(prover.info.backend, 'npp')
    assert.deepEqual(
      prover.info.programs.map((program) => program.id),
      ['echo']
    )
    const pid = prover.pid
    assert.ok(pid !== undefined)
    await prover.stop()
    assert.equal(isAlive(pid), false)
    assert.equal((await rejection(prover.plan(plan('ok')))).name, 'ProverNotRunningError')
  })

  it('refuses a prover that speaks another protocol version and leaves no process behind', async () => {
    const prover = supervisor({ env: { ...process.env, FAULT_PROTOCOL: '3' } })
    const err = await rejection(prover.start())
    assert.equal(err.name, 'ProverProtocolError')
    assert.equal(err.message, "prover 'fault-prover' speaks NPP 3; this daemon speaks NPP 1, 2")
    assert.equal(prover.pid, undefined)
  })

  it('names both sides when the prover refuses every version offered', async () => {
    const prover = supervisor({ env: { ...process.env, FAULT_PROTOCOL: 'refuse' } })
    const err = await rejection(prover.start())
    assert.equal(err.name, 'ProverProtocolError')
    assert.equal(
      err.message,
      'the prover refused every NPP version this daemon speaks (1, 2): this prover speaks NPP 7; offered [1,2]'
    )
    assert.equal(prover.pid, undefined)
  })

  it('drives a v1 prover through its split and refuses a split that is not the layout', async () => {
    const prover = supervisor()
    await prover.start()
    const segment = { index: 0, startBlock: 0, blockCount: 1, inputOffset: 0, inputLength: 56 }
    // the fault prover answers every v1 plan with no segments
    const err = await rejection(prover.plan({ ...plan('ok'), segments: [segment] }))
    assert.equal(err.name, 'ProverProtocolError')
    assert.equal(
      err.message,
      'the NPP v1 prover split the input into 0 segment(s) where the daemon laid out 1'
    )
  })

  it('fails in-flight calls on a crash, restarts the prover and serves the next call with it', async () => {
    const prover = supervisor({ restart: { initialDelayMs: 10 } })
    await prover.start()
    const firstPid = prover.pid
    const restarted = new Promise<ProverRestartedEvent>((resolve) => {
      prover.addEventListener('restarted', (evt) => resolve(evt.detail), { once: true })
    })
    const hanging = rejection(prover.plan(plan('hang')))
    const crash = await rejection(prover.plan(plan('crash')))
    assert.ok(crash instanceof ProverCrashedError)
    assert.equal(crash.exitCode, 3)
    assert.ok((await hanging) instanceof ProverCrashedError)
    // Made while the prover restarts: it waits for the new process
    const next = await prover.plan(plan('ok'))
    assert.ok(next)
    const event = await within(restarted, 5_000, 'the restarted event')
    assert.equal(event.attempt, 1)
    assert.ok(event.reason instanceof ProverCrashedError)
    assert.notEqual(prover.pid, firstPid)
  })

  it('gives up after the restart budget and then fails every call with ProverNotRunningError', async () => {
    const marker = join(dir, 'hello-crashes')
    const prover = supervisor({
      env: { ...process.env, FAULT_HELLO_CRASH_IF_EXISTS: marker },
      restart: { maxRestarts: 2, windowMs: 60_000, initialDelayMs: 10, maxDelayMs: 50 }
    })
    await prover.start()
    const failed = new Promise<Error>((resolve) => {
      prover.addEventListener('failed', (evt) => resolve(evt.detail), { once: true })
    })
    // From now on every new prover dies in hello, so each restart attempt fails
    await writeFile(marker, '')
    assert.ok((await rejection(prover.plan(plan('crash')))) instanceof ProverCrashedError)
    const waiting = rejection(prover.plan(plan('ok'), { timeoutMs: 10_000 }))
    const failure = await within(failed, 5_000, 'the failed event')
    assert.ok(failure instanceof ProverNotRunningError)
    assert.ok(failure.cause instanceof ProverCrashedError)
    assert.ok((await waiting) instanceof ProverNotRunningError)
    const later = await rejection(prover.plan(plan('ok')))
    assert.ok(later instanceof ProverNotRunningError)
    assert.match(later.message, /crashed too often/)
  })

  it('escalates to SIGTERM and SIGKILL when the prover ignores shutdown', async () => {
    const prover = supervisor({ env: { ...process.env, FAULT_IGNORE_SHUTDOWN: '1' } })
    await prover.start()
    const pid = prover.pid
    assert.ok(pid !== undefined)
    const hanging = rejection(prover.plan(plan('hang')))
    // Lets the call reach the prover, so that it is in flight when stop() begins
    await new Promise((resolve) => setTimeout(resolve, 100))
    // shutdown grace (500 ms) for the reply, the same for the exit, then SIGTERM's grace; without the escalation
    // stop() would wait for a prover that never exits
    await within(prover.stop(), 60_000, 'stop() to end a prover that ignores shutdown')
    assert.equal(isAlive(pid), false)
    assert.ok((await hanging) instanceof ProverNotRunningError)
  })

  it('cancels a running job: its call rejects with CANCELLED', async () => {
    const prover = supervisor()
    await prover.start()
    const hanging = rejection(prover.plan(plan('hang')))
    assert.equal(await prover.cancel('hang'), 1)
    assert.ok(isCancelledError(await hanging))
  })

  it('times out a call with ProverTimeoutError', async () => {
    const prover = supervisor({ callTimeoutMs: 150 })
    await prover.start()
    const err = await rejection(prover.plan(plan('hang')))
    assert.ok(err instanceof ProverTimeoutError)
    assert.equal(err.timeoutMs, 150)
  })

  it('forwards progress notifications', async () => {
    const prover = supervisor()
    await prover.start()
    const done: number[] = []
    prover.addEventListener('progress', (evt) => done.push(evt.detail.done))
    await prover.plan(plan('progress'))
    assert.deepEqual(done, [1, 2, 3])
  })

  it('is what createProverBackend makes for the npp backend', async () => {
    const backend = createProverBackend(
      { backend: 'npp', command: faultCommand() },
      { logger: captureLogger().logger }
    )
    assert.ok(backend instanceof ProverSupervisor)
    supervisors.push(backend)
    await backend.start()
    assert.equal(backend.kind, 'npp')
    assert.equal(backend.info.version, '0.0.1')
  })
})
