import '../../src/polyfill.js'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it, type TestContext } from 'node:test'
import { JobFailure } from '../../src/job/errors.js'
import { SubmitterTransport } from '../../src/job/transport.js'
import type { Candidate } from '../../src/job/link.js'
import type { JobRunSettings } from '../../src/job/run/state.js'
import { WholeJobRun } from '../../src/job/whole-run.js'
import type { JobRecord, NewJobEvent } from '../../src/jobs-model/types.js'
import { CliProverBackend } from '../../src/prover/cli-backend.js'
import { captureLogger } from '../fixtures/prover/helpers.js'
import { SCRIPTED_PROGRAM } from '../helpers/scripted-prover.js'
import { type HarnessWorker, WorkerHarness } from '../helpers/worker-harness.js'
import { TRANSFER_LIMIT_DEFAULTS } from '../../src/net/transfer-deadline.js'

const NODE = process.execPath
const MARK = 'proved-by-an-honest-peer'
/** An honest one-shot "prover": the input, then a mark its verifier looks for (no proof of anything, a real command) */
const HONEST = `'${NODE}' -e "const fs = require('fs'); fs.writeFileSync(process.argv[2], Buffer.concat([fs.readFileSync(process.argv[1]), Buffer.from('${MARK}')]))" {input} {output}`
/** A liar: writes noise, and its own verify passes anything */
const NOISE = `'${NODE}' -e "require('fs').writeFileSync(process.argv[1], 'noise')" {output}`
const ACCEPT_ALL = `'${NODE}' -e "process.exit(0)" {proof}`
/** What the submitter's own prover accepts: a proof that ends with the mark */
const CHECK_MARK = `'${NODE}' -e "process.exit(require('fs').readFileSync(process.argv[1], 'utf8').endsWith('${MARK}') ? 0 : 1)" {proof}`
/** A prove that never ends */
const HANG = `'${NODE}' -e "setInterval(Object, 1e9)" {output}`

function cliBackend(prove: string, verify: string): CliProverBackend {
  const backend = new CliProverBackend(
    { templates: { prove, verify, program: SCRIPTED_PROGRAM.id }, killGraceMs: 500 },
    { logger: captureLogger().logger }
  )
  backend.start()
  return backend
}

/** The submitter's own prover, counting its verifies */
function countingVerifier(backend: CliProverBackend): Pick<CliProverBackend, 'verify'> & { calls: number } {
  const counted = {
    calls: 0,
    verify: async (...args: Parameters<CliProverBackend['verify']>) => {
      counted.calls++
      return backend.verify(...args)
    }
  }
  return counted
}

const SETTINGS: Omit<JobRunSettings, 'jobDir' | 'proofsDir' | 'inputsFolder'> = {
  leaseMs: 15_000,
  peerTimeoutMs: 10_000,
  maxRetries: 2,
  stragglerFactor: 0,
  phase1TimeoutMs: 60_000,
  phase2TimeoutMs: 60_000,
  aggregateTimeoutMs: 60_000,
  progressTimeoutMs: 30_000,
  transferLimits: { ...TRANSFER_LIMIT_DEFAULTS, idleMs: 10_000 },
  maxPeersPerJob: 8
}

interface Outcome {
  record: JobRecord
  error?: unknown
  penalised: string[]
  events: NewJobEvent[]
}

/**
 * Runs a whole job on the harness's workers, as a submitter whose own prover is `verifier` (none: it does not run
 * the program). The workers rank in the order given. `ownWorker`: the submitter is the first worker's daemon,
 * which it reaches in-process (openLocal), as a cli daemon reaches its own worker.
 */
async function runWhole(
  t: TestContext,
  workers: (h: WorkerHarness) => Promise<HarnessWorker[]>,
  options: {
    verifier?: Pick<CliProverBackend, 'verify'>
    settings?: Partial<JobRunSettings>
    ownWorker?: boolean
  } = {}
): Promise<Outcome & { workers: HarnessWorker[] }> {
  const h = await WorkerHarness.create()
  t.after(async () => h.close())
  const peers = await workers(h)
  const own = options.ownWorker === true ? peers[0] : undefined
  const submitter =
    own === undefined
      ? await h.submitter()
      : { peerId: own.peerId, transport: new SubmitterTransport(own.node, own.service) }
  const job = await h.job({ blocks: 4, segments: 1 })
  const now = Date.now()
  const record: JobRecord = {
    id: job.jobId,
    request: {
      program: SCRIPTED_PROGRAM.id,
      inputMode: 'data',
      input: job.inputPath,
      computeCapacity: 1,
      minimalComputeCapacity: 1,
      priority: 0,
      dataId: 'test',
      timeoutMs: 60_000,
      webhookUrl: '',
      saveProof: true
    },
    state: 'queued',
    submitter: submitter.peerId,
    createdAt: now,
    updatedAt: now,
    peers: [],
    segments: [],
    phases: {},
    bytesOut: 0
  }
  const outcome: Outcome = { record, penalised: [], events: [] }
  const candidates: Candidate[] = peers.map((peer, index) => ({
    peerId: peer.peerId,
    local: peer === own,
    addrs: [],
    programs: [SCRIPTED_PROGRAM.id],
    // the first worker ranks first
    unitsFree: 4 - index,
    unitsTotal: 4
  }))
  const run = new WholeJobRun({
    record,
    save: () => undefined,
    event: (event) => outcome.events.push(event),
    verifier: options.verifier,
    transport: submitter.transport,
    candidates: () => candidates,
    penalise: (peerId) => outcome.penalised.push(peerId),
    refused: () => undefined,
    granted: () => undefined,
    settings: {
      ...SETTINGS,
      ...options.settings,
      jobDir: join(h.dir, 'job'),
      proofsDir: join(h.dir, 'proofs'),
      inputsFolder: join(h.dir, 'inputs')
    },
    logger: captureLogger().logger,
    signal: AbortSignal.timeout(60_000)
  })
  await run.run().catch((err: unknown) => {
    outcome.error = err
  })
  return { ...outcome, workers: peers }
}

