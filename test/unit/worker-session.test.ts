import '../../src/polyfill.js'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { copyFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it, type TestContext } from 'node:test'
import { multiaddr } from '@multiformats/multiaddr'
import { MAX_SEGMENTS_PER_JOB, MAX_SESSION_STREAMS } from '../../protocols/job/constants.js'
import {
  FailCode,
  InputMode,
  type PeerFrame,
  RefuseCode,
  type SegmentSpec,
  type SubmitterFrame
} from '../../protocols/job/pb/job.js'
import { NppErrorCode } from '../../src/prover/types.js'
import { waitFor } from '../fixtures/prover/helpers.js'
import { SCRIPTED_PROGRAM, ScriptedProver, scriptedDigest } from '../helpers/scripted-prover.js'
import {
  assignFrame,
  challengeOf,
  contributionOf,
  HARNESS_WAIT_MS,
  type HarnessSubmitter,
  type HarnessWorker,
  type HarnessWorkerOptions,
  hex,
  type JobFixture,
  type JobStream,
  reserveFrame,
  WorkerHarness
} from '../helpers/worker-harness.js'

async function harness(t: TestContext): Promise<WorkerHarness> {
  const created = await WorkerHarness.create()
  t.after(async () => created.close())
  return created
}

/** A granted lease on `worker` for `job`, its job stream open */
async function leased(
  submitter: HarnessSubmitter,
  worker: HarnessWorker,
  job: JobFixture
): Promise<JobStream> {
  const { stream, reply } = await submitter.reserve(worker, job)
  assert.ok(reply.reserved !== undefined, `Reserve was refused: ${reply.refused?.message}`)
  return stream
}

/** A harness with one worker, one submitter and a job of `segments` segments leased on the worker */
async function oneLease(
  t: TestContext,
  options: { worker?: HarnessWorkerOptions; segments: number }
): Promise<{
  h: WorkerHarness
  worker: HarnessWorker
  submitter: HarnessSubmitter
  job: JobFixture
  stream: JobStream
}> {
  const h = await harness(t)
  const worker = await h.worker(options.worker)
  const submitter = await h.submitter()
  const job = await h.job({ segments: options.segments })
  return { h, worker, submitter, job, stream: await leased(submitter, worker, job) }
}

/** Assigns `indices` to the worker and ships their slices and the hints; resolves with their contributions */
async function contribute(
  submitter: HarnessSubmitter,
  worker: HarnessWorker,
  stream: JobStream,
  job: JobFixture,
  indices: number[]
): Promise<Map<number, string>> {
  await stream.send(assignFrame(job, indices))
  await submitter.pushHints(worker, job)
  for (const index of indices) await submitter.pushSlice(worker, job, index)
  const contributions = new Map<number, string>()
  await stream.next(`the contributions of segments ${indices.join(', ')}`, (frame) => {
    if (frame.contribution !== undefined)
      contributions.set(frame.contribution.segment, hex(frame.contribution.contribution))
    return indices.every((index) => contributions.has(index))
  })
  return contributions
}

/** Reads Proved frames until every one of `indices` has one */
async function provedAll(stream: JobStream, indices: number[]): Promise<Map<number, PeerFrame['proved']>> {
  const proved = new Map<number, PeerFrame['proved']>()
  await stream.next(`Proved for segments ${indices.join(', ')}`, (frame) => {
    if (frame.proved !== undefined) proved.set(frame.proved.segment, frame.proved)
    return indices.every((index) => proved.has(index))
  })
  return proved
}

async function sessionGone(worker: HarnessWorker, job: JobFixture): Promise<void> {
  await waitFor(
    () => worker.leases.activeJobs() === 0 && worker.service.activeSessions() === 0,
    HARNESS_WAIT_MS,
    `the session of ${job.jobId} to end and free its lease`
  )
  // the folder goes in the session's last step, a removal that may finish just after the session is counted out
  await waitFor(
    () => worker.workDirs(job.jobId).length === 0,
    HARNESS_WAIT_MS,
    `the work folder of ${job.jobId} to be removed with the session`
  )
}

