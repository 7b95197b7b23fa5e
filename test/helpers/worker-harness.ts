/**
 * A unit harness for the peer side of the job path: real WorkerServices (lease book, sessions, the job, inputs,
 * hints and proof handlers) on a memory network, each with a scripted prover, and a submitter the test speaks for:
 * it writes the job frames itself and moves slices, hints and proofs with the real SubmitterTransport. Every
 * protocol runs its real codec over libp2p's in-memory streams; nothing but the prover and the sockets is a double.
 */
import { createHash } from 'node:crypto'
import { existsSync, readdirSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  type Failed,
  InputMode,
  type PeerFrame,
  type SegmentSpec,
  type SubmitterFrame
} from '../../protocols/job/pb/job.js'
import type { InputsHeader } from '../../protocols/inputs/pb/inputs.js'
import type { SecurityConfig } from '../../src/config/types.js'
import { readFileRange } from '../../src/files/file-range.js'
import { pump } from '../../src/files/file-sink.js'
import { type PeerAddress, SubmitterTransport } from '../../src/job/transport.js'
import type { FrameDuplex } from '../../src/net/frame-duplex.js'
import { computeChallenge } from '../../src/prover/challenge.js'
import type { ProverBackend } from '../../src/prover/types.js'
import { LeaseBook } from '../../src/worker/leases.js'
import { WorkerService } from '../../src/worker/service.js'
import { toSegment } from '../../src/worker/session/pipeline.js'
import { type CapturedLogger, captureLogger, within } from '../fixtures/prover/helpers.js'
import { MemoryNetwork, type MemoryNode } from './memory-network.js'
import {
  type ProverScript,
  SCRIPTED_PROGRAM,
  ScriptedProver,
  scriptedContribution
} from './scripted-prover.js'

/** The bound on any one wait of a harness test: generous, since nothing here waits on real work */
export const HARNESS_WAIT_MS = 20_000

export interface HarnessWorkerOptions {
  /** This peer's compute units (4) */
  units?: number
  script?: ProverScript
  /** No prover at all: the peer takes no work */
  noProver?: boolean
  /** A real backend instead of the scripted prover (a cli one: whole jobs only) */
  backend?: ProverBackend
  security?: Partial<SecurityConfig>
  maxInputBytes?: number
  assignWaitMs?: number
  firstAssignDeadlineMs?: number
}

export interface HarnessWorker {
  node: MemoryNode
  peerId: string
  service: WorkerService
  leases: LeaseBook
  prover: ScriptedProver
  inputsFolder: string
  logs: CapturedLogger
  /** The work folders of a job's sessions on this peer (one per submitter that leased it) */
  workDirs(jobId: string): string[]
}

/** One job's input, hints and segments, as its submitter would plan them */
export interface JobFixture {
  jobId: string
  input: Buffer
  /** The input on the submitter's side */
  inputPath: string
  hints: Buffer
  hintsPath: string
  segments: SegmentSpec[]
}

const sha256 = (bytes: Uint8Array): Uint8Array<ArrayBuffer> =>
  new Uint8Array(createHash('sha256').update(bytes).digest())

export class WorkerHarness {
  readonly dir: string
  readonly network = new MemoryNetwork()
  private readonly services: WorkerService[] = []
  private fixtures = 0
  /**
   * Memory streams hold no socket, and every deadline of the job path is unref'd: with a test waiting on one (a
   * slice whose Assign never comes), nothing would keep the process alive and node:test would cancel the test
   */
  private readonly alive = setInterval(() => undefined, 60_000)

  private constructor(dir: string) {
    this.dir = dir
  }

  static async create(): Promise<WorkerHarness> {
    return new WorkerHarness(await mkdtemp(join(tmpdir(), 'proofmesh-worker-harness-')))
  }

  /** A started peer: WorkerService, lease book and scripted prover on a node of the memory network */
  async worker(options: HarnessWorkerOptions = {}): Promise<HarnessWorker> {
    const node = await this.network.node()
    const peerId = node.peerId.toString()
    const root = join(this.dir, peerId.slice(-8))
    const inputsFolder = join(root, 'inputs')
    await mkdir(inputsFolder, { recursive: true })
    const logs = captureLogger()
    const units = options.units ?? 4
    const leases = new LeaseBook({ logger: logs.logger, totalUnits: () => units })
    const prover = new ScriptedProver({ script: options.script })
    const service = new WorkerService(node, {
      logger: logs.logger,
      leases,
      prover: () => (options.noProver === true ? undefined : (options.backend ?? prover)),
      workRoot: join(root, 'work'),
      inputsFolder,
      maxInputBytes: options.maxInputBytes ?? 1024 * 1024,
      security: options.security,
      assignWaitMs: options.assignWaitMs,
      firstAssignDeadlineMs: options.firstAssignDeadlineMs
    })
    await service.start()
    this.services.push(service)
    return {
      node,
      peerId,
      service,
      leases,
      prover,
      inputsFolder,
      logs,
      workDirs: (jobId) => {
        const work = join(root, 'work')
        const names = existsSync(work) ? readdirSync(work) : []
        return names.filter((name) => name.startsWith(`${jobId}.`)).map((name) => join(work, name))
      }
    }
  }

