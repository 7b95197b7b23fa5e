import '../../src/polyfill.js'
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it, type TestContext } from 'node:test'
import { FailCode, RefuseCode } from '../../protocols/job/pb/job.js'
import { CliProverBackend } from '../../src/prover/cli-backend.js'
import { captureLogger, isAlive, waitFor } from '../fixtures/prover/helpers.js'
import { SCRIPTED_PROGRAM } from '../helpers/scripted-prover.js'
import {
  assignFrame,
  HARNESS_WAIT_MS,
  hex,
  type JobFixture,
  WorkerHarness
} from '../helpers/worker-harness.js'

const NODE = process.execPath
/** A one-shot "prover" that copies its input to its output: no proof of anything, a real command line all the same */
const COPY = `'${NODE}' -e "require('fs').copyFileSync(process.argv[1], process.argv[2])" {input} {output}`
/** Accepts a proof file that is not empty */
const NOT_EMPTY = `'${NODE}' -e "process.exit(require('fs').statSync(process.argv[1]).size > 0 ? 0 : 1)" {proof}`
/** Rejects every proof */
const REJECT = `'${NODE}' -e "process.exit(3)" {proof}`

/** A cli backend under the scripted program's id, so that the harness's Reserve names a program it runs */
function cliBackend(prove: string, verify = NOT_EMPTY): CliProverBackend {
  const backend = new CliProverBackend(
    { templates: { prove, verify, program: SCRIPTED_PROGRAM.id }, killGraceMs: 500 },
    { logger: captureLogger().logger }
  )
  backend.start()
  return backend
}

async function harness(t: TestContext): Promise<WorkerHarness> {
  const created = await WorkerHarness.create()
  t.after(async () => created.close())
  return created
}

/** The job as one segment covering the whole input, as a whole-job submitter assigns it */
async function wholeJob(h: WorkerHarness): Promise<JobFixture> {
  return h.job({ blocks: 4, segments: 1 })
}

