import '../../src/polyfill.js'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import {
  InputMode,
  type PeerFrame,
  type SegmentSpec,
  type SubmitterFrame
} from '../../protocols/job/pb/job.js'
import { type FrameDuplex, memoryDuplexPair } from '../../src/net/frame-duplex.js'
import { createProverBackend } from '../../src/prover/index.js'
import type { ProverSupervisor } from '../../src/prover/supervisor.js'
import type { Segment } from '../../src/prover/types.js'
import type { ByteSink } from '../../src/files/file-sink.js'
import { WorkerSession } from '../../src/worker/session/session.js'
import { segmentOf } from '../../src/prover/prove-job.js'
import { captureLogger, layoutFor, repoRoot, waitFor, within } from '../fixtures/prover/helpers.js'

const binary = join(repoRoot, 'native/target/release/proofmesh-prover')
const skip = existsSync(binary) ? false : `no prover binary at ${binary}; run cargo build --release`
const PROGRAM = 'rescue-sponge'
const JOB = 'job-late-assign'

let dir: string
let input: Buffer
let hints: Buffer
let segments: Segment[]
let prover: ProverSupervisor

function specOf(segment: Segment): SegmentSpec {
  return {
    index: segment.index,
    startBlock: BigInt(segment.startBlock),
    blockCount: BigInt(segment.blockCount),
    inputOffset: BigInt(segment.inputOffset),
    inputLength: BigInt(segment.inputLength),
    inputSha256: new Uint8Array(createHash('sha256').update(sliceOf(segment)).digest())
  }
}

function sliceOf(segment: Segment): Buffer {
  return input.subarray(segment.inputOffset, segment.inputOffset + segment.inputLength)
}

function assignOf(...assigned: Segment[]): SubmitterFrame {
  return {
    assign: {
      inputSize: BigInt(input.byteLength),
      inputMode: InputMode.DATA,
      inputName: '',
      hints: true,
      segments: assigned.map(specOf)
    }
  }
}

async function deliver(sink: ByteSink, bytes: Buffer): Promise<void> {
  const signal = AbortSignal.timeout(10_000)
  await sink.write(bytes, signal)
  await sink.finish(bytes.byteLength, createHash('sha256').update(bytes).digest(), signal)
}

/** A settled-or-not probe: true once `promise` settles */
function settledFlag(promise: Promise<unknown>): () => boolean {
  let settled = false
  promise.then(
    () => (settled = true),
    () => (settled = true)
  )
  return () => settled
}

/** A worker session of JOB on the real prover, with the submitter's end of its job stream */
function openSession(folder: string) {
  const [peerEnd, submitterEnd] = memoryDuplexPair<SubmitterFrame, PeerFrame>()
  const workDir = join(dir, folder)
  let endedWith: string | undefined
  const session = new WorkerSession({
    jobId: JOB,
    selfId: 'self',
    lease: {
      leaseId: `lease-${folder}`,
      jobId: JOB,
      submitter: 'submitter',
      units: 1,
      leaseMs: 60_000,
      grantedAt: Date.now(),
      expiresAt: Date.now() + 60_000
    },
    program: PROGRAM,
    inputSize: input.byteLength,
    workDir,
    inputsFolder: dir,
    assignWaitMs: 10_000,
    firstAssignDeadlineMs: 60_000,
    prover,
    channel: peerEnd,
    fetcher: {
      fetchProof: async () => {
        throw new Error('this test does not aggregate')
      }
    },
    logger: captureLogger().logger,
    renewLease: () => undefined,
    keepAliveMs: 60_000,
    onEnd: (reason) => (endedWith = reason)
  })
  return { session, submitterEnd, workDir, ended: () => endedWith }
}

/** Frames from the session until `done` says so; a Failed frame fails the test */
async function readUntil(
  submitterEnd: FrameDuplex<PeerFrame, SubmitterFrame>,
  done: (frame: PeerFrame) => boolean,
  what: string
): Promise<void> {
  const signal = AbortSignal.timeout(60_000)
  for (;;) {
    const frame = await within(submitterEnd.read(signal), 60_000, what)
    assert.ok(frame !== undefined, 'the session closed the job stream early')
    assert.equal(frame.failed, undefined, `the session failed: ${frame.failed?.message}`)
    if (done(frame)) return
  }
}

