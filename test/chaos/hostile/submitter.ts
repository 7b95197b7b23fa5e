/**
 * A hand-written hostile submitter: a libp2p host that speaks the job protocol to a worker daemon (its codec,
 * protocols/job/codec.ts) and does what an honest submitter never does: reserves and never assigns, floods
 * Assigns, sends each phase's frame before its phase, hoards units with keep-alives.
 */
import { randomBytes } from 'node:crypto'
import { multiaddr } from '@multiformats/multiaddr'
import { submitterJobChannel } from '../../../protocols/job/codec.js'
import { JOB_PROTOCOL } from '../../../protocols/job/constants.js'
import {
  type Failed,
  InputMode,
  type PeerFrame,
  type Refused,
  type Reserved,
  type SegmentSpec,
  type SubmitterFrame
} from '../../../protocols/job/pb/job.js'
import { deadline } from '../../../src/net/deadline.js'
import type { FrameDuplex } from '../../../src/net/frame-duplex.js'
import { FramedStream } from '../../../src/net/framed-stream.js'
import type { ProofmeshHost } from '../../../src/net/host.js'

/** What one Reserve asks for; whatever is not given is an honest submitter's */
export interface ReserveAsk {
  jobId?: string
  units?: number
  inputSize?: number
  leaseMs?: number
}

/**
 * One job stream to a worker, from the Reserve on. Frames the worker sends are kept in order (keep-alives only
 * counted) for the test to look at; `keepAlive()` renews the lease the way an honest submitter does.
 */
export class HostileLease {
  readonly jobId: string
  readonly reply: { reserved?: Reserved; refused?: Refused }
  private readonly channel: FrameDuplex<PeerFrame, SubmitterFrame>
  private readonly frames: PeerFrame[] = []
  private readonly controller = new AbortController()
  private timer?: NodeJS.Timeout
  private closedAt?: number
  private wake?: () => void
  keepAlivesReceived = 0

  private constructor(
    jobId: string,
    channel: FrameDuplex<PeerFrame, SubmitterFrame>,
    reply: { reserved?: Reserved; refused?: Refused }
  ) {
    this.jobId = jobId
    this.channel = channel
    this.reply = reply
  }

  /** Opens a job stream to `target` and sends Reserve; resolves with the worker's answer in hand */
  static async open(host: ProofmeshHost, target: string, ask: ReserveAsk = {}): Promise<HostileLease> {
    const jobId = ask.jobId ?? `hostile-${randomBytes(6).toString('hex')}`
    const signal = deadline(`a Reserve's answer from ${target}`, 20_000)
    const stream = await host.dialProtocol(multiaddr(target), JOB_PROTOCOL, { signal })
    const channel = submitterJobChannel(new FramedStream(stream))
    await channel.write(
      {
        reserve: {
          jobId,
          program: 'rescue-sponge',
          units: ask.units ?? 1,
          minUnits: 1,
          inputSize: BigInt(ask.inputSize ?? 1_000_000),
          leaseMs: ask.leaseMs ?? 15_000,
          keepAliveMs: 1_000
        }
      },
      signal
    )
    const first = await channel.read(signal)
    if (first?.reserved === undefined && first?.refused === undefined)
      throw new Error(`the worker answered Reserve with ${JSON.stringify(first)}`)
    const lease = new HostileLease(jobId, channel, { reserved: first.reserved, refused: first.refused })
    if (first.reserved !== undefined) void lease.readAll()
    return lease
  }

  get units(): number {
    return this.reply.reserved?.units ?? 0
  }

  /** When the worker ended the stream (ms since the epoch), if it has */
  get closed(): number | undefined {
    return this.closedAt
  }

  /** Failed frames received so far */
  get failures(): Failed[] {
    return this.frames.flatMap((frame) => (frame.failed === undefined ? [] : [frame.failed]))
  }

  /** Frames other than keep-alives received so far */
  get received(): PeerFrame[] {
    return [...this.frames]
  }

  async send(frame: SubmitterFrame): Promise<void> {
    await this.channel.write(frame, deadline(`a frame to the worker of ${this.jobId}`, 20_000))
  }

  /** A KeepAlive every `everyMs`, as an honest submitter sends them, until stop() */
  keepAlive(everyMs = 300): void {
    clearInterval(this.timer)
    this.timer = setInterval(() => {
      if (this.closedAt === undefined) this.send({ keepAlive: {} }).catch(() => undefined)
    }, everyMs)
  }

  /** Waits until `ready()` holds of the frames received; when it gives up, says what came */
  async waitFor(what: string, timeoutMs: number, ready: (frames: PeerFrame[]) => boolean): Promise<void> {
    const until = Date.now() + timeoutMs
    while (!ready(this.frames)) {
      if (Date.now() > until) {
        const seen = this.frames
          .map((frame) =>
            frame.failed === undefined ? Object.keys(frame).join('+') : `failed (${frame.failed.message})`
          )
          .join(', ')
        throw new Error(
          `timed out after ${timeoutMs} ms waiting for ${what} from the worker of ${this.jobId}; it sent ${seen || 'nothing'}${this.closedAt === undefined ? '' : ' and closed the stream'}`
        )
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve
        setTimeout(resolve, 100)
      })
    }
  }

  /** Waits until the worker ends the stream; the ms from now it took */
  async waitClosed(timeoutMs: number): Promise<number> {
    const started = Date.now()
    await this.waitFor('the end of the stream', timeoutMs, () => this.closedAt !== undefined)
    return Date.now() - started
  }

  stop(): void {
    clearInterval(this.timer)
    this.controller.abort()
    this.channel.abort(new Error('the hostile submitter is done'))
  }

  private async readAll(): Promise<void> {
    try {
      for (;;) {
        const frame = await this.channel.read(this.controller.signal)
        if (frame === undefined) break
        if (frame.keepAlive !== undefined && Object.keys(frame).length === 1) this.keepAlivesReceived++
        else this.frames.push(frame)
        this.wake?.()
      }
    } catch {
      // reset by the worker, or stopped here: either way the stream is over
    }
    this.closedAt = Date.now()
    clearInterval(this.timer)
    this.wake?.()
  }
}

/**
 * `count` well-formed segment specs from `first` on, each of `bytes` input bytes one after another: an Assign of
 * them passes every per-frame check, so only the session's totals stop a flood of them
 */
export function segmentSpecs(first: number, count: number, bytes = 56): SegmentSpec[] {
  return Array.from({ length: count }, (_, i) => ({
    index: first + i,
    startBlock: BigInt(first + i),
    blockCount: 1n,
    inputOffset: BigInt((first + i) * bytes),
    inputLength: BigInt(bytes),
    inputSha256: new Uint8Array(32)
  }))
}

/** An Assign of `segments` for a data-mode input of `inputSize` bytes */
export function assignFrame(inputSize: number, segments: SegmentSpec[]): SubmitterFrame {
  return {
    assign: { inputSize: BigInt(inputSize), inputMode: InputMode.DATA, inputName: '', hints: true, segments }
  }
}
