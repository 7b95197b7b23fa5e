/**
 * A prover backend whose every answer a test decides: a test double of SegmentedProver (src/prover/types.ts) for
 * unit harnesses of the peer's session and the submitter's job run. Unscripted calls answer as an honest prover
 * would, with files and hashes that hang together (below), so that a whole job runs on it; a script replaces any
 * call with a failure (a ProverRpcError with an NPP code), a wait, no answer at all, or garbage of the right shape.
 *
 * The honest model (not a proof system, but strict enough to catch every mix-up of the job path):
 * - a segment's contribution is SHA-256 over the program, the segment's position and its input bytes, read from the
 *   file the call names, so the same segment gives the same contribution on any peer and a wrong slice another;
 * - a segment's proof is a JSON file naming its segment, challenge and contribution (the job is bound through the
 *   challenge, as in the native prover, whose contribute and prove take `job` as a name for cancel and progress
 *   only); aggregate checks each one against its own arguments and blames the first that does not match
 *   (PROOF_INVALID with `data.segment`);
 * - the statement digest is SHA-256 over the contributions in segment order: plan computes it from the whole input,
 *   aggregate from the contributions, verify compares them.
 */
import { createHash, randomBytes } from 'node:crypto'
import { open, readFile, writeFile } from 'node:fs/promises'
import { TypedEventEmitter } from '@libp2p/interface'
import { ProverRpcError } from '../../src/prover/errors.js'
import { proveJobInPhases } from '../../src/prover/prove-job.js'
import { abortReason } from '../../src/prover/signals.js'
import {
  type AggregateParams,
  type AggregateResult,
  type CallOptions,
  type ContributeParams,
  type ContributeResult,
  type JobProveParams,
  type JobProveResult,
  NppErrorCode,
  type NppMethods,
  type PlanParams,
  type PlanResult,
  type Program,
  type ProgressNotification,
  type ProveParams,
  type ProveResult,
  type ProverBackendEvents,
  type ProverInfo,
  type Segment,
  type SegmentedProver,
  type VerifyParams,
  type VerifyResult
} from '../../src/prover/types.js'

/** What one call does */
export type Step =
  /** What an honest prover answers */
  | { do: 'answer' }
  /** A JSON-RPC error, as the prover would send it */
  | { do: 'fail'; code: number; message: string; data?: unknown }
  /** An answer of the right shape with wrong content: a random contribution, a proof or final proof of random bytes */
  | { do: 'garbage' }
  /** Waits (a number of ms, or until a promise settles), then does `then` (an honest answer by default) */
  | { do: 'wait'; until: number | Promise<unknown>; then?: Step }
  /** Never answers: the call ends only when it is cancelled or its signal aborts */
  | { do: 'hang' }

export type ScriptedMethod = 'plan' | 'contribute' | 'prove' | 'aggregate' | 'verify'

/** Per method: the step for a call, given its params and how many calls of that method came before it (0 first) */
export type ProverScript = {
  [M in ScriptedMethod]?: (params: NppMethods[M]['params'], earlier: number) => Step | undefined
}

export const SCRIPTED_PROGRAM: Program = {
  id: 'rescue-sponge',
  description: 'the scripted prover: hashes, not proofs',
  segmented: true,
  blockBytes: 64,
  maxSegmentBlocks: 1 << 16
}

export interface ScriptedCall<M extends ScriptedMethod = ScriptedMethod> {
  method: M
  params: NppMethods[M]['params']
}

interface Pending {
  job?: string
  reject: (err: Error) => void
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')
const sha256 = (...parts: Array<Uint8Array | string>): string => {
  const hash = createHash('sha256')
  for (const part of parts) hash.update(part)
  return hash.digest('hex')
}

/** The bytes of `segment` from a file holding input bytes [offset, offset + its size) */
async function readSegment(input: { path: string; offset: number }, segment: Segment): Promise<Buffer> {
  const handle = await open(input.path, 'r')
  try {
    const bytes = Buffer.alloc(segment.inputLength)
    const { bytesRead } = await handle.read(bytes, 0, segment.inputLength, segment.inputOffset - input.offset)
    if (bytesRead !== segment.inputLength)
      throw new ProverRpcError(
        NppErrorCode.IO_ERROR,
        `${input.path} holds no bytes of segment ${segment.index}`
      )
    return bytes
  } finally {
    await handle.close()
  }
}

/** The honest contribution of a segment with these input bytes */
export function scriptedContribution(program: string, segment: Segment, bytes: Uint8Array): string {
  const position = `${program}/${segment.index}/${segment.startBlock}/${segment.blockCount}`
  return sha256('scripted/contribution/', position, bytes)
}

/** The honest statement digest of contributions in segment order */
export function scriptedDigest(contributions: string[]): string {
  return sha256('scripted/digest/', ...contributions)
}

interface SegmentProofFile {
  kind: 'segment'
  segment: number
  challenge: string
  contribution: string
}

interface FinalProofFile {
  kind: 'final'
  job: string
  challenge: string
  digest: string
  segments: number
}

async function writeJson(path: string, value: unknown): Promise<{ size: number; sha256: string }> {
  const bytes = Buffer.from(JSON.stringify(value))
  await writeFile(path, bytes)
  return { size: bytes.byteLength, sha256: sha256(bytes) }
}

async function writeGarbage(path: string): Promise<{ size: number; sha256: string }> {
  const bytes = randomBytes(256)
  await writeFile(path, bytes)
  return { size: bytes.byteLength, sha256: sha256(bytes) }
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T
  } catch {
    return undefined
  }
}