describe('a worker session on the real prover', { skip, timeout: 120_000 }, () => {
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'proofmesh-worker-session-'))
    // 2048 blocks: the layout for two equal peers is two power-of-two segments, one each
    input = randomBytes(56 * 2048)
    await writeFile(join(dir, 'input'), input)
    prover = createProverBackend(
      { backend: 'npp', command: [binary, 'serve'] },
      { logger: captureLogger().logger }
    )
    await prover.start()
    const layout = await layoutFor(prover.info.programs, PROGRAM, join(dir, 'input'), [
      { id: 'A', units: 1 },
      { id: 'B', units: 1 }
    ])
    assert.equal(layout.length, 2)
    segments = layout.map(segmentOf)
    await prover.plan({
      job: JOB,
      program: PROGRAM,
      input: { path: join(dir, 'input'), offset: 0 },
      segments,
      hintsOut: join(dir, 'hints')
    })
    hints = await readFile(join(dir, 'hints'))
  })

  after(async () => {
    await prover?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('takes a slice that overtakes its Assign (a takeover to a peer that already has work)', async () => {
    const { session, submitterEnd, workDir, ended } = openSession('work')
    const running = session.run()
    const signal = AbortSignal.timeout(60_000)
    const [first, second] = segments as [Segment, Segment]

    await submitterEnd.write(assignOf(first), signal)
    await deliver(await within(session.hintsSink(), 5_000, 'the hints sink'), hints)
    await deliver(await within(session.sliceSink(headerOf(first)), 5_000, 'segment 0 sink'), sliceOf(first))

    // Segment 1's slice comes before the Assign that gives segment 1 to this peer: it waits for it
    const early = session.sliceSink(headerOf(second))
    const earlySettled = settledFlag(early)
    await new Promise((resolve) => setTimeout(resolve, 200))
    assert.equal(earlySettled(), false, 'the slice waits for its Assign instead of being refused')
    await submitterEnd.write(assignOf(second), signal)
    await deliver(await within(early, 5_000, 'segment 1 sink after its Assign'), sliceOf(second))

    // A slice of another job is refused at once, without waiting
    await assert.rejects(
      within(session.sliceSink({ ...headerOf(second), jobId: 'another-job' }), 1_000, 'a refusal'),
      /another job/
    )

    // Both segments contribute, and their contributions are the prover's own for those slices
    const contributions = new Map<number, string>()
    await readUntil(
      submitterEnd,
      (frame) => {
        const { contribution } = frame
        if (contribution !== undefined)
          contributions.set(contribution.segment, Buffer.from(contribution.contribution).toString('hex'))
        return contributions.size === 2
      },
      'both Contributions'
    )
    await submitterEnd.write({ release: {} }, signal)
    await within(running, 10_000, 'the session to stop reading')
    await waitFor(() => ended() !== undefined, 10_000, 'the session to end')
    assert.equal(ended(), 'released')
    assert.equal(existsSync(workDir), false, 'the work folder is removed at the end')

    for (const segment of segments) {
      const direct = await prover.contribute({
        job: JOB,
        program: PROGRAM,
        inputSize: input.byteLength,
        segment,
        input: { path: join(dir, 'input'), offset: 0 },
        hints: join(dir, 'hints')
      })
      assert.equal(contributions.get(segment.index), direct.contribution)
    }
  })

  it('drops a withdrawn copy waiting for its input, without failing, and goes on with its other work', async () => {
    const { session, submitterEnd } = openSession('withdrawn')
    const running = session.run()
    const signal = AbortSignal.timeout(60_000)
    const [first, second] = segments as [Segment, Segment]

    // A backup copy of segment 1 whose input never comes: a Forget withdraws it (another copy won)
    await submitterEnd.write(assignOf(second), signal)
    await deliver(await within(session.hintsSink(), 5_000, 'the hints sink'), hints)
    await submitterEnd.write({ forget: { segments: [second.index] } }, signal)
    // Then a takeover of segment 0: its contribution comes, not stuck behind segment 1's input
    await submitterEnd.write(assignOf(first), signal)
    await deliver(await within(session.sliceSink(headerOf(first)), 5_000, 'segment 0 sink'), sliceOf(first))
    await readUntil(
      submitterEnd,
      (frame) => frame.contribution?.segment === first.index,
      "segment 0's contribution"
    )
    await submitterEnd.write({ release: {} }, signal)
    await within(running, 10_000, 'the session to stop reading')
  })
})

/** The inputs protocol's header for a segment's slice, as the submitter sends it */
function headerOf(segment: Segment) {
  const spec = specOf(segment)
  return {
    jobId: JOB,
    segment: spec.index,
    offset: spec.inputOffset,
    length: spec.inputLength,
    total: BigInt(input.byteLength),
    sha256: spec.inputSha256
  }
}