describe('a worker session, driven frame by frame on a scripted prover', () => {
  it('runs a whole job on two peers: lease, slices, hints, contributions, challenge, proofs, aggregation, final, release', async (t) => {
    const h = await harness(t)
    const [a, b] = [await h.worker(), await h.worker()]
    const submitter = await h.submitter()
    const job = await h.job({ segments: 3 })
    const [toA, toB] = [await leased(submitter, a, job), await leased(submitter, b, job)]

    const fromA = await contribute(submitter, a, toA, job, [0, 1])
    const fromB = await contribute(submitter, b, toB, job, [2])
    const contributions = [fromA.get(0), fromA.get(1), fromB.get(2)] as string[]
    assert.deepEqual(
      contributions,
      job.segments.map((spec) => contributionOf(job, spec.index)),
      'each contribution is the prover’s own for the slice the peer received'
    )

    const challenge = challengeOf(job)
    await toA.send({ challenge: { challenge } })
    await toB.send({ challenge: { challenge } })
    const proved = new Map([...(await provedAll(toA, [0, 1])), ...(await provedAll(toB, [2]))])
    for (const call of [...a.prover.callsOf('prove'), ...b.prover.callsOf('prove')])
      assert.equal(call.challenge, hex(challenge), 'every segment is proved bound to the challenge')

    // A aggregates: its own proofs where they lie, B's pulled over the proof protocol
    const bAddress = multiaddr(`/ip4/127.0.0.1/tcp/4001/p2p/${b.peerId}`)
    await toA.send({ aggregate: { contributions: contributions.map((c) => Buffer.from(c, 'hex')) } })
    for (const index of [0, 1, 2]) {
      const report = proved.get(index)
      assert.ok(report !== undefined)
      await toA.send({
        fetch: {
          segment: index,
          peerId: index === 2 ? b.peerId : a.peerId,
          addrs: index === 2 ? [bAddress.bytes] : [],
          size: report.size,
          sha256: report.sha256
        }
      })
    }
    const final = (await toA.next('Final', (frame) => frame.final !== undefined)).final
    assert.ok(final !== undefined)
    assert.equal(final.segments, 3)
    assert.equal(hex(final.digest), scriptedDigest(contributions))
    assert.deepEqual(
      a.node.learned.get(b.peerId)?.map(String),
      [bAddress.toString()],
      'the aggregator taught its peer store the holder’s addresses before it dialled'
    )

    const dest = join(h.dir, 'final.proof')
    const got = await submitter.fetchFinal(a, job, dest)
    assert.equal(hex(got.sha256), hex(final.sha256), 'the final proof pulled is the one Final reported')
    const verdict = await new ScriptedProver().verify({
      program: SCRIPTED_PROGRAM.id,
      proof: dest,
      digest: scriptedDigest(contributions),
      job: job.jobId
    })
    assert.equal(verdict.valid, true, verdict.reason)

    assert.deepEqual([...toA.failures(), ...toB.failures()], [], 'nobody failed')
    await toA.send({ release: {} })
    await toB.send({ release: {} })
    await toA.end('A to end the job stream on Release')
    await toB.end('B to end the job stream on Release')
    await sessionGone(a, job)
    await sessionGone(b, job)
  })

  it('refuses a Reserve it cannot take, saying why, and resets a stream that does not open with one', async (t) => {
    const h = await harness(t)
    const submitter = await h.submitter()
    // one submitter may take all the units here, so that its second job finds none free
    const worker = await h.worker({ units: 2, maxInputBytes: 1024, security: { maxUnitsPerSubmitter: 2 } })
    const job = await h.job({ blocks: 8 })
    const refusal = async (target: HarnessWorker, overrides: Parameters<typeof submitter.reserve>[2]) => {
      const { stream, reply } = await submitter.reserve(target, job, overrides)
      await stream.end('the refusing peer to close the stream')
      assert.ok(reply.refused !== undefined, 'refused')
      return reply.refused
    }
    assert.equal((await refusal(worker, { jobId: 'no spaces allowed' })).code, RefuseCode.BAD_REQUEST)
    assert.equal((await refusal(worker, { leaseMs: 100 })).code, RefuseCode.BAD_REQUEST)
    assert.equal((await refusal(worker, { program: 'no-such-program' })).code, RefuseCode.UNSUPPORTED_PROGRAM)
    const tooLarge = await refusal(worker, { inputSize: 4096n })
    assert.equal(tooLarge.code, RefuseCode.TOO_LARGE)
    assert.match(tooLarge.message, /inputs\.max_bytes \(1024\)/)
    assert.equal((await refusal(await h.worker({ noProver: true }), {})).code, RefuseCode.NO_PROVER)
    const strict = await h.worker({ security: { allowSubmitters: ['12D3KooWsomeoneElse'] } })
    assert.equal((await refusal(strict, {})).code, RefuseCode.UNAUTHORIZED)

    const first = await leased(submitter, worker, job)
    assert.equal((await refusal(worker, {})).code, RefuseCode.BAD_REQUEST, 'the same job twice')
    const busy = await refusal(worker, { jobId: 'another-job' })
    assert.equal(busy.code, RefuseCode.BUSY)
    assert.equal(busy.freeUnits, 0)
    assert.equal(worker.leases.activeJobs(), 1, 'no refusal took a lease')

    const stray = await submitter.open(worker)
    await stray.send(assignFrame(job, [0]))
    await stray.end('the peer to reset a job stream that does not open with Reserve')
    assert.deepEqual(stray.seen, [], 'nothing is answered to it')
    await first.send({ release: {} })
    await sessionGone(worker, job)
  })

  it('keeps the sessions of one job id apart by submitter: a peer that reserved the id first neither blocks nor disturbs its submitter', async (t) => {
    const h = await harness(t)
    const release = Promise.withResolvers<void>()
    const worker = await h.worker({ script: { prove: () => ({ do: 'wait', until: release.promise }) } })
    const [thief, submitter] = [await h.submitter(), await h.submitter()]
    const job = await h.job({ segments: 1 })
    const early = await leased(thief, worker, job)
    const stream = await leased(submitter, worker, job)
    await contribute(submitter, worker, stream, job, [0])
    await stream.send({ challenge: { challenge: challengeOf(job) } })
    await waitFor(() => worker.prover.callsOf('prove').length === 1, HARNESS_WAIT_MS, 'the prove call')

    // The thief leaves while the real session proves: its end cancels its own prover work only
    await early.send({ cancel: { reason: 'done here' } })
    await early.end('the thief’s session to end')
    await waitFor(() => worker.service.activeSessions() === 1, HARNESS_WAIT_MS, 'the thief’s session to end')
    release.resolve()
    await provedAll(stream, [0])
    assert.deepEqual(stream.failures(), [], 'the real session lost nothing to the thief’s end')
    assert.equal(worker.prover.cancelled.length, 1)
    assert.notEqual(worker.prover.cancelled[0], worker.prover.callsOf('prove')[0]?.job)
    assert.equal(worker.workDirs(job.jobId).length, 1, 'the real session’s folder is its own')

    // The thief's streams reach its own session, which is gone: never the real submitter's
    await assert.rejects(thief.pushSlice(worker, job, 0), 'a slice from the thief is refused')
    await assert.rejects(thief.fetchFinal(worker, job, join(h.dir, 'stolen')), /no final proof of job/)
    await stream.send({ release: {} })
    await sessionGone(worker, job)
  })

  it('names each session’s aggregate apart: one session of a job id cancelled, the other aggregates on', async (t) => {
    const h = await harness(t)
    const release = Promise.withResolvers<void>()
    const worker = await h.worker({ script: { aggregate: () => ({ do: 'wait', until: release.promise }) } })
    const job = await h.job({ segments: 1 })
    const contributions = [Buffer.from(contributionOf(job, 0), 'hex')]
    // two submitters of one job id (or one submitter's restart), both making this peer the aggregator
    const streams: JobStream[] = []
    for (const submitter of [await h.submitter(), await h.submitter()]) {
      const stream = await leased(submitter, worker, job)
      await contribute(submitter, worker, stream, job, [0])
      await stream.send({ challenge: { challenge: challengeOf(job) } })
      const proved = (await provedAll(stream, [0])).get(0)
      assert.ok(proved !== undefined)
      await stream.send({ aggregate: { contributions } })
      await stream.send({
        fetch: { segment: 0, peerId: worker.peerId, addrs: [], size: proved.size, sha256: proved.sha256 }
      })
      streams.push(stream)
    }
    await waitFor(
      () => worker.prover.callsOf('aggregate').length === 2,
      HARNESS_WAIT_MS,
      'both aggregate calls'
    )
    const [first, second] = worker.prover.callsOf('aggregate')
    const names = worker.prover.callsOf('contribute').map((call) => call.job)
    assert.deepEqual(
      [first?.job, second?.job, first?.name, second?.name],
      [job.jobId, job.jobId, ...names],
      'the proof is bound to the job; each request is named by its session, as its contribute was'
    )
    assert.notEqual(first?.name, second?.name)

    const [cancelled, kept] = streams as [JobStream, JobStream]
    await cancelled.send({ cancel: { reason: 'the user cancelled' } })
    await cancelled.end('the cancelled session to end')
    await waitFor(
      () => worker.service.activeSessions() === 1,
      HARNESS_WAIT_MS,
      'the cancelled session to end'
    )
    assert.deepEqual(
      worker.prover.cancelled,
      [first?.name],
      'the prover was told to cancel that session’s work only'
    )
    release.resolve()
    const final = (await kept.next('the other session’s Final', (frame) => frame.final !== undefined)).final
    assert.equal(final?.segments, 1)
    assert.deepEqual(kept.failures(), [], 'the other session lost nothing to the cancel')
    await kept.send({ release: {} })
    await sessionGone(worker, job)
  })

  it('leases a submitter no more than its cap of units, however many Reserve asks for', async (t) => {
    const h = await harness(t)
    const worker = await h.worker({ units: 4 })
    const [greedy, other] = [await h.submitter(), await h.submitter()]
    const [first, second] = [await h.job(), await h.job()]
    const { reply } = await greedy.reserve(worker, first, { units: 2 ** 32 - 1 })
    assert.equal(reply.reserved?.units, 2, 'half the units by default')
    const { reply: again } = await greedy.reserve(worker, second, { units: 2 ** 32 - 1 })
    assert.equal(again.refused?.code, RefuseCode.BUSY)
    assert.match(again.refused?.message ?? '', /holds 2 units here.*security\.max_units_per_submitter \(2\)/)
    const { reply: fair } = await other.reserve(worker, first, { units: 2 ** 32 - 1 })
    assert.equal(fair.reserved?.units, 2, 'another submitter still finds units here')

    const generous = await h.worker({ units: 8, security: { maxUnitsPerSubmitter: 3 } })
    const { reply: two } = await greedy.reserve(generous, first, { units: 2 })
    assert.equal(two.reserved?.units, 2)
    const { reply: rest } = await greedy.reserve(generous, second, { units: 2 ** 32 - 1 })
    assert.equal(rest.reserved?.units, 1, 'the room left under the configured cap')
    assert.equal(generous.leases.free(), 5)
  })

  it('ends a lease that sees no Assign in time, keep-alives or not, and frees its units', async (t) => {
    const h = await harness(t)
    const worker = await h.worker({ firstAssignDeadlineMs: 300, security: { maxUnitsPerSubmitter: 4 } })
    const submitter = await h.submitter()
    const [idle, busy] = [await h.job({ segments: 1 }), await h.job({ segments: 1 })]
    const held = await leased(submitter, worker, idle)
    const working = await leased(submitter, worker, busy)
    await working.send(assignFrame(busy, [0]))
    const renew = setInterval(() => void held.send({ keepAlive: {} }).catch(() => undefined), 50)
    t.after(() => clearInterval(renew))
    await held.end('the idle lease’s job stream to end')
    await waitFor(
      () => worker.leases.activeJobs() === 1,
      HARNESS_WAIT_MS,
      'the idle lease to end and free its units'
    )
    assert.ok(worker.logs.lines().some((line) => line.reason === 'no Assign within 300ms of the lease'))
    assert.equal(worker.leases.unitsOf(submitter.peerId), 2, 'the assigned lease holds on')
    await working.send({ release: {} })
    await sessionGone(worker, busy)
  })

  it('ends a session whose Assigns go past its totals: segments over its life, input bytes held at once', async (t) => {
    const h = await harness(t)
    const worker = await h.worker()
    const submitter = await h.submitter()
    const job = await h.job({ segments: 2 })
    const many = (from: number): SubmitterFrame => {
      const frame = assignFrame(job, [])
      frame.assign?.segments.push(
        ...Array.from({ length: MAX_SEGMENTS_PER_JOB }, (_, i) => ({
          ...(job.segments[0] as SegmentSpec),
          index: (from + i) % MAX_SEGMENTS_PER_JOB,
          inputLength: 0n
        }))
      )
      return frame
    }
    const indices = Array.from({ length: MAX_SEGMENTS_PER_JOB }, (_, i) => i)
    const filling = await leased(submitter, worker, job)
    await filling.send(many(0))
    await filling.send({ forget: { segments: indices } })
    await filling.send(many(0))
    await filling.send({ forget: { segments: indices } })
    await filling.send(assignFrame(job, [0]))
    const over = await filling.failed('the refusal of the Assign past the total')
    assert.equal(over.code, FailCode.PROTOCOL)
    assert.match(over.message, /32769 segments assigned in one session, over 32768/)
    await filling.end('the session to end')
    await sessionGone(worker, job)

    const overlapping = await leased(submitter, worker, job)
    await overlapping.send(assignFrame(job, [0, 1]))
    const whole = { ...(job.segments[0] as SegmentSpec), index: 7, inputLength: BigInt(job.input.byteLength) }
    const again = assignFrame(job, [])
    again.assign?.segments.push(whole)
    await overlapping.send(again)
    const bytes = await overlapping.failed('the refusal of segments over the input')
    assert.match(bytes.message, /would hold 1536 input bytes, over the input's 768/)
    await overlapping.end('the session to end')
    await sessionGone(worker, job)
  })

  it('refuses an inputs stream past the session’s cap of open streams, and ends the session', async (t) => {
    const h = await harness(t)
    const worker = await h.worker()
    const submitter = await h.submitter()
    const job = await h.job({ blocks: MAX_SESSION_STREAMS + 1, segments: MAX_SESSION_STREAMS + 1 })
    const stream = await leased(submitter, worker, job)
    // slices whose Assign has not come wait for it, each holding its stream open
    const pushes = job.segments.map(async (spec) =>
      submitter.pushSlice(worker, job, spec.index).then(
        () => 'taken',
        () => 'refused'
      )
    )
    const failure = await stream.failed('the end of the session past the cap')
    assert.equal(failure.code, FailCode.PROTOCOL)
    assert.match(failure.message, /more than 16 inputs and hints streams at once/)
    await stream.end('the session to end')
    assert.deepEqual(
      new Set(await Promise.all(pushes)),
      new Set(['refused']),
      'no slice is taken by a session that ended'
    )
    await sessionGone(worker, job)
  })

  it('takes a slice and the hints that overtake their Assign, and refuses a slice whose Assign never comes', async (t) => {
    const { worker, submitter, job, stream } = await oneLease(t, {
      worker: { assignWaitMs: 500 },
      segments: 3
    })

    const early = Promise.all([submitter.pushSlice(worker, job, 1), submitter.pushHints(worker, job)])
    await waitFor(() => worker.service.activeSessions() === 1, HARNESS_WAIT_MS, 'the session')
    await stream.send(assignFrame(job, [1]))
    await early
    const contribution = await stream.next(
      'the contribution of segment 1',
      (frame) => frame.contribution !== undefined
    )
    assert.equal(hex(contribution.contribution?.contribution ?? new Uint8Array()), contributionOf(job, 1))

    await assert.rejects(
      submitter.pushSlice(worker, job, 2),
      'a slice of a segment never assigned here is refused'
    )
    assert.deepEqual(stream.failures(), [], 'a refused slice is not the session’s failure')
    await stream.send({ release: {} })
    await sessionGone(worker, job)
  })

  it('refuses a slice with a bad hash, keeps nothing of it, and takes the right bytes after', async (t) => {
    const { h, worker, submitter, job, stream } = await oneLease(t, { segments: 2 })
    await stream.send(assignFrame(job, [0, 1]))
    await submitter.pushHints(worker, job)

    const tampered = Buffer.from(job.input)
    const at = Number(job.segments[1]?.inputOffset) + 3
    tampered[at] = (tampered[at] ?? 0) ^ 0xff
    const tamperedPath = join(h.dir, 'tampered')
    await writeFile(tamperedPath, tampered)
    await submitter.pushSlice(worker, job, 0)
    await assert.rejects(submitter.pushSlice(worker, job, 1, tamperedPath), /SHA-256/)
    await stream.next('the contribution of segment 0', (frame) => frame.contribution?.segment === 0)
    assert.equal(
      worker.prover.callsOf('contribute').some((call) => call.segment.index === 1),
      false,
      'no contribution from bytes that failed their check'
    )

    await submitter.pushSlice(worker, job, 1)
    const second = await stream.next(
      'the contribution of segment 1',
      (frame) => frame.contribution?.segment === 1
    )
    assert.equal(hex(second.contribution?.contribution ?? new Uint8Array()), contributionOf(job, 1))
    assert.deepEqual(stream.failures(), [])
    await stream.send({ release: {} })
    await sessionGone(worker, job)
  })

  it('reports each prover failure with its code and segment, and goes on with the rest', async (t) => {
    const h = await harness(t)
    const worker = await h.worker({
      script: {
        contribute: (params) =>
          params.segment.index === 0
            ? { do: 'fail', code: NppErrorCode.IO_ERROR, message: 'cannot read /home/op/data/slice-0' }
            : params.segment.index === 1
              ? { do: 'fail', code: NppErrorCode.INVALID_HINTS, message: 'hints out of order' }
              : undefined,
        prove: () => ({ do: 'fail', code: 4242, message: 'the GPU fell over' })
      }
    })
    const submitter = await h.submitter()
    const job = await h.job({ segments: 3 })
    const stream = await leased(submitter, worker, job)
    await stream.send(assignFrame(job, [0, 1, 2]))
    await submitter.pushHints(worker, job)
    for (const index of [0, 1, 2]) await submitter.pushSlice(worker, job, index)

    const first = await stream.failed('the failure of segment 0')
    assert.deepEqual([first.code, first.segment], [FailCode.INPUT, 0])
    assert.equal(first.message, 'cannot read <path>', 'no path of this machine crosses to the submitter')
    const second = await stream.failed('the failure of segment 1')
    assert.deepEqual([second.code, second.segment], [FailCode.HINTS, 1])
    await stream.next('the contribution of segment 2', (frame) => frame.contribution?.segment === 2)
    await stream.send({ challenge: { challenge: challengeOf(job) } })
    const third = await stream.failed('the failure of proving segment 2')
    assert.deepEqual([third.code, third.segment], [FailCode.PROVER, 2])
    await stream.send({ release: {} })
    await sessionGone(worker, job)
  })

  it('blames a garbage partial proof by its SHA-256, and aggregates again once its segment moved', async (t) => {
    const h = await harness(t)
    const a = await h.worker()
    const b = await h.worker({ script: { prove: () => ({ do: 'garbage' }) } })
    const submitter = await h.submitter()
    const job = await h.job({ segments: 2 })
    const [toA, toB] = [await leased(submitter, a, job), await leased(submitter, b, job)]
    await contribute(submitter, a, toA, job, [0])
    await contribute(submitter, b, toB, job, [1])
    const challenge = challengeOf(job)
    await toA.send({ challenge: { challenge } })
    await toB.send({ challenge: { challenge } })
    const own = (await provedAll(toA, [0])).get(0)
    const lie = (await provedAll(toB, [1])).get(1)
    assert.ok(own !== undefined && lie !== undefined)

    const contributions = job.segments.map((spec) => Buffer.from(contributionOf(job, spec.index), 'hex'))
    await toA.send({ aggregate: { contributions } })
    await toA.send({ fetch: { segment: 0, peerId: a.peerId, addrs: [], size: own.size, sha256: own.sha256 } })
    await toA.send({ fetch: { segment: 1, peerId: b.peerId, addrs: [], size: lie.size, sha256: lie.sha256 } })
    const blame = await toA.failed('the aggregator’s blame')
    assert.deepEqual([blame.code, blame.segment], [FailCode.PROOF_INVALID, 1])
    assert.equal(hex(blame.proofSha256), hex(lie.sha256), 'the blame names the proof it used')

    // The submitter moves segment 1 to A: Forget, then a later Assign; A proves it, and aggregates again
    await toA.send({ forget: { segments: [1] } })
    await toA.send(assignFrame(job, [1]))
    await submitter.pushSlice(a, job, 1)
    const moved = (await provedAll(toA, [1])).get(1)
    assert.ok(moved !== undefined)
    await toA.send({
      fetch: { segment: 1, peerId: a.peerId, addrs: [], size: moved.size, sha256: moved.sha256 }
    })
    const final = (await toA.next('Final after the move', (frame) => frame.final !== undefined)).final
    assert.equal(final?.segments, 2)
    await toA.send({ release: {} })
    await toB.send({ cancel: { reason: 'its proof was invalid' } })
    await sessionGone(a, job)
    await sessionGone(b, job)
  })

  it('fails a pulled proof whose bytes are not the ones its peer reported', async (t) => {
    const h = await harness(t)
    const [a, b] = [await h.worker(), await h.worker()]
    const submitter = await h.submitter()
    const job = await h.job({ segments: 2 })
    const [toA, toB] = [await leased(submitter, a, job), await leased(submitter, b, job)]
    await contribute(submitter, a, toA, job, [0])
    await contribute(submitter, b, toB, job, [1])
    await toA.send({ challenge: { challenge: challengeOf(job) } })
    await toB.send({ challenge: { challenge: challengeOf(job) } })
    await provedAll(toA, [0])
    const reported = (await provedAll(toB, [1])).get(1)
    assert.ok(reported !== undefined)
    const contributions = job.segments.map((spec) => Buffer.from(contributionOf(job, spec.index), 'hex'))
    await toA.send({ aggregate: { contributions } })
    await toA.send({
      fetch: { segment: 1, peerId: b.peerId, addrs: [], size: reported.size, sha256: randomBytes(32) }
    })
    const failure = await toA.failed('the failed pull')
    assert.deepEqual([failure.code, failure.segment], [FailCode.TRANSFER, 1])
    assert.match(failure.message, /not the one its peer reported/)
  })

  it('serves a partial proof to any peer, and the final proof to the job’s submitter only', async (t) => {
    const { h, worker, submitter, job, stream } = await oneLease(t, { segments: 1 })
    await contribute(submitter, worker, stream, job, [0])
    await stream.send({ challenge: { challenge: challengeOf(job) } })
    const proved = (await provedAll(stream, [0])).get(0)
    assert.ok(proved !== undefined)
    await stream.send({ aggregate: { contributions: [Buffer.from(contributionOf(job, 0), 'hex')] } })
    await stream.send({
      fetch: { segment: 0, peerId: worker.peerId, addrs: [], size: proved.size, sha256: proved.sha256 }
    })
    await stream.next('Final', (frame) => frame.final !== undefined)

    const other = await h.worker()
    const pulled = await other.service.fetchProof(
      { peerId: worker.peerId, addrs: [] },
      { jobId: job.jobId, segment: 0, submitter: submitter.peerId },
      join(h.dir, 'partial'),
      AbortSignal.timeout(HARNESS_WAIT_MS)
    )
    assert.equal(hex(pulled.sha256), hex(proved.sha256), 'any peer may pull a partial proof')
    const stranger = await h.submitter()
    await assert.rejects(stranger.fetchFinal(worker, job, join(h.dir, 'stolen')), /no final proof of job/)
    assert.equal(existsSync(join(h.dir, 'stolen')), false)
    await submitter.fetchFinal(worker, job, join(h.dir, 'final'))
    await stream.send({ release: {} })
    await sessionGone(worker, job)
  })

  it('drops a withdrawn copy that waits for its input, without failing, and goes on with its other work', async (t) => {
    const { worker, submitter, job, stream } = await oneLease(t, { segments: 2 })
    await stream.send(assignFrame(job, [1]))
    await submitter.pushHints(worker, job)
    await stream.send({ forget: { segments: [1] } })
    await stream.send(assignFrame(job, [0]))
    await submitter.pushSlice(worker, job, 0)
    await stream.next('the contribution of segment 0', (frame) => frame.contribution?.segment === 0)
    assert.deepEqual(stream.failures(), [])
    assert.equal(worker.prover.callsOf('contribute').length, 1, 'the withdrawn copy never reached the prover')
    await stream.send({ release: {} })
    await sessionGone(worker, job)
  })

  it('stops the native work on Cancel, frees its units and removes its files', async (t) => {
    const { worker, submitter, job, stream } = await oneLease(t, {
      worker: { script: { prove: () => ({ do: 'hang' }) } },
      segments: 1
    })
    await contribute(submitter, worker, stream, job, [0])
    await stream.send({ challenge: { challenge: challengeOf(job) } })
    await waitFor(() => worker.prover.callsOf('prove').length === 1, HARNESS_WAIT_MS, 'the prove call')
    await stream.send({ cancel: { reason: 'the user cancelled' } })
    await stream.end('the job stream to end on Cancel')
    await sessionGone(worker, job)
    assert.deepEqual(
      worker.prover.cancelled,
      [worker.prover.callsOf('prove')[0]?.job],
      'the prover was told to cancel the session’s work'
    )
    assert.ok(
      worker.logs.lines().some((line) => line.reason === 'cancelled by the submitter: the user cancelled'),
      'the session says why it ended'
    )
  })

  it('ends the session when its lease lapses (a submitter that went silent)', async (t) => {
    const h = await harness(t)
    const worker = await h.worker()
    const submitter = await h.submitter()
    const job = await h.job({ segments: 1 })
    const { stream, reply } = await submitter.reserve(worker, job, { leaseMs: 500, keepAliveMs: 100 })
    assert.equal(reply.reserved?.leaseMs, 500)
    await stream.end('the session to end its job stream when the lease lapses')
    await sessionGone(worker, job)
    assert.ok(worker.logs.lines().some((line) => line.reason === 'lease expired'))
    assert.ok(
      stream.seen.some((frame) => frame.keepAlive !== undefined),
      'the peer sent keep-alives, which do not renew its own lease'
    )
  })

  it('ends the session when the submitter closes its job stream', async (t) => {
    const { worker, job, stream } = await oneLease(t, { segments: 1 })
    await stream.close()
    await sessionGone(worker, job)
    assert.ok(worker.logs.lines().some((line) => line.reason === 'the submitter closed the job stream'))
  })

  it('answers frames out of place with Failed PROTOCOL and keeps the session', async (t) => {
    const { worker, submitter, job, stream } = await oneLease(t, { segments: 2 })
    const expectProtocol = async (pattern: RegExp): Promise<void> => {
      const failure = await stream.failed(`a PROTOCOL failure like ${String(pattern)}`)
      assert.equal(failure.code, FailCode.PROTOCOL)
      assert.match(failure.message, pattern)
    }
    const outside = assignFrame(job, [1])
    const last = job.segments[1]
    // a copy: the fixture's own spec is assigned in order below
    if (outside.assign !== undefined && last !== undefined)
      outside.assign.segments = [{ ...last, inputLength: last.inputLength + 1n }]
    await stream.send(outside)
    await expectProtocol(/lies outside the input/)
    await stream.send(assignFrame(job, [0], { inputSize: 1n }))
    await expectProtocol(/another input size/)
    await stream.send(assignFrame(job, [0], { inputMode: InputMode.PATH }))
    await expectProtocol(/path mode without an input name/)
    await stream.send({ aggregate: { contributions: [new Uint8Array(32)] } })
    await expectProtocol(/before the challenge/)
    await stream.send({
      fetch: { segment: 0, peerId: worker.peerId, addrs: [], size: 1n, sha256: new Uint8Array(32) }
    })
    await expectProtocol(/FetchProof for segment 0 out of place/)
    await stream.send(reserveFrame(job))
    await expectProtocol(/a second Reserve/)

    // still alive: an Assign in order is worked on
    await contribute(submitter, worker, stream, job, [0, 1])
    await stream.send({ challenge: { challenge: new Uint8Array(16) } })
    await expectProtocol(/not 32 bytes/)
    await stream.send({ challenge: { challenge: challengeOf(job) } })
    await stream.send({ challenge: { challenge: challengeOf(job) } })
    await expectProtocol(/a second Challenge/)
    await stream.send({ release: {} })
    await sessionGone(worker, job)
  })

  it('opens no later phase before its time: Challenge, AggregateRole and FetchProof without an Assign dial nobody', async (t) => {
    const h = await harness(t)
    const [worker, holder] = [await h.worker(), await h.worker()]
    const submitter = await h.submitter()
    const job = await h.job({ segments: 1 })
    const stream = await leased(submitter, worker, job)
    const target = multiaddr(`/ip4/10.0.0.7/tcp/22/p2p/${holder.peerId}`)
    await stream.send({ challenge: { challenge: challengeOf(job) } })
    await stream.send({ aggregate: { contributions: [Buffer.from(contributionOf(job, 0), 'hex')] } })
    await stream.send({
      fetch: {
        segment: 0,
        peerId: holder.peerId,
        addrs: [target.bytes],
        size: 1n,
        sha256: new Uint8Array(32)
      }
    })
    const refusals = [
      await stream.failed('the refused Challenge'),
      await stream.failed('the refused AggregateRole'),
      await stream.failed('the refused FetchProof')
    ]
    assert.deepEqual(
      refusals.map((failure) => [failure.code, failure.message]),
      [
        [FailCode.PROTOCOL, 'Challenge before any Assign'],
        [FailCode.PROTOCOL, 'AggregateRole before the challenge, or without contributions'],
        [FailCode.PROTOCOL, 'FetchProof for segment 0 out of place']
      ]
    )
    assert.deepEqual(worker.node.dialled, [], 'nobody was dialled')
    assert.equal(worker.node.learned.size, 0, 'no address was taken from the submitter')

    // A challenge after the Assign, but no proof yet: still no aggregation here
    const gate = Promise.withResolvers<void>()
    worker.prover.script = { prove: () => ({ do: 'wait', until: gate.promise }) }
    await contribute(submitter, worker, stream, job, [0])
    await stream.send({ challenge: { challenge: challengeOf(job) } })
    await stream.send({ aggregate: { contributions: [Buffer.from(contributionOf(job, 0), 'hex')] } })
    const early = await stream.failed('the refused AggregateRole before any proof')
    assert.equal(early.message, 'AggregateRole before this peer proved any segment')
    gate.resolve()
    await stream.send({ release: {} })
    await sessionGone(worker, job)
  })

  it('dials a proof’s holder only at addresses of its own, and says nothing of what a failed pull met', async (t) => {
    const { h, worker, submitter, job, stream } = await oneLease(t, { segments: 2 })
    await contribute(submitter, worker, stream, job, [0])
    await stream.send({ challenge: { challenge: challengeOf(job) } })
    await provedAll(stream, [0])
    const contributions = job.segments.map((spec) => Buffer.from(contributionOf(job, spec.index), 'hex'))
    await stream.send({ aggregate: { contributions } })
    // a peer id nobody answers as, an address of its own, one of another peer and a relay through it
    const absent = (await h.submitter()).peerId
    const own = multiaddr(`/ip4/127.0.0.1/tcp/9/p2p/${absent}`)
    const others = [
      multiaddr(`/ip4/10.0.0.7/tcp/22/p2p/${submitter.peerId}`),
      multiaddr(`/ip4/10.0.0.7/tcp/4001/p2p/${submitter.peerId}/p2p-circuit/p2p/${absent}`)
    ]
    await stream.send({
      fetch: {
        segment: 1,
        peerId: absent,
        addrs: [own.bytes, ...others.map((addr) => addr.bytes)],
        size: 1n,
        sha256: new Uint8Array(32)
      }
    })
    const failure = await stream.failed('the failed pull')
    assert.deepEqual(
      [failure.code, failure.segment, failure.message],
      [FailCode.TRANSFER, 1, "segment 1's proof could not be pulled from its peer"],
      'what the dial met stays on this peer'
    )
    assert.deepEqual(worker.node.dialled, [absent], 'the holder, by its id')
    assert.deepEqual(worker.node.learned.get(absent)?.map(String), [own.toString()])
    await stream.send({ release: {} })
    await sessionGone(worker, job)
  })

  it('checks a path-mode input against every segment’s SHA-256 in its own inputs folder', async (t) => {
    const h = await harness(t)
    const [good, stale, bare] = [await h.worker(), await h.worker(), await h.worker()]
    const submitter = await h.submitter()
    const job = await h.job({ segments: 2 })
    await copyFile(job.inputPath, join(good.inputsFolder, 'block.bin'))
    const changed = Buffer.from(job.input)
    const at = Number(job.segments[1]?.inputOffset)
    changed[at] = (changed[at] ?? 0) ^ 1
    await writeFile(join(stale.inputsFolder, 'block.bin'), changed)
    const pathMode = { inputMode: InputMode.PATH, inputName: 'block.bin', hints: false }

    const toGood = await leased(submitter, good, job)
    await toGood.send(assignFrame(job, [0, 1], pathMode))
    const contributions = new Map<number, string>()
    await toGood.next('both contributions', (frame) => {
      if (frame.contribution !== undefined)
        contributions.set(frame.contribution.segment, hex(frame.contribution.contribution))
      return contributions.size === 2
    })
    assert.deepEqual(
      [contributions.get(0), contributions.get(1)],
      [contributionOf(job, 0), contributionOf(job, 1)]
    )

    const toStale = await leased(submitter, stale, job)
    await toStale.send(assignFrame(job, [0, 1], pathMode))
    const differs = await toStale.failed('the mismatch of segment 1')
    assert.deepEqual([differs.code, differs.segment], [FailCode.INPUT, 1])
    assert.match(differs.message, /differs from the submitter's in segment 1/)

    const toBare = await leased(submitter, bare, job)
    await toBare.send(assignFrame(job, [0], pathMode))
    const missing = await toBare.failed('the missing input')
    assert.equal(missing.code, FailCode.INPUT)
    assert.match(missing.message, /does not exist in the inputs folder/)
    assert.doesNotMatch(
      missing.message,
      new RegExp(bare.inputsFolder),
      'the folder is this machine’s business'
    )
    for (const stream of [toGood, toStale, toBare]) await stream.send({ release: {} })
  })

  it('relays the prover’s progress on its own segments and its aggregation, nothing else', async (t) => {
    const { worker, submitter, job, stream } = await oneLease(t, { segments: 1 })
    await contribute(submitter, worker, stream, job, [0])
    // the session's name for its prover work: the job id is bound to the proofs, not to a session
    const own = worker.prover.callsOf('contribute')[0]?.job ?? ''
    assert.notEqual(own, job.jobId)
    worker.prover.progress({ job: own, phase: 'plan', done: 1, total: 2 })
    worker.prover.progress({ job: job.jobId, phase: 'prove', segment: 0, done: 1, total: 9 })
    worker.prover.progress({ job: job.jobId, phase: 'aggregate', done: 1, total: 9 })
    worker.prover.progress({ job: own, phase: 'prove', segment: 0, done: 1, total: 2 })
    const progress = (await stream.next('a Progress frame', (frame) => frame.progress !== undefined)).progress
    assert.deepEqual(progress, { phase: 'prove', segment: 0, done: 1, total: 2 })
    assert.equal(
      stream.seen.filter((frame) => frame.progress !== undefined).length,
      1,
      'plan progress, and progress of work that is not this session’s, are not relayed'
    )
    await stream.send({ release: {} })
    await sessionGone(worker, job)
  })
})