export class ScriptedProver extends TypedEventEmitter<ProverBackendEvents> implements SegmentedProver {
  readonly kind = 'npp'
  /** A scripted prover is always up (liveness is the supervisor's, tested with the real prover) */
  readonly ready = true
  readonly info: ProverInfo
  /** What each method does; change it at any time */
  script: ProverScript
  /** Every call, in the order they came */
  readonly calls: ScriptedCall[] = []
  /** Jobs `cancel` was called for, in order */
  readonly cancelled: string[] = []
  private readonly pending = new Set<Pending>()

  constructor(init: { script?: ProverScript; programs?: Program[] } = {}) {
    super()
    this.script = init.script ?? {}
    this.info = {
      backend: 'npp',
      name: 'scripted',
      version: '0.0.0',
      programs: init.programs ?? [SCRIPTED_PROGRAM],
      gpus: []
    }
  }

  async start(): Promise<void> {}

  async stop(): Promise<void> {
    for (const call of [...this.pending])
      call.reject(new ProverRpcError(NppErrorCode.CANCELLED, 'the prover stopped'))
  }

  /** The calls of one method so far */
  callsOf<M extends ScriptedMethod>(method: M): Array<NppMethods[M]['params']> {
    return this.calls
      .filter((call) => call.method === method)
      .map((call) => call.params as NppMethods[M]['params'])
  }

  /** A progress notification, as the prover would send one while it works */
  progress(notification: ProgressNotification): void {
    this.safeDispatchEvent('progress', { detail: notification })
  }

  async cancel(job: string): Promise<number> {
    this.cancelled.push(job)
    let stopped = 0
    for (const call of [...this.pending]) {
      if (call.job !== job) continue
      call.reject(new ProverRpcError(NppErrorCode.CANCELLED, `job ${job} was cancelled`))
      stopped++
    }
    return stopped
  }

  async plan(params: PlanParams, options?: CallOptions): Promise<PlanResult> {
    return this.run('plan', params, options, async () => this.honestPlan(params))
  }

  async contribute(params: ContributeParams, options?: CallOptions): Promise<ContributeResult> {
    return this.run(
      'contribute',
      params,
      options,
      async () => ({
        segment: params.segment.index,
        contribution: scriptedContribution(
          params.program,
          params.segment,
          await readSegment(params.input, params.segment)
        )
      }),
      async () => ({ segment: params.segment.index, contribution: hex(randomBytes(32)) })
    )
  }

  async prove(params: ProveParams, options?: CallOptions): Promise<ProveResult> {
    const started = Date.now()
    return this.run(
      'prove',
      params,
      options,
      async () => {
        const bytes = await readSegment(params.input, params.segment)
        const proof: SegmentProofFile = {
          kind: 'segment',
          segment: params.segment.index,
          challenge: params.challenge,
          contribution: scriptedContribution(params.program, params.segment, bytes)
        }
        return {
          segment: params.segment.index,
          ...(await writeJson(params.out, proof)),
          millis: Date.now() - started
        }
      },
      async () => ({
        segment: params.segment.index,
        ...(await writeGarbage(params.out)),
        millis: Date.now() - started
      })
    )
  }

