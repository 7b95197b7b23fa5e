/**
 * Hand-written hostile workers: peers that advertise free units (FakePeer) and serve the job, inputs, hints and
 * proof protocols with their own codecs, each lying to the submitter in one way:
 * - `refuse`: answers every Reserve with Refused BUSY while its adverts keep offering units;
 * - `silent`: takes the lease, receives its slices and hints, sends keep-alives and nothing else;
 * - `trickle`: does phase 1 honestly (its contributions computed by the reference prover), claims every segment
 *   proved the moment the challenge comes (so it is named aggregator first), announces a final proof once it was
 *   told to fetch every other peer's proof, and serves
 *   it one byte every two seconds; a partial proof it is asked for it refuses, as it has none.
 */
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { Stream } from '@libp2p/interface'
import { readHintsStart, receiveHints } from '../../../protocols/hints/codec.js'
import { HINTS_PROTOCOL } from '../../../protocols/hints/constants.js'
import { readSliceHeader, receiveSlice } from '../../../protocols/inputs/codec.js'
import { INPUTS_PROTOCOL } from '../../../protocols/inputs/constants.js'
import { peerJobChannel } from '../../../protocols/job/codec.js'
import { JOB_PROTOCOL } from '../../../protocols/job/constants.js'
import {
  type Assign,
  type Contribution,
  RefuseCode,
  type Reserve,
  type SegmentSpec
} from '../../../protocols/job/pb/job.js'
import { fromString } from 'uint8arrays'
import { readProofRequest, refuseProof } from '../../../protocols/proof/codec.js'
import { PROOF_PROTOCOL } from '../../../protocols/proof/constants.js'
import { ProofHeader } from '../../../protocols/proof/pb/proof.js'
import { openFileSink } from '../../../src/files/file-sink.js'
import { deadline } from '../../../src/net/deadline.js'
import type { FrameDuplex } from '../../../src/net/frame-duplex.js'
import { FramedStream } from '../../../src/net/framed-stream.js'
import type { PeerFrame, SubmitterFrame } from '../../../protocols/job/pb/job.js'
import { PROVER_PATH } from '../../bench/job-helpers.js'
import { FakePeer } from './peer.js'

const exec = promisify(execFile)

function safe(jobId: string): string {
  return jobId.replace(/[^\w-]/g, '_')
}

export type WorkerAttack = 'refuse' | 'silent' | 'trickle'

/** The final proof the trickler announces: large enough that it never ends while a test waits */
const TRICKLED_PROOF_BYTES = 1_000_000

export interface HostileWorkerInit {
  /** The daemon it connects to and advertises through */
  target: string
  attack: WorkerAttack
  /** The free units it advertises (more than an honest peer's, so that it is asked first) */
  units: number
  /** The advert interval of the daemons */
  intervalMs: number
  /** How often the trickler sends one byte of its final proof */
  trickleMs?: number
}

/** What the hostile worker saw of the submitter */
export interface HostileWorkerCounts {
  reserves: number
  leases: number
  segments: number
  contributions: number
  finalRequests: number
  bytesTrickled: number
}

export class HostileWorker {
  readonly counts: HostileWorkerCounts = {
    reserves: 0,
    leases: 0,
    segments: 0,
    contributions: 0,
    finalRequests: 0,
    bytesTrickled: 0
  }
  private readonly init: HostileWorkerInit
  private readonly dir: string
  private readonly controller = new AbortController()
  private fake?: FakePeer

  private constructor(init: HostileWorkerInit, dir: string) {
    this.init = init
    this.dir = dir
  }