  /** A submitter: a node of its own, with the submitter's real transport (and no peer side of its own) */
  async submitter(): Promise<HarnessSubmitter> {
    return new HarnessSubmitter(await this.network.node())
  }

  /**
   * A job of `blocks` blocks of the scripted program, cut into `segments` contiguous segments, its input and hints
   * written on the submitter's side
   */
  async job(options: { blocks?: number; segments?: number } = {}): Promise<JobFixture> {
    const blocks = options.blocks ?? 12
    const count = options.segments ?? 3
    const jobId = `job-${++this.fixtures}`
    const input = Buffer.from(
      Array.from({ length: blocks * SCRIPTED_PROGRAM.blockBytes }, (_, i) => (i * 7 + this.fixtures) % 251)
    )
    const hints = Buffer.from(`hints of ${jobId}`)
    const inputPath = join(this.dir, `${jobId}.input`)
    const hintsPath = join(this.dir, `${jobId}.hints`)
    await writeFile(inputPath, input)
    await writeFile(hintsPath, hints)
    const segments: SegmentSpec[] = []
    for (let index = 0; index < count; index++) {
      const start = Math.floor((blocks * index) / count)
      const end = Math.floor((blocks * (index + 1)) / count)
      const offset = start * SCRIPTED_PROGRAM.blockBytes
      const length = (end - start) * SCRIPTED_PROGRAM.blockBytes
      segments.push({
        index,
        startBlock: BigInt(start),
        blockCount: BigInt(end - start),
        inputOffset: BigInt(offset),
        inputLength: BigInt(length),
        inputSha256: sha256(input.subarray(offset, offset + length))
      })
    }
    return { jobId, input, inputPath, hints, hintsPath, segments }
  }

  async close(): Promise<void> {
    clearInterval(this.alive)
    await Promise.allSettled(this.services.map(async (service) => service.stop()))
    await rm(this.dir, { recursive: true, force: true })
  }
}

/** Reserve for a whole job, as a submitter sends it */
export function reserveFrame(
  job: JobFixture,
  overrides: Partial<NonNullable<SubmitterFrame['reserve']>> = {}
): SubmitterFrame {
  return {
    reserve: {
      jobId: job.jobId,
      program: SCRIPTED_PROGRAM.id,
      units: 2,
      minUnits: 1,
      inputSize: BigInt(job.input.byteLength),
      leaseMs: 60_000,
      keepAliveMs: 60_000,
      ...overrides
    }
  }
}

/** Assign of some of the job's segments: data mode with hints unless `overrides` say otherwise */
export function assignFrame(
  job: JobFixture,
  indices: number[],
  overrides: Partial<Omit<NonNullable<SubmitterFrame['assign']>, 'segments'>> = {}
): SubmitterFrame {
  return {
    assign: {
      inputSize: BigInt(job.input.byteLength),
      inputMode: InputMode.DATA,
      inputName: '',
      hints: true,
      segments: indices.map((index) => job.segments[index] as SegmentSpec),
      ...overrides
    }
  }
}

/** The inputs protocol's header of a segment's slice */
export function sliceHeader(job: JobFixture, index: number): InputsHeader {
  const spec = job.segments[index] as SegmentSpec
  return {
    jobId: job.jobId,
    segment: index,
    offset: spec.inputOffset,
    length: spec.inputLength,
    total: BigInt(job.input.byteLength),
    sha256: spec.inputSha256
  }
}

/** A segment's honest contribution (lower-case hex) */
export function contributionOf(job: JobFixture, index: number): string {
  const spec = job.segments[index] as SegmentSpec
  const start = Number(spec.inputOffset)
  return scriptedContribution(
    SCRIPTED_PROGRAM.id,
    toSegment(spec),
    job.input.subarray(start, start + Number(spec.inputLength))
  )
}

/** The job's global challenge over its honest contributions, as bytes for the Challenge frame */
export function challengeOf(job: JobFixture): Uint8Array<ArrayBuffer> {
  const contributions = job.segments.map((spec) => contributionOf(job, spec.index))
  return new Uint8Array(Buffer.from(computeChallenge(job.jobId, contributions), 'hex'))
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex')
}

/** The submitter's side, spoken by the test: job streams it opens, and slices, hints and proofs it moves */
export class HarnessSubmitter {
  readonly node: MemoryNode
  readonly transport: SubmitterTransport

  constructor(node: MemoryNode) {
    this.node = node
    this.transport = new SubmitterTransport(node, {
      openLocal: () => {
        throw new Error('the harness submitter has no peer side of its own')
      },
      localSliceSink: async () => {
        throw new Error('the harness submitter has no peer side of its own')
      },
      localHintsSink: async () => {
        throw new Error('the harness submitter has no peer side of its own')
      },
      localFinalProof: () => undefined
    })
  }

  get peerId(): string {
    return this.node.peerId.toString()
  }

  address(worker: HarnessWorker): PeerAddress {
    return { peerId: worker.peerId, local: false, addrs: [] }
  }

