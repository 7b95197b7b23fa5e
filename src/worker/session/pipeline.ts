import { join } from 'node:path'
import { fromString } from 'uint8arrays'
import type { SegmentSpec } from '../../../protocols/job/pb/job.js'
import type { ProofFile } from '../../../protocols/proof/codec.js'
import type { Segment } from '../../prover/types.js'
import type { SessionContext } from './context.js'
import { failureOf, WithdrawnError } from './failure.js'
import type { SegmentInputs } from './inputs.js'

/** A segment as the prover takes it, from its spec on the wire */
export function toSegment(spec: SegmentSpec): Segment {
  return {
    index: spec.index,
    startBlock: Number(spec.startBlock),
    blockCount: Number(spec.blockCount),
    inputOffset: Number(spec.inputOffset),
    inputLength: Number(spec.inputLength)
  }
}

/**
 * This peer's segments from input to proof: each one contributes once its input and the hints are here, in the
 * order they were assigned, and proves once the challenge is known, one after another; the proofs stay in the
 * job's folder for whoever pulls them.
 */
export class SegmentPipeline {
  private readonly ctx: SessionContext
  private readonly inputs: SegmentInputs
  /**
   * Segments waiting to contribute, in the order assigned; they contribute one after another. A queue rather than
   * a promise chain: an Assign of 12,000 segments chained 12,000 closures, each holding its spec, until each ran,
   * a Forget or the session's end (an Assign flood held them all); a Forget now drops its entries at once.
   */
  private readonly toContribute = new Map<number, SegmentSpec>()
  private contributing = false
  /** Segments prove one after another once the challenge is known */
  private proving: Promise<void> = Promise.resolve()
  private readonly contributed: SegmentSpec[] = []
  private readonly proveQueued = new Set<number>()
  /** Segments the submitter no longer wants from this peer (a backup copy elsewhere won) */
  private readonly forgotten = new Set<number>()
  private fixedChallenge?: string
  private readonly proofs = new Map<number, ProofFile>()

  constructor(ctx: SessionContext, inputs: SegmentInputs) {
    this.ctx = ctx
    this.inputs = inputs
  }

  /** The job's challenge (lower-case hex), once the submitter sent it */
  get challenge(): string | undefined {
    return this.fixedChallenge
  }

  /** Whether this peer proved any segment of the job */
  get provedAny(): boolean {
    return this.proofs.size > 0
  }

  /** A segment this peer proved */
  proofOf(index: number): ProofFile | undefined {
    return this.proofs.get(index)
  }

  /** An Assign's segments join the contribute queue */
  add(specs: SegmentSpec[]): void {
    for (const spec of specs) {
      this.forgotten.delete(spec.index)
      this.toContribute.set(spec.index, spec)
    }
    if (!this.contributing) void this.contributeQueued()
  }

  private async contributeQueued(): Promise<void> {
    this.contributing = true
    try {
      for (const [index, spec] of this.toContribute) {
        this.toContribute.delete(index)
        if (this.ctx.signal.aborted) return
        try {
          await this.contributeOne(spec)
        } catch (err) {
          // withdrawn while it waited for its input or ran: nobody wants this contribution any more
          if (!(err instanceof WithdrawnError) && !this.forgotten.has(index))
            this.ctx.fail(failureOf(err, index))
        }
      }
    } finally {
      this.contributing = false
      if (this.toContribute.size > 0 && !this.ctx.signal.aborted) void this.contributeQueued()
    }
  }

  /** The challenge, once: every contributed segment proves; returns why it is out of place instead, if it is */
  fixChallenge(challenge: string): string | undefined {
    if (this.fixedChallenge !== undefined) return 'a second Challenge'
    if (!/^[0-9a-f]{64}$/.test(challenge)) return 'the challenge is not 32 bytes'
    this.fixedChallenge = challenge
    this.queueProofs()
    return undefined
  }

  /** A segment withdrawn (Forget): not proved if not started; a later Assign brings it back */
  forget(index: number): void {
    this.forgotten.add(index)
    this.toContribute.delete(index)
    this.proveQueued.delete(index)
    const at = this.contributed.findIndex((spec) => spec.index === index)
    if (at >= 0) this.contributed.splice(at, 1)
  }

  private async contributeOne(spec: SegmentSpec): Promise<void> {
    const { prover, program, inputSize, proverJob } = this.ctx
    const input = await this.inputs.inputOf(spec)
    const hints = await this.inputs.hints()
    const { contribution } = await prover.contribute(
      { job: proverJob, program, inputSize, segment: toSegment(spec), input, hints },
      { signal: this.ctx.signal }
    )
    this.ctx.send({ contribution: { segment: spec.index, contribution: fromString(contribution, 'base16') } })
    this.contributed.push(spec)
    this.queueProofs()
  }

  /** Every contributed segment not yet queued joins the prove queue, once the challenge is known */
  private queueProofs(): void {
    const challenge = this.fixedChallenge
    if (challenge === undefined) return
    for (const spec of this.contributed) {
      if (this.proveQueued.has(spec.index)) continue
      this.proveQueued.add(spec.index)
      this.proving = this.proving.then(async () => {
        if (this.ctx.signal.aborted || this.forgotten.has(spec.index)) return
        try {
          await this.proveOne(spec, challenge)
        } catch (err) {
          this.ctx.fail(failureOf(err, spec.index))
        }
      })
    }
  }

  private async proveOne(spec: SegmentSpec, challenge: string): Promise<void> {
    const { prover, program, inputSize, proverJob } = this.ctx
    const input = await this.inputs.inputOf(spec)
    const hints = await this.inputs.hints()
    const out = join(this.ctx.workDir, `proof-${spec.index}`)
    const result = await prover.prove(
      { job: proverJob, program, inputSize, segment: toSegment(spec), input, hints, challenge, out },
      { signal: this.ctx.signal }
    )
    const sha256 = fromString(result.sha256, 'base16')
    this.proofs.set(spec.index, { path: out, size: result.size, sha256 })
    this.ctx.send({
      proved: {
        segment: spec.index,
        size: BigInt(result.size),
        sha256,
        millis: Math.min(result.millis, 2 ** 32 - 1)
      }
    })
  }
}