  static async start(init: HostileWorkerInit): Promise<HostileWorker> {
    const worker = new HostileWorker(init, await mkdtemp(join(tmpdir(), `proofmesh-hostile-${init.attack}-`)))
    const handle =
      (serve: (stream: Stream) => Promise<void>) =>
      (stream: Stream): void => {
        void serve(stream).catch((err: unknown) => stream.abort(err as Error))
      }
    worker.fake = await FakePeer.start({
      target: init.target,
      intervalMs: init.intervalMs,
      advert: {
        unitsTotal: init.units,
        unitsFree: init.units,
        programs: ['rescue-sponge'],
        proverName: `hostile-${init.attack}`
      },
      handlers: {
        [JOB_PROTOCOL]: handle(async (stream) => worker.serveJob(stream)),
        [INPUTS_PROTOCOL]: handle(async (stream) => worker.serveSlice(stream)),
        [HINTS_PROTOCOL]: handle(async (stream) => worker.serveHints(stream)),
        [PROOF_PROTOCOL]: handle(async (stream) => worker.serveProof(stream))
      }
    })
    return worker
  }

  get peerId(): string {
    return this.fake?.host.peerId.toString() ?? ''
  }

  async stop(): Promise<void> {
    this.controller.abort()
    await this.fake?.stop()
    await rm(this.dir, { recursive: true, force: true })
  }

  private async serveJob(stream: Stream): Promise<void> {
    const channel = peerJobChannel(new FramedStream(stream))
    const reserve = (await channel.read(deadline('a Reserve', 10_000)))?.reserve
    if (reserve === undefined) throw new Error('no Reserve')
    this.counts.reserves++
    if (this.init.attack === 'refuse') {
      await channel.write(
        { refused: { code: RefuseCode.BUSY, message: 'busy', freeUnits: this.init.units } },
        deadline('a Refused', 10_000)
      )
      await channel.close()
      return
    }
    this.counts.leases++
    await this.runLease(channel, reserve)
  }

  /** A lease as this worker keeps it: Reserved with what was asked, keep-alives, and its one lie */
  private async runLease(channel: FrameDuplex<SubmitterFrame, PeerFrame>, reserve: Reserve): Promise<void> {
    const signal = this.controller.signal
    const send = (frame: PeerFrame): void => {
      channel.write(frame, deadline('a frame to the submitter', 10_000)).catch(() => undefined)
    }
    send({
      reserved: {
        leaseId: randomBytes(8).toString('hex'),
        units: reserve.units,
        leaseMs: reserve.leaseMs,
        submitterCap: 0
      }
    })
    const keepAlive = setInterval(() => send({ keepAlive: {} }), Math.max(100, reserve.keepAliveMs))
    const specs: SegmentSpec[] = []
    /** As the trickling aggregator: the segments in the job, the other peers' proofs it was told to fetch */
    let aggregating = 0
    let announced = false
    const fetched = new Set<number>()
    try {
      for (;;) {
        const frame = await channel.read(signal)
        if (frame === undefined || frame.cancel !== undefined || frame.release !== undefined) return
        if (frame.assign !== undefined) {
          specs.push(...frame.assign.segments)
          this.counts.segments += frame.assign.segments.length
          if (this.init.attack === 'trickle') {
            const assign = frame.assign
            void this.contribute(reserve.jobId, assign)
              .then((contributions) => {
                for (const c of contributions) send({ contribution: c })
              })
              .catch(() => undefined)
          }
        } else if (frame.challenge !== undefined && this.init.attack === 'trickle') {
          // every segment "proved" at once: the first peer done aggregates
          for (const spec of specs)
            send({ proved: { segment: spec.index, size: 1_000n, sha256: randomBytes(32), millis: 1 } })
        } else if (frame.aggregate !== undefined && this.init.attack === 'trickle') {
          aggregating = frame.aggregate.contributions.length
        } else if (frame.fetch !== undefined && this.init.attack === 'trickle') {
          fetched.add(frame.fetch.segment)
        }
        // the final proof announced once the submitter asked it to fetch every other peer's proof: one announced
        // before every segment is proved is failed at once
        if (
          aggregating > 0 &&
          !announced &&
          new Set([...specs.map((spec) => spec.index), ...fetched]).size >= aggregating
        ) {
          announced = true
          send({
            final: {
              digest: randomBytes(32),
              size: BigInt(TRICKLED_PROOF_BYTES),
              sha256: randomBytes(32),
              segments: aggregating
            }
          })
        }
      }
    } catch {
      // the submitter dropped the stream, or this worker stopped
    } finally {
      clearInterval(keepAlive)
      channel.abort(new Error('the hostile worker is done'))
    }
  }