  /** Opens a job stream to the worker */
  async open(worker: HarnessWorker): Promise<JobStream> {
    const signal = AbortSignal.timeout(HARNESS_WAIT_MS)
    return new JobStream(await this.transport.openJob(this.address(worker), signal), worker.peerId)
  }

  /** Opens a job stream, sends Reserve and reads the reply */
  async reserve(
    worker: HarnessWorker,
    job: JobFixture,
    overrides: Parameters<typeof reserveFrame>[1] = {}
  ): Promise<{ stream: JobStream; reply: PeerFrame }> {
    const stream = await this.open(worker)
    await stream.send(reserveFrame(job, overrides))
    const reply = await stream.next(
      'the reply to Reserve',
      (frame) => frame.reserved !== undefined || frame.refused !== undefined
    )
    return { stream, reply }
  }

  /** Pushes a segment's slice of the job's input (or of `source`, a file holding other bytes) */
  async pushSlice(
    worker: HarnessWorker,
    job: JobFixture,
    index: number,
    source = job.inputPath
  ): Promise<void> {
    const signal = AbortSignal.timeout(HARNESS_WAIT_MS)
    await this.transport.pushSlice(
      this.address(worker),
      sliceHeader(job, index),
      source,
      signal,
      () => undefined
    )
  }

  /** Streams the job's hints to the worker */
  async pushHints(worker: HarnessWorker, job: JobFixture): Promise<void> {
    const signal = AbortSignal.timeout(HARNESS_WAIT_MS)
    const sink = await this.transport.hintsSink(this.address(worker), job.jobId, signal)
    await pump(
      readFileRange(job.hintsPath, 0, job.hints.byteLength),
      sink,
      job.hints.byteLength,
      sha256(job.hints),
      signal
    )
  }

  /** Pulls the job's final proof from the worker into `dest` */
  async fetchFinal(
    worker: HarnessWorker,
    job: JobFixture,
    dest: string
  ): Promise<{ size: number; sha256: Uint8Array }> {
    const signal = AbortSignal.timeout(HARNESS_WAIT_MS)
    return this.transport.fetchFinalProof(this.address(worker), job.jobId, dest, signal, () => undefined)
  }
}

/** The submitter's end of one job stream: what it sent the peer, and every frame the peer sent back */
export class JobStream {
  readonly peerId: string
  /** Every frame read so far, keep-alives and progress included */
  readonly seen: PeerFrame[] = []
  private readonly channel: FrameDuplex<PeerFrame, SubmitterFrame>
  private ended = false

  constructor(channel: FrameDuplex<PeerFrame, SubmitterFrame>, peerId: string) {
    this.channel = channel
    this.peerId = peerId
  }

  async send(frame: SubmitterFrame): Promise<void> {
    await this.channel.write(frame, AbortSignal.timeout(HARNESS_WAIT_MS))
  }

  /** Reads frames until one matches (the others are kept in `seen`); fails, saying what came, if none does in time */
  async next(what: string, match: (frame: PeerFrame) => boolean): Promise<PeerFrame> {
    const signal = AbortSignal.timeout(HARNESS_WAIT_MS)
    for (;;) {
      const frame = await within(
        this.read(signal),
        HARNESS_WAIT_MS,
        `${what}; frames so far: ${this.story()}`
      )
      if (frame === undefined)
        throw new Error(`the job stream ended before ${what}; frames so far: ${this.story()}`)
      if (match(frame)) return frame
    }
  }

  /** The next Failed frame */
  async failed(what: string): Promise<Failed> {
    return (await this.next(what, (frame) => frame.failed !== undefined)).failed as Failed
  }

  /** Reads until the peer ends the stream (cleanly or not); fails if it does not in time */
  async end(what: string): Promise<void> {
    const signal = AbortSignal.timeout(HARNESS_WAIT_MS)
    while (!this.ended) {
      await within(
        this.read(signal).catch(() => undefined),
        HARNESS_WAIT_MS,
        `${what}; frames so far: ${this.story()}`
      )
    }
  }

  /** Ends the submitter's side of the stream, as a submitter that goes away cleanly */
  async close(): Promise<void> {
    await this.channel.close()
  }

  /** Every Failed so far */
  failures(): Failed[] {
    return this.seen.flatMap((frame) => (frame.failed === undefined ? [] : [frame.failed]))
  }

  /** The frames so far, one word each (keep-alives left out) */
  story(): string {
    const words = this.seen
      .filter((frame) => frame.keepAlive === undefined)
      .map((frame) => {
        const [kind, body] = Object.entries(frame).find(([, value]) => value !== undefined) ?? [
          'empty',
          undefined
        ]
        const detail = kind === 'failed' ? `(${(body as Failed).message})` : ''
        return `${kind}${detail}`
      })
    return words.length === 0 ? '(none)' : words.join(', ')
  }

  private async read(signal: AbortSignal): Promise<PeerFrame | undefined> {
    if (this.ended) return undefined
    try {
      const frame = await this.channel.read(signal)
      if (frame === undefined) this.ended = true
      else this.seen.push(frame)
      return frame
    } catch (err) {
      if (!signal.aborted) this.ended = true
      throw err
    }
  }
}
