/**
 * A worker's memory under a submitter that floods its leases with Assign frames (issue 14: 40 Assigns of 16,384
 * segments on one lease took a worker from 113 MB to 718 MB, and the memory stayed after the session ended). The
 * worker is the daemon's own WorkerService with a scripted prover on a memory network (test/helpers/worker-harness);
 * the attacker opens `rounds` leases one after another and on each sends `frames` Assign frames of
 * MAX_SEGMENTS_PER_JOB segments, each followed by a Forget of them all (so that every frame is one the worker would
 * take, until the session's total ends it). Prints this process's RSS before, at its peak, and after the sessions
 * ended (after a GC when run with --expose-gc).
 *
 *   node --expose-gc dist/test/bench/assign-flood-rss.js [rounds=5] [frames=40]
 */
import '../../src/polyfill.js'
import { MAX_SEGMENTS_PER_JOB } from '../../protocols/job/constants.js'
import type { SegmentSpec, SubmitterFrame } from '../../protocols/job/pb/job.js'
import { waitFor } from '../fixtures/prover/helpers.js'
import { assignFrame, HARNESS_WAIT_MS, WorkerHarness } from '../helpers/worker-harness.js'

const rounds = Number(process.argv[2] ?? 5)
const frames = Number(process.argv[3] ?? 40)

const rssMb = (): number => Math.round(process.memoryUsage().rss / 1e6)
const settle = async (): Promise<void> => {
  for (let i = 0; i < 3; i++) {
    globalThis.gc?.()
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

const h = await WorkerHarness.create()
try {
  const worker = await h.worker({ units: 8, security: { maxUnitsPerSubmitter: 8 } })
  const attacker = await h.submitter()
  await settle()
  const before = rssMb()
  let peak = before
  const sample = setInterval(() => (peak = Math.max(peak, rssMb())), 20)
  const indices = Array.from({ length: MAX_SEGMENTS_PER_JOB }, (_, i) => i)
  let accepted = 0
  for (let round = 0; round < rounds; round++) {
    const job = await h.job({ segments: 1 })
    const { stream } = await attacker.reserve(worker, job)
    const flood: SubmitterFrame = assignFrame(job, [])
    flood.assign?.segments.push(
      ...indices.map((index) => ({ ...(job.segments[0] as SegmentSpec), index, inputLength: 0n }))
    )
    // The attacker reads what the worker says meanwhile and stops once its stream ends, as a socket would stop it:
    // frames written after that would only fill this process's own buffers, not the worker's
    let ended = false
    const reading = stream.end('the worker to end the flooded session').finally(() => (ended = true))
    for (let frame = 0; frame < frames && !ended; frame++) {
      const sent = await stream
        .send(flood)
        .then(async () => stream.send({ forget: { segments: indices } }))
        .then(
          () => true,
          () => false
        )
      if (!sent) break
      accepted++
    }
    await reading
  }
  await waitFor(() => worker.service.activeSessions() === 0, HARNESS_WAIT_MS, 'every session to end')
  clearInterval(sample)
  await settle()
  const after = rssMb()
  const failures = worker.logs
    .lines()
    .filter(
      (line) => line.msg === 'job session ended' && String(line.reason).startsWith('over a session cap')
    )
  console.log(
    JSON.stringify({
      rounds,
      framesPerRound: frames,
      segmentsPerFrame: MAX_SEGMENTS_PER_JOB,
      framesWritten: accepted,
      sessionsEndedOverCap: failures.length,
      rssMb: { before, peak, after, peakGrowth: peak - before, heldAfter: after - before },
      gc: globalThis.gc !== undefined
    })
  )
} finally {
  await h.close()
}