  /** The true contributions of an Assign's segments, by the reference prover, once their slices and hints are in */
  private async contribute(jobId: string, assign: Assign): Promise<Contribution[]> {
    const out: Contribution[] = []
    const hints = this.hintsPath(jobId)
    for (const spec of assign.segments) {
      const slice = this.slicePath(jobId, Number(spec.inputOffset))
      await this.arrival([slice, ...(assign.hints ? [hints] : [])])
      const { stdout } = await exec(PROVER_PATH, [
        'contribute',
        ...['--input', slice, '--input-offset', String(spec.inputOffset)],
        ...['--input-size', String(assign.inputSize), '--index', String(spec.index)],
        ...['--start-block', String(spec.startBlock), '--block-count', String(spec.blockCount)],
        ...(assign.hints ? ['--hints', hints] : [])
      ])
      const { contribution } = JSON.parse(stdout) as { contribution: string }
      out.push({ segment: spec.index, contribution: fromString(contribution, 'base16') })
      this.counts.contributions++
    }
    return out
  }

  /** Waits for files received on other streams (a slice, the hints), for as long as this worker runs */
  private async arrival(paths: string[]): Promise<void> {
    const until = Date.now() + 120_000
    for (;;) {
      const present = await Promise.all(
        paths.map(async (path) =>
          stat(path).then(
            () => true,
            () => false
          )
        )
      )
      if (present.every(Boolean)) return
      if (this.controller.signal.aborted || Date.now() > until)
        throw new Error(`never received ${paths.join(', ')}`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }

  /** Where a slice is kept: the job id is the submitter's text, so only its safe characters name a file */
  private slicePath(jobId: string, offset: number): string {
    return join(this.dir, `${safe(jobId)}.slice-${offset}`)
  }

  private hintsPath(jobId: string): string {
    return join(this.dir, `${safe(jobId)}.hints`)
  }

  /** Input slices, received in full and checked as a worker does: the submitter sees its transfer succeed */
  private async serveSlice(stream: Stream): Promise<void> {
    const framed = new FramedStream(stream)
    const signal = AbortSignal.any([this.controller.signal, deadline('an input slice', 60_000)])
    const header = await readSliceHeader(framed, signal)
    const sink = await openFileSink({
      path: this.slicePath(header.jobId, Number(header.offset)),
      maxBytes: Number(header.length)
    })
    await receiveSlice(framed, header, sink, signal)
    await framed.close(signal)
  }

  private async serveHints(stream: Stream): Promise<void> {
    const framed = new FramedStream(stream)
    const signal = AbortSignal.any([this.controller.signal, deadline('the hints', 60_000)])
    const sink = await openFileSink({ path: this.hintsPath(await readHintsStart(framed, signal)) })
    await receiveHints(framed, sink, signal)
    await framed.close(signal)
  }

  /** The final proof one byte every trickleMs, for as long as the submitter reads; no partial proof */
  private async serveProof(stream: Stream): Promise<void> {
    const framed = new FramedStream(stream)
    const request = await readProofRequest(framed, deadline('a proof request', 10_000))
    if (this.init.attack !== 'trickle' || request.segment !== undefined) {
      await refuseProof(framed, 'no such proof here', deadline('a refusal', 10_000))
      return
    }
    this.counts.finalRequests++
    const signal = this.controller.signal
    await framed.write(
      { ok: true, message: '', size: BigInt(TRICKLED_PROOF_BYTES), sha256: randomBytes(32) },
      ProofHeader,
      signal
    )
    const everyMs = this.init.trickleMs ?? 2_000
    // until the submitter gives up: then the stream is reset and the write throws
    while (!signal.aborted) {
      await framed.writeBytes(randomBytes(1), signal)
      this.counts.bytesTrickled++
      await new Promise((resolve) => setTimeout(resolve, everyMs))
    }
  }
}