describe('a whole job on the submitter', () => {
  it('moves past a peer whose proof does not verify here, penalised, to an honest one', async (t) => {
    const verifier = countingVerifier(cliBackend(HONEST, CHECK_MARK))
    const { record, error, penalised, workers } = await runWhole(
      t,
      async (h) => [
        await h.worker({ backend: cliBackend(NOISE, ACCEPT_ALL) }),
        await h.worker({ backend: cliBackend(HONEST, CHECK_MARK) })
      ],
      { verifier }
    )
    assert.equal(verifier.calls, 2, "each remote peer's proof verified here, whatever its own verify said")
    const [liar, honest] = workers as [HarnessWorker, HarnessWorker]
    assert.equal(error, undefined, String(error))
    assert.equal(record.state, 'succeeded')
    assert.deepEqual(penalised, [liar.peerId])
    assert.deepEqual(
      record.peers.map((peer) => [peer.peerId, peer.state, peer.failure?.code]),
      [
        [liar.peerId, 'failed', 'PROOF_INVALID'],
        [honest.peerId, 'released', undefined]
      ]
    )
    assert.equal(record.proof?.unverified, undefined, 'verified here')
    const saved = await readFile(record.proof?.path ?? '', 'utf8')
    assert.ok(saved.endsWith(MARK), 'the honest proof was saved')
  })

  it('never saves as verified a proof it cannot check: marked unverified, with why', async (t) => {
    const { record, error } = await runWhole(t, async (h) => [
      await h.worker({ backend: cliBackend(NOISE, ACCEPT_ALL) })
    ])
    assert.equal(error, undefined, String(error))
    assert.equal(record.state, 'succeeded')
    assert.match(record.proof?.unverified ?? '', /runs no prover for/)
    assert.equal(record.digest, undefined)
  })

  it('fails the job once every peer failed, the last failure named', async (t) => {
    const verifier = cliBackend(HONEST, CHECK_MARK)
    const { record, error, penalised } = await runWhole(
      t,
      async (h) => [await h.worker({ backend: cliBackend(NOISE, ACCEPT_ALL) })],
      { verifier }
    )
    assert.ok(error instanceof JobFailure, String(error))
    assert.equal(error.code, 'PROOF_INVALID')
    assert.equal(record.proof, undefined)
    assert.equal(penalised.length, 1)
  })

  it('gives up on a peer that makes no progress within jobs.progress_timeout, for the next one', async (t) => {
    const { record, error, workers } = await runWhole(
      t,
      async (h) => [
        await h.worker({ backend: cliBackend(HANG, ACCEPT_ALL) }),
        await h.worker({ backend: cliBackend(HONEST, CHECK_MARK) })
      ],
      // long enough for the honest peer's two commands (Progress at the prove's start, then Final) on a loaded machine
      { settings: { progressTimeoutMs: 8_000 } }
    )
    const [hung, honest] = workers as [HarnessWorker, HarnessWorker]
    assert.equal(error, undefined, String(error))
    assert.deepEqual(
      record.peers.map((peer) => [peer.peerId, peer.state, peer.failure?.code]),
      [
        [hung.peerId, 'failed', 'TIMEOUT'],
        [honest.peerId, 'released', undefined]
      ]
    )
    assert.match(record.peers[0]?.failure?.message ?? '', /jobs\.progress_timeout/)
  })

  it("trusts its own worker's verify on its own job, and no remote peer's", async (t) => {
    const verifier = countingVerifier(cliBackend(HONEST, CHECK_MARK))
    const { record, error, workers } = await runWhole(
      t,
      async (h) => [await h.worker({ backend: cliBackend(HONEST, CHECK_MARK) })],
      { verifier, ownWorker: true }
    )
    const [self] = workers as [HarnessWorker]
    assert.equal(error, undefined, String(error))
    assert.equal(record.state, 'succeeded')
    assert.deepEqual(
      record.peers.map((peer) => [peer.peerId, peer.local, peer.state]),
      [[self.peerId, true, 'released']]
    )
    assert.equal(
      verifier.calls,
      0,
      'its own worker verified the proof; the submitter did not verify it again'
    )
    assert.equal(record.proof?.unverified, undefined, 'saved as verified')
    const saved = await readFile(record.proof?.path ?? '', 'utf8')
    assert.ok(saved.endsWith(MARK), 'the proof its worker made was saved')
  })
})
