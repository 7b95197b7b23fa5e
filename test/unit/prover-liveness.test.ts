import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, afterEach, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { type Daemon } from '../../src/daemon/daemon.js'
import { ProverCrashedError } from '../../src/prover/errors.js'
import {
  type ProverRestartedEvent,
  ProverSupervisor,
  type ProverSupervisorInit
} from '../../src/prover/supervisor.js'
import { segmentOf } from '../../src/prover/prove-job.js'
import { captureLogger, isAlive, layoutFor, rejection, repoRoot, within } from '../fixtures/prover/helpers.js'
import { startTestNode, stopAll } from '../helpers/network.js'

const binary = join(repoRoot, 'native/target/release/proofmesh-prover')
const skip = existsSync(binary) ? false : `no prover binary at ${binary}; run cargo build --release`
/** The real prover behind a wrapper that injects the fault (see its header) */
const wrapper = fileURLToPath(new URL('test/fixtures/prover/wrap-prover.mjs', `file://${repoRoot}`))
const PROGRAM = 'rescue-sponge'

const supervisors: ProverSupervisor[] = []
let dir: string
let input: string

function supervisor(mode: string, init: Partial<ProverSupervisorInit> = {}): ProverSupervisor {
  const created = new ProverSupervisor(
    {
      command: [process.execPath, wrapper, mode, binary, 'serve'],
      shutdownGraceMs: 1_000,
      killGraceMs: 1_000,
      restart: { initialDelayMs: 10 },
      ...init
    },
    { logger: captureLogger().logger }
  )
  supervisors.push(created)
  return created
}

/** The events a supervisor went through, with whether it called itself ready at each */
function recordEvents(prover: ProverSupervisor): Array<{ event: string; ready: boolean }> {
  const seen: Array<{ event: string; ready: boolean }> = []
  for (const event of ['down', 'restarted', 'failed'] as const) {
    prover.addEventListener(event, () => seen.push({ event, ready: prover.ready }))
  }
  return seen
}

function restartedOnce(prover: ProverSupervisor): Promise<ProverRestartedEvent> {
  return new Promise((resolve) => {
    prover.addEventListener('restarted', (evt) => resolve(evt.detail), { once: true })
  })
}

describe('prover liveness: a prover that stops answering is restarted', { skip, timeout: 5 * 60_000 }, () => {
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'proofmesh-prover-liveness-'))
    input = join(dir, 'input')
    await writeFile(input, randomBytes(64 * 1024))
  })

  after(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  afterEach(async () => {
    for (const created of supervisors.splice(0)) await created.stop()
  })

  it('kills a hung prover after two missed pings: its call fails as a crash, and the new one works', async () => {
    const prover = supervisor('hang-on:plan', { pingIntervalMs: 100, pingTimeoutMs: 500 })
    await prover.start()
    assert.equal(prover.ready, true)
    const hungPid = prover.pid
    assert.ok(hungPid !== undefined)
    const events = recordEvents(prover)
    const restarted = restartedOnce(prover)
    const segments = (await layoutFor(prover.info.programs, PROGRAM, input, [{ id: 'w', units: 1 }])).map(
      segmentOf
    )
    const planned = prover.plan(
      { job: 'hung', program: PROGRAM, input: { path: input, offset: 0 }, segments },
      // far beyond the test: only the pings can end this call
      { timeoutMs: 10 * 60_000 }
    )
    const err = await within(rejection(planned), 60_000, 'the hung call to fail')
    assert.ok(err instanceof ProverCrashedError, `${err.name}: ${err.message}`)
    assert.match(
      err.message,
      /stopped answering \(2 pings in a row unanswered within 500 ms\) and was killed/
    )
    const event = await within(restarted, 60_000, 'the prover to be restarted')
    assert.equal(event.reason, err, 'the restart names the hang as its reason')
    assert.deepEqual(events.slice(0, 2), [
      { event: 'down', ready: false },
      { event: 'restarted', ready: true }
    ])
    assert.notEqual(prover.pid, hungPid)
    assert.equal(isAlive(hungPid), false, 'the hung process is gone')
    // the new process does real work: it checks a file and finds it is no proof
    const bogus = join(dir, 'bogus.proof')
    await writeFile(bogus, randomBytes(100))
    const verdict = await prover.verify({ program: PROGRAM, proof: bogus })
    assert.equal(verdict.valid, false)
  })

  it('keeps a prover that answers pings while it works', async () => {
    const prover = supervisor('honest', { pingIntervalMs: 50, pingTimeoutMs: 10_000 })
    await prover.start()
    const pid = prover.pid
    const events = recordEvents(prover)
    const workdir = await mkdtemp(join(dir, 'work-'))
    // seconds of real proving, pinged every 50 ms all along
    const result = await prover.proveJob({
      job: 'busy',
      program: PROGRAM,
      input,
      out: join(workdir, 'final.proof'),
      workdir
    })
    assert.ok(result.size > 0)
    assert.deepEqual(events, [], 'no restart')
    assert.equal(prover.pid, pid)
  })
})

describe('a daemon whose prover hangs', { skip, timeout: 5 * 60_000 }, () => {
  let daemon: Daemon | undefined

  after(async () => {
    if (daemon !== undefined) await stopAll([daemon])
  })

  it('advertises no free units and grants no lease while the prover is down, and all of them once it is back', async () => {
    daemon = await startTestNode({
      overrides: {
        capacity: { computeUnits: 4 },
        prover: { command: [binary, 'serve'], pingIntervalMs: 100, pingTimeoutMs: 500 }
      },
      daemon: { prover: true }
    })
    const prover = daemon.prover
    assert.ok(prover instanceof ProverSupervisor)
    assert.equal(daemon.capacity.currentAdvert().unitsFree, 4)
    const seen: Array<{ free: number; leaseFree: number }> = []
    const running = daemon
    prover.addEventListener('down', () =>
      seen.push({ free: running.capacity.currentAdvert().unitsFree, leaseFree: running.leases.free() })
    )
    const restarted = restartedOnce(prover)
    const pid = prover.pid
    assert.ok(pid !== undefined)
    // a prover frozen by the OS (SIGSTOP) reads and answers nothing: the hang of a deadlock, without a wrapper
    process.kill(pid, 'SIGSTOP')
    await within(restarted, 60_000, 'the frozen prover to be replaced')
    assert.deepEqual(seen, [{ free: 0, leaseFree: 0 }])
    assert.equal(daemon.capacity.currentAdvert().unitsFree, 4)
    assert.equal(daemon.leases.free(), 4)
    assert.equal(isAlive(pid), false, 'the frozen process was killed')
  })
})