  async aggregate(params: AggregateParams, options?: CallOptions): Promise<AggregateResult> {
    const segments = params.contributions.length
    return this.run(
      'aggregate',
      params,
      options,
      async () => {
        for (const [index, path] of params.proofs.entries()) {
          const proof = await readJson<SegmentProofFile>(path)
          const fits =
            proof?.kind === 'segment' &&
            proof.segment === index &&
            proof.challenge === params.challenge &&
            proof.contribution === params.contributions[index]
          if (!fits)
            throw new ProverRpcError(
              NppErrorCode.PROOF_INVALID,
              `the proof of segment ${index} does not verify`,
              {
                segment: index
              }
            )
        }
        const digest = scriptedDigest(params.contributions)
        const final: FinalProofFile = {
          kind: 'final',
          job: params.job,
          challenge: params.challenge,
          digest,
          segments
        }
        return { digest, segments, ...(await writeJson(params.out, final)) }
      },
      async () => ({ digest: hex(randomBytes(32)), segments, ...(await writeGarbage(params.out)) })
    )
  }

  async verify(params: VerifyParams, options?: CallOptions): Promise<VerifyResult> {
    return this.run(
      'verify',
      params,
      options,
      async () => {
        const final = await readJson<FinalProofFile>(params.proof)
        if (final?.kind !== 'final') return { valid: false, reason: 'not a final proof' }
        if (params.digest !== undefined && final.digest !== params.digest)
          return { valid: false, reason: 'the proof is of another statement' }
        if (params.job !== undefined && final.job !== params.job)
          return { valid: false, reason: 'the proof was made for another job' }
        return { valid: true, digest: final.digest, job: final.job, segments: final.segments }
      },
      async () => ({ valid: true, digest: hex(randomBytes(32)) })
    )
  }

  /** The whole job on this prover alone, through the scripted phases */
  async proveJob(params: JobProveParams, options?: CallOptions): Promise<JobProveResult> {
    return proveJobInPhases(this, params, options)
  }

  /** Takes the daemon's layout as it comes; writes the hints (the segments' boundaries) when asked to */
  private async honestPlan(params: PlanParams): Promise<PlanResult> {
    const program = this.info.programs.find((candidate) => candidate.id === params.program)
    if (program === undefined)
      throw new ProverRpcError(NppErrorCode.UNKNOWN_PROGRAM, `no program ${params.program}`)
    const input = await readFile(params.input.path)
    const totalBlocks = Math.ceil(input.byteLength / program.blockBytes)
    const segments = params.segments
    const contributions = segments.map((segment) =>
      scriptedContribution(
        params.program,
        segment,
        input.subarray(segment.inputOffset, segment.inputOffset + segment.inputLength)
      )
    )
    let hints: PlanResult['hints']
    if (params.hintsOut !== undefined) {
      const written = await writeJson(
        params.hintsOut,
        segments.map(({ startBlock: start }) => start)
      )
      hints = { path: params.hintsOut, size: written.size }
    }
    return {
      program: params.program,
      inputSize: input.byteLength,
      totalBlocks,
      initialState: '0'.repeat(64),
      hints,
      digest: params.hintsOut === undefined ? undefined : scriptedDigest(contributions)
    }
  }

  /** One call: recorded, then answered as the script says, ending early on cancel or on its signal */
  private async run<M extends ScriptedMethod>(
    method: M,
    params: NppMethods[M]['params'],
    options: CallOptions | undefined,
    honest: () => Promise<NppMethods[M]['result']>,
    garbage: () => Promise<NppMethods[M]['result']> = honest
  ): Promise<NppMethods[M]['result']> {
    const earlier = this.calls.filter((call) => call.method === method).length
    this.calls.push({ method, params })
    const script = this.script[method]
    const step = script?.(params, earlier) ?? { do: 'answer' }
    const signal = options?.signal
    signal?.throwIfAborted()
    const { promise, resolve, reject } = Promise.withResolvers<NppMethods[M]['result']>()
    // as the native prover: a request is known by its name (NPP v2), else its job
    const name = 'name' in params && params.name !== undefined ? params.name : undefined
    const pending: Pending = { job: name ?? ('job' in params ? params.job : undefined), reject }
    this.pending.add(pending)
    const onAbort = (): void => reject(abortReason(signal as AbortSignal))
    signal?.addEventListener('abort', onAbort, { once: true })
    const perform = async (current: Step): Promise<NppMethods[M]['result']> => {
      switch (current.do) {
        case 'answer':
          return honest()
        case 'garbage':
          return garbage()
        case 'fail':
          throw new ProverRpcError(current.code, current.message, current.data)
        case 'hang':
          return new Promise<never>(() => undefined)
        case 'wait':
          if (typeof current.until === 'number')
            await new Promise((wake) => setTimeout(wake, current.until as number))
          else await current.until.catch(() => undefined)
          return perform(current.then ?? { do: 'answer' })
      }
    }
    perform(step).then(resolve, reject)
    try {
      return await promise
    } finally {
      this.pending.delete(pending)
      signal?.removeEventListener('abort', onAbort)
    }
  }
}
