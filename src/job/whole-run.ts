import { join } from 'node:path'
import { makeDirectory } from '../config/directories.js'
import type { JobPhase, JobState } from '../jobs-model/states.js'
import type { JobRecord, NewJobEvent } from '../jobs-model/types.js'
import type { Logger } from '../log/index.js'
import { toError } from '../net/framed-stream.js'
import type { ProverBackend } from '../prover/types.js'
import type { LeaseGrant, LeaseRequest } from '../worker/leases.js'
import { CapacityShortError, JobFailure } from './errors.js'
import { hashSlices, writeAtomically } from './files.js'
import { jobInputFile } from './input-file.js'
import { endPhase, enterState } from './phases.js'

/** The units of this peer a whole-job run holds, booked in the same LeaseBook as the leases other peers take */
export interface OwnUnits {
  grant(request: LeaseRequest): LeaseGrant
  end(leaseId: string, reason: string): void
}

export interface WholeJobRunContext {
  record: JobRecord
  selfId: string
  save(): void
  event(event: NewJobEvent): void
  prover: ProverBackend
  units: OwnUnits
  settings: { jobDir: string; proofsDir: string; inputsFolder: string }
  logger: Logger
  /** Aborted on cancel or when the job's time is up; its reason is a JobFailure */
  signal: AbortSignal
}

/**
 * A job proved whole on this peer: what a prover with only a one-shot command line (the cli backend) can do. It
 * books this peer's units (so that its advert shows them taken), proves the whole input in one call, verifies the
 * proof with the same prover and saves it. The record has one segment, the whole input, on this peer.
 */
export class WholeJobRun {
  private readonly ctx: WholeJobRunContext
  private readonly log: Logger

  constructor(ctx: WholeJobRunContext) {
    this.ctx = ctx
    this.log = ctx.logger.child({ component: 'job', job: ctx.record.id })
  }

  private get record(): JobRecord {
    return this.ctx.record
  }

  /** Resolves once the proof is verified and saved; throws JobFailure, or CapacityShortError to requeue */
  async run(): Promise<void> {
    const { ctx, record } = this
    this.setState('reserving', 'reserve')
    const { computeCapacity, minimalComputeCapacity, timeoutMs } = record.request
    const grant = ctx.units.grant({
      jobId: record.id,
      submitter: ctx.selfId,
      units: computeCapacity,
      minUnits: minimalComputeCapacity,
      // the job's own deadline ends it sooner; the lease is ended explicitly below whatever happens
      leaseMs: timeoutMs
    })
    if (!grant.ok) throw new CapacityShortError(grant.message, 0)
    const { lease } = grant
    record.peers = [
      {
        peerId: ctx.selfId,
        local: true,
        units: lease.units,
        leaseId: lease.leaseId,
        state: 'reserved',
        bytesSent: 0
      }
    ]
    this.endPhase('reserve')
    let outcome = 'the job failed'
    try {
      await this.proveAndVerify()
      outcome = 'the job succeeded'
    } finally {
      const peer = record.peers[0]
      if (peer !== undefined && peer.state !== 'failed') peer.state = 'released'
      ctx.units.end(lease.leaseId, outcome)
      ctx.save()
    }
  }

  private async proveAndVerify(): Promise<void> {
    const { ctx, record } = this
    const { request } = record
    this.setState('proving', 'prove')
    makeDirectory(ctx.settings.jobDir)
    const input = await jobInputFile(record, ctx.settings.jobDir, ctx.settings.inputsFolder)
    const size = record.inputSize ?? 0
    const slices = await hashSlices(input, [{ inputOffset: 0, inputLength: size }])
    record.inputSha256 = slices.whole
    record.segments = [
      {
        index: 0,
        startBlock: 0,
        blockCount: 1,
        inputOffset: 0,
        inputLength: size,
        inputSha256: slices.whole,
        peerId: ctx.selfId,
        state: 'assigned'
      }
    ]
    const peer = record.peers[0]
    if (peer !== undefined) peer.state = 'assigned'
    ctx.save()
    const workdir = join(ctx.settings.jobDir, 'work')
    makeDirectory(workdir)
    const out = join(ctx.settings.jobDir, 'final.proof')
    const proved = await ctx.prover
      .proveJob({ job: record.id, program: request.program, input, out, workdir }, { signal: ctx.signal })
      .catch((err: unknown) => {
        ctx.signal.throwIfAborted()
        if (peer !== undefined) peer.state = 'failed'
        throw new JobFailure('PROVER', `this peer's prover failed: ${toError(err).message}`)
      })
    const segment = record.segments[0]
    if (segment !== undefined) {
      segment.state = 'proved'
      segment.proofSize = proved.size
      segment.proofSha256 = proved.sha256
      segment.proveMillis = proved.millis
    }
    if (peer !== undefined) peer.state = 'proved'
    ctx.event({ kind: 'proved', segment: 0, peer: ctx.selfId, message: 'proved' })
    this.endPhase('prove')

    this.setState('verifying', 'verify')
    const verdict = await ctx.prover.verify(
      { program: request.program, proof: out, job: record.id, input },
      { signal: ctx.signal }
    )
    if (!verdict.valid) {
      throw new JobFailure(
        'PROOF_INVALID',
        `the proof this peer made is invalid: ${verdict.reason ?? 'no reason given'}`
      )
    }
    record.digest = verdict.digest ?? proved.digest
    let path = out
    if (request.saveProof) {
      makeDirectory(ctx.settings.proofsDir)
      path = join(ctx.settings.proofsDir, `${record.id}.proof`)
      await writeAtomically(out, path)
    }
    record.proof = { size: proved.size, sha256: proved.sha256, path }
    this.log.info({ size: proved.size, millis: proved.millis }, 'whole job proved and verified')
    this.endPhase('verify')
    this.setState('succeeded')
  }

  private setState(state: JobState, phase?: JobPhase): void {
    enterState(this.record, this.ctx, state, phase)
  }

  private endPhase(phase: JobPhase): void {
    endPhase(this.record, this.ctx, phase)
  }
}
