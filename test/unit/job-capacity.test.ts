import '../../src/polyfill.js'
import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it, type TestContext } from 'node:test'
import { capacityShortfall, jobCapacity } from '../../src/job/capacity-rule.js'
import type { Candidate } from '../../src/job/link.js'
import { JobService } from '../../src/job/service.js'
import { SubmitterCaps } from '../../src/job/submitter-caps.js'
import type { JobRecord } from '../../src/jobs-model/types.js'
import { TRANSFER_LIMIT_DEFAULTS } from '../../src/net/transfer-deadline.js'
import { CliProverBackend } from '../../src/prover/cli-backend.js'
import { Journal } from '../../src/store/index.js'
import { captureLogger } from '../fixtures/prover/helpers.js'
import { WorkerHarness } from '../helpers/worker-harness.js'

function peer(peerId: string, unitsTotal: number, unitsFree = unitsTotal): Candidate {
  return { peerId, local: false, addrs: [], programs: ['p'], unitsTotal, unitsFree }
}

const request = (min: number) => ({ program: 'p', computeCapacity: min, minimalComputeCapacity: min })

describe('the scheduler capacity rule', () => {
  // three 2-unit peers: 6 units over the network, 2 on any one of them
  const threeSmall = [
    peer('peer-a-000000000001', 2),
    peer('peer-b-000000000002', 2, 1),
    peer('peer-c-000000000003', 2, 0)
  ]
  const uncapped = (_peerId: string, units: number): number => units

  it('adds the peers up for a segmented job', () => {
    const capacity = jobCapacity(threeSmall, uncapped, false)
    assert.deepEqual(capacity, { total: 6, grantable: 6, free: 3 })
    assert.equal(capacityShortfall(request(4), capacity, false), undefined)
    assert.match(
      capacityShortfall(request(7), capacity, false) ?? '',
      /requested 7 units .*network has 6 for p$/
    )
  })

  it('holds a whole job to the largest single peer: one no peer can hold fails, naming that peer', () => {
    const capacity = jobCapacity(threeSmall, uncapped, true)
    assert.equal(capacity.total, 2)
    assert.equal(capacity.grantable, 2)
    assert.equal(capacity.free, 2, 'the freest single peer, not the sum of free units')
    const why = capacityShortfall(request(4), capacity, true)
    assert.match(
      why ?? '',
      /requested 4 units .*whole job .*runs on one peer.*largest running p, …00000001, has 2$/
    )
    assert.equal(capacityShortfall(request(2), capacity, true), undefined)
  })

  it('places a whole job once one peer large enough appears', () => {
    const capacity = jobCapacity([...threeSmall, peer('peer-d-000000000004', 8, 5)], uncapped, true)
    assert.deepEqual(capacity.largest, { peerId: 'peer-d-000000000004', units: 8, grantable: 8 })
    assert.equal(capacity.free, 5)
    assert.equal(capacityShortfall(request(4), capacity, true), undefined)
  })

  it("applies each peer's stated cap on this submitter to the one peer a whole job runs on", () => {
    const caps = new SubmitterCaps()
    // the 8-unit peer lets this submitter hold 3 at once; the 4-unit one states no cap
    caps.granted('peer-big-00000000008', 3)
    const candidates = [peer('peer-big-00000000008', 8), peer('peer-mid-00000000004', 4)]
    const limit = (peerId: string, units: number): number => caps.limit(peerId, units)
    const capacity = jobCapacity(candidates, limit, true)
    assert.deepEqual(capacity.largest, { peerId: 'peer-mid-00000000004', units: 4, grantable: 4 })
    assert.equal(capacityShortfall(request(4), capacity, true), undefined)
    caps.granted('peer-mid-00000000004', 2)
    const capped = jobCapacity(candidates, limit, true)
    assert.equal(capped.grantable, 3, 'the most any one peer lets this submitter hold, not 3 + 2')
    assert.match(
      capacityShortfall(request(4), capped, true) ?? '',
      /largest running p, …00000008, has 8, of which it lets this submitter hold 3 at once/
    )
    // the same peers add up for a segmented job: 3 + 2 hold it
    assert.equal(capacityShortfall(request(4), jobCapacity(candidates, limit, false), false), undefined)
  })

  it('says so when no peer proving whole jobs runs the program', () => {
    const capacity = jobCapacity([], uncapped, true)
    assert.deepEqual(capacity, { total: 0, grantable: 0, free: 0, largest: undefined })
    assert.match(capacityShortfall(request(1), capacity, true) ?? '', /no peer proving whole jobs .* runs p$/)
  })
})

/**
 * A cli daemon's job service (its prover proves whole jobs only) whose peer table holds `peers`, all cli peers of
 * program `p`; the job asks for `units`. Returns the job as the service left it once it stopped changing.
 */
async function submitWhole(t: TestContext, peers: Candidate[], units: number): Promise<JobRecord> {
  const h = await WorkerHarness.create()
  t.after(async () => h.close())
  const submitter = await h.submitter()
  const prover = new CliProverBackend(
    { templates: { prove: 'true {input} {output}', verify: 'true {proof}', program: 'p' }, killGraceMs: 500 },
    { logger: captureLogger().logger }
  )
  prover.start()
  const journal = Journal.open(':memory:')
  const service = new JobService({
    logger: captureLogger().logger,
    journal,
    selfId: submitter.peerId,
    prover: () => prover,
    transport: submitter.transport,
    candidates: () => [],
    wholeCandidates: () => peers,
    tableWarm: () => true,
    settings: {
      leaseMs: 15_000,
      peerTimeoutMs: 10_000,
      maxRetries: 0,
      stragglerFactor: 0,
      phase1TimeoutMs: 60_000,
      phase2TimeoutMs: 60_000,
      aggregateTimeoutMs: 60_000,
      progressTimeoutMs: 30_000,
      transferLimits: TRANSFER_LIMIT_DEFAULTS,
      maxPeersPerJob: 8,
      proofsDir: join(h.dir, 'proofs'),
      inputsFolder: join(h.dir, 'inputs'),
      defaultTimeoutMs: 60_000,
      maxQueued: 10,
      maxInputBytes: 1024 * 1024,
      jobsDir: join(h.dir, 'jobs'),
      webhookUrl: '',
      saveProofs: false
    },
    scheduleIntervalMs: 20
  })
  t.after(async () => {
    await service.stop()
    journal.close()
  })
  await service.start()
  const input = join(h.dir, 'job.input')
  await writeFile(input, 'a whole job')
  const job = await service.submit({ program: 'p', inputMode: 'data', input, computeCapacity: units })
  return service.get(job.id) ?? job
}

describe('the job service, for a whole job', () => {
  // three 2-unit cli peers: 6 units in all, 2 on any one
  const small = [
    peer('peer-a-000000000001', 2),
    peer('peer-b-000000000002', 2),
    peer('peer-c-000000000003', 2)
  ]

  it('fails at once a whole job no single cli peer can hold, naming the largest', async (t) => {
    const job = await submitWhole(t, small, 4)
    assert.equal(job.state, 'failed', `the job is ${job.state}: ${job.waitingFor ?? ''}`)
    assert.equal(job.error?.code, 'CAPACITY')
    assert.match(job.error?.message ?? '', /runs on one peer, and the largest running p, …00000001, has 2$/)
  })

  it('waits for one peer with the units free, not for their sum', async (t) => {
    const job = await submitWhole(t, [peer('peer-big-00000000008', 8, 3), ...small], 4)
    assert.equal(job.state, 'queued')
    assert.equal(job.waitingFor, 'needs 4 units on one peer, 3 free on the freest')
  })
})