describe('a whole-job session (cli backend)', () => {
  it('proves the input with the prove template, checks it with the verify template, and serves the proof', async (t) => {
    const h = await harness(t)
    const worker = await h.worker({ backend: cliBackend(COPY) })
    const submitter = await h.submitter()
    const job = await wholeJob(h)
    const { stream, reply } = await submitter.reserve(worker, job, { whole: true })
    assert.ok(reply.reserved !== undefined, `Reserve was refused: ${reply.refused?.message}`)
    await stream.send(assignFrame(job, [0], { hints: false }))
    await submitter.pushSlice(worker, job, 0)
    const final = (await stream.next('Final', (frame) => frame.final !== undefined)).final
    assert.equal(Number(final?.size), job.input.byteLength)
    assert.equal(final?.segments, 1)
    const dest = join(h.dir, 'pulled.proof')
    const pulled = await submitter.fetchFinal(worker, job, dest)
    assert.equal(hex(pulled.sha256), hex(final?.sha256 ?? new Uint8Array()))
    assert.deepEqual(await readFile(dest), job.input, 'the proof is what the command wrote')
    assert.equal(worker.workDirs(job.jobId).length, 1)
    await stream.send({ release: {} })
    await stream.end('the session to end on Release')
    await waitFor(() => worker.workDirs(job.jobId).length === 0, HARNESS_WAIT_MS, 'the work folder to go')
    assert.equal(worker.leases.activeJobs(), 0)
  })

  it('announces no proof that fails its own verify', async (t) => {
    const h = await harness(t)
    const worker = await h.worker({ backend: cliBackend(COPY, REJECT) })
    const submitter = await h.submitter()
    const job = await wholeJob(h)
    const { stream } = await submitter.reserve(worker, job, { whole: true })
    await stream.send(assignFrame(job, [0], { hints: false }))
    await submitter.pushSlice(worker, job, 0)
    const failed = await stream.failed('Failed for the rejected proof')
    assert.equal(failed.code, FailCode.PROOF_INVALID)
    assert.match(failed.message, /failed its own verify/)
    assert.ok(!stream.seen.some((frame) => frame.final !== undefined), 'no Final')
    await assert.rejects(submitter.fetchFinal(worker, job, join(h.dir, 'none.proof')))
  })

  it('kills a prove command that never ends when the submitter cancels', async (t) => {
    const h = await harness(t)
    const pidFile = join(h.dir, 'prove.pid')
    const hang = `'${NODE}' -e "require('fs').writeFileSync(process.argv[1], String(process.pid)); setInterval(Object, 1e9)" '${pidFile}' {output}`
    const worker = await h.worker({ backend: cliBackend(hang) })
    const submitter = await h.submitter()
    const job = await wholeJob(h)
    const { stream } = await submitter.reserve(worker, job, { whole: true })
    await stream.send(assignFrame(job, [0], { hints: false }))
    await submitter.pushSlice(worker, job, 0)
    // the command writes its pid in one call: a file that exists and is not empty holds all of it
    await waitFor(
      () => existsSync(pidFile) && readFileSync(pidFile).length > 0,
      HARNESS_WAIT_MS,
      'the prove command to write its pid'
    )
    const pid = Number.parseInt(readFileSync(pidFile, 'utf8'), 10)
    assert.ok(isAlive(pid))
    await stream.send({ cancel: { reason: 'test' } })
    await waitFor(() => !isAlive(pid), HARNESS_WAIT_MS, `the prove command (pid ${pid}) to be killed`)
    await waitFor(() => worker.workDirs(job.jobId).length === 0, HARNESS_WAIT_MS, 'the work folder to go')
  })

  it('ends a lease that sees no Assign within the first-Assign deadline', async (t) => {
    const h = await harness(t)
    const worker = await h.worker({ backend: cliBackend(COPY), firstAssignDeadlineMs: 200 })
    const submitter = await h.submitter()
    const job = await wholeJob(h)
    const { stream } = await submitter.reserve(worker, job, { whole: true })
    await stream.end('the session to end without an Assign')
    await waitFor(() => worker.leases.activeJobs() === 0, HARNESS_WAIT_MS, 'the lease to end')
  })

  it('ends the session on an Assign that is not the whole input, or a frame of the segment path', async (t) => {
    const h = await harness(t)
    const worker = await h.worker({ backend: cliBackend(COPY) })
    const submitter = await h.submitter()
    const split = await h.job({ blocks: 4, segments: 2 })
    const first = (await submitter.reserve(worker, split, { whole: true })).stream
    await first.send(assignFrame(split, [0], { hints: false }))
    assert.equal((await first.failed('Failed for a part of the input')).code, FailCode.PROTOCOL)
    await first.end('the session to end')
    await waitFor(() => worker.leases.activeJobs() === 0, HARNESS_WAIT_MS, 'its lease to end')

    const job = await wholeJob(h)
    const second = (await submitter.reserve(worker, job, { whole: true })).stream
    await second.send({ challenge: { challenge: new Uint8Array(32) } })
    const failed = await second.failed('Failed for a Challenge')
    assert.equal(failed.code, FailCode.PROTOCOL)
    assert.match(failed.message, /challenge has no place in a whole job/)
    await second.end('the session to end')
  })

  it('refuses a segment lease on a cli peer, and a whole-job lease on a segment prover', async (t) => {
    const h = await harness(t)
    const cli = await h.worker({ backend: cliBackend(COPY) })
    const npp = await h.worker()
    const submitter = await h.submitter()
    const job = await wholeJob(h)
    const segment = (await submitter.reserve(cli, job)).reply.refused
    assert.equal(segment?.code, RefuseCode.NO_PROVER)
    assert.match(segment?.message ?? '', /whole jobs only/)
    const whole = (await submitter.reserve(npp, job, { whole: true })).reply.refused
    assert.equal(whole?.code, RefuseCode.NO_PROVER)
    assert.match(whole?.message ?? '', /not whole jobs/)
  })

  it('applies the per-submitter cap and the input size cap to whole jobs too', async (t) => {
    const h = await harness(t)
    const worker = await h.worker({
      backend: cliBackend(COPY),
      security: { maxJobsPerSubmitter: 1 },
      maxInputBytes: 1024
    })
    const submitter = await h.submitter()
    const job = await wholeJob(h)
    const held = await submitter.reserve(worker, job, { whole: true, units: 1 })
    assert.ok(held.reply.reserved !== undefined)
    const other = await wholeJob(h)
    const busy = (await submitter.reserve(worker, other, { whole: true, units: 1 })).reply.refused
    assert.equal(busy?.code, RefuseCode.BUSY)
    const large = (await submitter.reserve(worker, other, { whole: true, inputSize: 4096n })).reply.refused
    assert.equal(large?.code, RefuseCode.TOO_LARGE)
  })
})
