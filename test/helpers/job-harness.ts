/**
 * A whole job run without daemons: a real JobRun against scripted peers over in-memory frame pairs (the job
 * protocol's frames, as a peer would send them), a transport that hands input slices, hints and the final
 * proof to those peers in memory, and a scripted prover for the submitter's plan and verify. A scripted peer
 * is honest unless a test overrides one of its handlers: that is how each failure path is driven.
 *
 * The scripted prover is not a STARK prover: it plans like the reference one does for JobRun's weighted
 * slots (one segment per slot, in order) and accepts a final proof only if it is exactly what honest peers
 * build from the job's real contributions. The real prover's own checks are covered by the integration
 * and e2e suites; these tests are about what the submitter does with what peers say.
 */
import { SubmitterCaps } from '../../src/job/submitter-caps.js'
import { TRANSFER_LIMIT_DEFAULTS } from '../../src/net/transfer-deadline.js'
import '../../src/polyfill.js'
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { toString } from 'uint8arrays'
import type { InputsHeader } from '../../protocols/inputs/pb/inputs.js'
import {
  FailCode,
  RefuseCode,
  type PeerFrame,
  type SegmentSpec,
  type SubmitterFrame
} from '../../protocols/job/pb/job.js'
import { type JobProver, JobRun, type JobRunSettings, type JobTransport } from '../../src/job/run.js'
import type { NewJobEvent, JobEvent, JobRecord } from '../../src/jobs-model/types.js'
import { createLogger } from '../../src/log/index.js'
import { type FrameDuplex, memoryDuplexPair } from '../../src/net/frame-duplex.js'
import { computeChallenge } from '../../src/prover/challenge.js'
import type { Program } from '../../src/prover/types.js'

export const PROGRAM: Program = {
  id: 'scripted',
  description: 'the harness program',
  segmented: true,
  blockBytes: 64,
  maxSegmentBlocks: 1 << 15
}

const sha256 = (...parts: Array<string | Uint8Array>): Uint8Array<ArrayBuffer> => {
  const hash = createHash('sha256')
  for (const part of parts) hash.update(part)
  return new Uint8Array(hash.digest())
}

/** What an honest peer computes for a segment: a function of the job, the segment and its input bytes only */
export function honestContribution(
  jobId: string,
  segment: number,
  input: Uint8Array
): Uint8Array<ArrayBuffer> {
  return sha256('contribution', jobId, String(segment), input)
}

/** The final proof honest peers build: bound to the job's challenge (so to every contribution, in segment order) */
export function honestFinal(jobId: string, contributions: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const challenge = computeChallenge(
    jobId,
    contributions.map((contribution) => toString(contribution, 'base16'))
  )
  return new TextEncoder().encode(`final ${jobId} ${challenge}`)
}

/** How a scripted peer answers; each handler defaults to the honest one (see ScriptedPeer) */
export interface PeerBehaviour {
  reserve?(peer: ScriptedPeer, asked: number): Promise<void> | void
  /** All of a segment's input is in (or path mode): by default its contribution goes out */
  contribute?(peer: ScriptedPeer, segment: number): Promise<void> | void
  prove?(peer: ScriptedPeer, segment: number): Promise<void> | void
  aggregate?(peer: ScriptedPeer, contributions: Uint8Array[]): Promise<void> | void
  fetch?(
    peer: ScriptedPeer,
    segment: number,
    from: string,
    sha256: Uint8Array<ArrayBuffer>
  ): Promise<void> | void
  /** Serves the final proof to the submitter: writes it to `dest` (the default: at once, in full) */
  serveFinal?(
    peer: ScriptedPeer,
    dest: string,
    signal: AbortSignal,
    onReceived: (bytes: number) => void
  ): Promise<{ size: number; sha256: Uint8Array }>
  /** Receives one input slice (the default: at once) */
  receiveSlice?(
    peer: ScriptedPeer,
    header: InputsHeader,
    signal: AbortSignal,
    onSent: (bytes: number) => void
  ): Promise<void>
  /** Send keep-alives every this many ms (default 50); 0: none */
  keepAliveMs?: number
  /** It is the submitting daemon itself: its prover trusted, never checked */
  local?: boolean
}

/** One peer of the job as the script plays it, over the peer end of an in-memory job stream */
export class ScriptedPeer {
  readonly peerId: string
  readonly units: number
  readonly behaviour: PeerBehaviour
  readonly harness: JobHarness
  /** Every frame the submitter sent it, in order */
  readonly received: SubmitterFrame[] = []
  channel?: FrameDuplex<SubmitterFrame, PeerFrame>
  jobId = ''
  segments = new Map<number, SegmentSpec>()
  inputs = new Map<number, Uint8Array>()
  contributions = new Map<number, Uint8Array>()
  proofs = new Map<number, Uint8Array>()
  challenge?: Uint8Array
  aggregating?: { contributions: Uint8Array[]; fetched: Map<number, Uint8Array> }
  final?: Uint8Array
  ended = false
  private keepAlive?: NodeJS.Timeout

  constructor(harness: JobHarness, peerId: string, units: number, behaviour: PeerBehaviour = {}) {
    this.harness = harness
    this.peerId = peerId
    this.units = units
    this.behaviour = behaviour
  }

  send(frame: PeerFrame): void {
    if (this.ended || this.channel === undefined) return
    this.channel.write(frame, AbortSignal.timeout(60_000)).catch(() => undefined)
  }

  /** Opens its end of a job stream: what the transport's openJob gives the submitter */
  open(): FrameDuplex<PeerFrame, SubmitterFrame> {
    const [submitterEnd, peerEnd] = memoryDuplexPair<PeerFrame, SubmitterFrame>()
    if (this.channel !== undefined) {
      // leased again (a checker released once idle, wanted again): a new session, as a real worker's; what it
      // sent and received before stays on record
      this.stop()
      this.ended = false
      for (const held of [this.segments, this.inputs, this.contributions, this.proofs]) held.clear()
      this.challenge = undefined
      this.aggregating = undefined
    }
    this.channel = peerEnd
    void this.serve(peerEnd)
    return submitterEnd
  }

  /** Ends its side: the submitter sees its job stream close */
  hangUp(): void {
    this.stop()
    void this.channel?.close()
  }

  stop(): void {
    this.ended = true
    clearInterval(this.keepAlive)
  }

  private async serve(channel: FrameDuplex<SubmitterFrame, PeerFrame>): Promise<void> {
    const every = this.behaviour.keepAliveMs ?? 50
    if (every > 0) {
      this.keepAlive = setInterval(() => this.send({ keepAlive: {} }), every)
      this.keepAlive.unref()
    }
    try {
      for (;;) {
        const frame = await channel.read(AbortSignal.timeout(600_000))
        // a later lease opened a new session: this one's end (a Release sent late) is not that one's
        if (frame === undefined || this.ended || channel !== this.channel) break
        this.received.push(frame)
        await this.onFrame(frame)
      }
    } catch {
      // the submitter aborted the stream
    } finally {
      if (channel === this.channel) this.stop()
    }
  }

  private async onFrame(frame: SubmitterFrame): Promise<void> {
    const b = this.behaviour
    if (frame.reserve !== undefined) {
      this.jobId = frame.reserve.jobId
      await (b.reserve ?? honestReserve)(this, frame.reserve.units)
    } else if (frame.assign !== undefined) {
      for (const spec of frame.assign.segments) this.segments.set(spec.index, spec)
      for (const spec of frame.assign.segments) {
        if (this.inputs.has(spec.index)) await this.inputArrived(spec.index)
      }
    } else if (frame.challenge !== undefined) {
      this.challenge = frame.challenge.challenge
      for (const index of this.contributions.keys()) await (b.prove ?? honestProve)(this, index)
    } else if (frame.aggregate !== undefined) {
      this.aggregating = { contributions: frame.aggregate.contributions, fetched: new Map() }
      await b.aggregate?.(this, frame.aggregate.contributions)
    } else if (frame.fetch !== undefined) {
      await (b.fetch ?? honestFetch)(this, frame.fetch.segment, frame.fetch.peerId, frame.fetch.sha256)
    } else if (frame.forget !== undefined) {
      for (const index of frame.forget.segments) {
        this.segments.delete(index)
        this.contributions.delete(index)
        this.proofs.delete(index)
        this.aggregating?.fetched.delete(index)
      }
    } else if (frame.cancel !== undefined || frame.release !== undefined) {
      this.stop()
    }
  }

  /** The transport delivered a slice to this peer */
  async inputArrived(index: number): Promise<void> {
    if (!this.segments.has(index) || this.contributions.has(index)) return
    await (this.behaviour.contribute ?? honestContribute)(this, index)
  }
}

async function honestReserve(peer: ScriptedPeer, asked: number): Promise<void> {
  if (peer.units === 0) {
    peer.send({ refused: { code: RefuseCode.BUSY, message: 'no free units', freeUnits: 0 } })
    return
  }
  peer.send({
    reserved: {
      leaseId: `lease-${peer.peerId}`,
      units: Math.min(asked, peer.units),
      leaseMs: 60_000,
      submitterCap: 0
    }
  })
}

/** A peer that records and sends a wrong contribution, as if its prover computed it */
export function contributeLie(peer: ScriptedPeer, segment: number): void {
  const lie = new Uint8Array(32).fill(7)
  peer.contributions.set(segment, lie)
  peer.send({ contribution: { segment, contribution: lie } })
}

/** The segments of a peer's first Assign: its own share of the job (a check comes in a later one) */
export function firstAssign(peer: ScriptedPeer): number[] {
  const assign = peer.received.find((frame) => frame.assign !== undefined)?.assign
  return (assign?.segments ?? []).map((spec) => spec.index)
}

export async function honestContribute(peer: ScriptedPeer, index: number): Promise<void> {
  // withdrawn (Forget), or its session replaced by a new lease, while a script's delay ran: as a real worker's,
  // that work answers nothing, and the segment's next Assign and slice compute it again
  const input = peer.inputs.get(index)
  if (!peer.segments.has(index) || input === undefined) return
  const contribution = honestContribution(peer.jobId, index, input)
  peer.contributions.set(index, contribution)
  peer.send({ contribution: { segment: index, contribution } })
  if (peer.challenge !== undefined) await (peer.behaviour.prove ?? honestProve)(peer, index)
}

export async function honestProve(peer: ScriptedPeer, index: number): Promise<void> {
  const contribution = peer.contributions.get(index)
  if (contribution === undefined || peer.challenge === undefined || peer.proofs.has(index)) return
  const proof = sha256('proof', peer.jobId, String(index), contribution)
  peer.proofs.set(index, proof)
  peer.send({ proved: { segment: index, size: BigInt(proof.byteLength), sha256: sha256(proof), millis: 1 } })
  peer.harness.proofAppeared()
}

export async function honestFetch(
  peer: ScriptedPeer,
  index: number,
  from: string,
  expected: Uint8Array<ArrayBuffer>
): Promise<void> {
  const aggregating = peer.aggregating
  if (aggregating === undefined) return
  const proof = peer.harness.peer(from)?.proofs.get(index)
  if (proof === undefined || toString(sha256(proof), 'base16') !== toString(expected, 'base16')) {
    peer.send({
      failed: {
        code: FailCode.TRANSFER,
        message: `segment ${index}'s proof could not be fetched`,
        segment: index,
        proofSha256: expected
      }
    })
    return
  }
  aggregating.fetched.set(index, proof)
  if (aggregating.fetched.size < aggregating.contributions.length) return
  const final = honestFinal(peer.jobId, aggregating.contributions)
  peer.final = final
  peer.send({
    final: {
      digest: new Uint8Array(32),
      size: BigInt(final.byteLength),
      sha256: sha256(final),
      segments: aggregating.contributions.length
    }
  })
}

export async function honestServeFinal(
  peer: ScriptedPeer,
  dest: string,
  _signal: AbortSignal,
  onReceived: (bytes: number) => void
): Promise<{ size: number; sha256: Uint8Array }> {
  if (peer.final === undefined) throw new Error('no final proof here')
  await writeFile(dest, peer.final)
  onReceived(peer.final.byteLength)
  return { size: peer.final.byteLength, sha256: sha256(peer.final) }
}

export interface HarnessOptions {
  /** Bytes of input (default 64 blocks of PROGRAM.blockBytes) */
  input?: Uint8Array
  computeCapacity?: number
  /** Default 1 */
  minimalComputeCapacity?: number
  settings?: Partial<JobRunSettings>
  /** The run may pull capacity (JobRunContext.pullCapacity): a pull lists the peers added with addUnlisted */
  pull?: boolean
}

export interface HarnessResult {
  record: JobRecord
  events: JobEvent[]
  penalties: Array<{ peerId: string; reason: string }>
  /** Why the run threw, if it did */
  error?: Error
}

/** One job: its peers, their transport, the scripted prover, and a real JobRun over them */
export class JobHarness {
  private readonly peers = new Map<string, ScriptedPeer>()
  private readonly dir = mkdtempSync(join(tmpdir(), 'proofmesh-harness-'))
  /** Reserve attempts per peer (every openJob) */
  readonly opened = new Map<string, number>()
  /** Peers the run reported as refusing (for the service's back-off) */
  readonly refusals: string[] = []
  /** The caps the peers' grants stated, as the job service keeps them */
  readonly caps = new SubmitterCaps()
  private proofWaiters: Array<() => void> = []
  /** Peers the submitter's table lacks until the run pulls capacity */
  private readonly unlisted = new Set<string>()
  /** The units each capacity pull of the run asked for */
  readonly pulls: number[] = []

  add(peerId: string, units: number, behaviour?: PeerBehaviour): ScriptedPeer {
    const peer = new ScriptedPeer(this, peerId, units, behaviour)
    this.peers.set(peerId, peer)
    return peer
  }

  /** A peer that only a capacity pull finds (a neighbour's table lists it, this submitter's does not) */
  addUnlisted(peerId: string, units: number, behaviour?: PeerBehaviour): ScriptedPeer {
    this.unlisted.add(peerId)
    return this.add(peerId, units, behaviour)
  }

  peer(peerId: string): ScriptedPeer | undefined {
    return this.peers.get(peerId)
  }

  proofAppeared(): void {
    for (const wake of this.proofWaiters.splice(0)) wake()
  }

  readonly transport: JobTransport = {
    openJob: async (address) => {
      const peer = this.peers.get(address.peerId)
      if (peer === undefined) throw new Error(`no route to ${address.peerId}`)
      this.opened.set(address.peerId, (this.opened.get(address.peerId) ?? 0) + 1)
      return peer.open()
    },
    pushSlice: async (address, header, file, signal, onSent) => {
      const peer = this.peers.get(address.peerId)
      if (peer === undefined) throw new Error(`no route to ${address.peerId}`)
      if (peer.behaviour.receiveSlice !== undefined) {
        await peer.behaviour.receiveSlice(peer, header, signal, onSent)
        return
      }
      const start = Number(header.offset)
      const bytes = new Uint8Array((await readFile(file)).subarray(start, start + Number(header.length)))
      if (toString(sha256(bytes), 'base16') !== toString(header.sha256, 'base16'))
        throw new Error(`segment ${header.segment}'s slice does not match its SHA-256`)
      onSent(bytes.byteLength)
      peer.inputs.set(header.segment, bytes)
      await peer.inputArrived(header.segment)
    },
    hintsSink: async () => {
      let total = 0
      return {
        write: async (chunk) => {
          total += chunk.byteLength
        },
        finish: async (size) => {
          if (size !== total) throw new Error(`hints: ${total} bytes written, ${size} announced`)
        },
        abort: async () => undefined
      }
    },
    fetchFinalProof: async (address, _jobId, dest, signal, onReceived) => {
      const peer = this.peers.get(address.peerId)
      if (peer === undefined) throw new Error(`no route to ${address.peerId}`)
      return (peer.behaviour.serveFinal ?? honestServeFinal)(peer, dest, signal, onReceived)
    }
  }

  readonly prover: JobProver = {
    info: { backend: 'npp', name: 'scripted', version: '0', programs: [PROGRAM], gpus: [] },
    plan: async (params) => {
      if (params.hintsOut !== undefined) writeFileSync(params.hintsOut, 'hints of the scripted program')
      const size = Number((await readFile(params.input.path)).byteLength)
      return {
        program: PROGRAM.id,
        inputSize: size,
        totalBlocks: params.segments.reduce((sum, segment) => sum + segment.blockCount, 0),
        initialState: '',
        digest: toString(sha256('digest', String(size)), 'base16')
      }
    },
    verify: async (params) => {
      const proof = await readFile(params.proof)
      const expected = new TextEncoder().encode(`final ${params.job ?? ''} ${this.record?.challenge ?? ''}`)
      return Buffer.compare(proof, expected) === 0
        ? { valid: true, digest: params.digest }
        : { valid: false, reason: 'not the proof of these contributions' }
    }
  }

  record?: JobRecord

  /** Runs one job to its end over the peers added so far */
  async run(options: HarnessOptions = {}): Promise<HarnessResult> {
    const input = options.input ?? sha256Stretch(64 * PROGRAM.blockBytes)
    const inputPath = join(this.dir, 'input.bin')
    writeFileSync(inputPath, input)
    const units = [...this.peers.values()].reduce((sum, peer) => sum + peer.units, 0)
    const computeCapacity = options.computeCapacity ?? Math.max(1, units)
    const record = jobRecord(`job-${Math.random().toString(16).slice(2, 10)}`, {
      inputMode: 'data',
      input: inputPath,
      computeCapacity,
      inputSize: input.byteLength
    })
    record.request.minimalComputeCapacity = options.minimalComputeCapacity ?? 1
    this.record = record
    const events: JobEvent[] = []
    const penalties: Array<{ peerId: string; reason: string }> = []
    const settings = jobRunSettings(this.dir, record.id, options.settings)
    const run = new JobRun({
      record,
      save: () => undefined,
      event: (event: NewJobEvent) =>
        events.push({ ...event, jobId: record.id, seq: events.length + 1, at: Date.now() }),
      prover: this.prover,
      transport: this.transport,
      candidates: () =>
        [...this.peers.values()]
          .filter((peer) => !this.unlisted.has(peer.peerId))
          .map((peer) => ({
            peerId: peer.peerId,
            local: peer.behaviour.local ?? false,
            addrs: [],
            programs: [PROGRAM.id],
            unitsFree: peer.units,
            unitsTotal: peer.units,
            penalty: penalties.filter((penalty) => penalty.peerId === peer.peerId).length
          })),
      pullCapacity:
        options.pull === true
          ? async (units) => {
              this.pulls.push(units)
              this.unlisted.clear()
            }
          : undefined,
      penalise: (peerId, reason) => penalties.push({ peerId, reason }),
      refused: (peerId) => this.refusals.push(peerId),
      granted: (peerId, submitterCap) => this.caps.granted(peerId, submitterCap),
      capReached: (peerId, units) => this.caps.reaches(peerId, units),
      settings,
      logger: createLogger({ level: (process.env.HARNESS_LOG as 'info' | undefined) ?? 'silent' }),
      signal: AbortSignal.timeout(120_000)
    })
    // the run's own timers are unref'd (a daemon's never keep it alive): this one keeps the test's process up
    const alive = setInterval(() => undefined, 1_000)
    try {
      await run.run()
      return { record, events, penalties }
    } catch (err) {
      return { record, events, penalties, error: err as Error }
    } finally {
      clearInterval(alive)
    }
  }

  close(): void {
    for (const peer of this.peers.values()) peer.stop()
    rmSync(this.dir, { recursive: true, force: true })
  }
}

/** A queued job of PROGRAM, as the job service hands it to a JobRun */
export function jobRecord(
  id: string,
  input: { inputMode: 'data' | 'path'; input: string; computeCapacity: number; inputSize: number }
): JobRecord {
  const now = Date.now()
  return {
    id,
    request: {
      program: PROGRAM.id,
      inputMode: input.inputMode,
      input: input.input,
      computeCapacity: input.computeCapacity,
      minimalComputeCapacity: 1,
      priority: 0,
      dataId: '',
      timeoutMs: 60_000,
      webhookUrl: '',
      saveProof: false
    },
    state: 'queued',
    submitter: 'submitter',
    createdAt: now,
    updatedAt: now,
    inputSize: input.inputSize,
    peers: [],
    segments: [],
    phases: {},
    bytesOut: 0
  }
}

/** Settings with deadlines far beyond what a test waits for (a test sets the one it is about), files under dir */
export function jobRunSettings(
  dir: string,
  jobId: string,
  overrides: Partial<JobRunSettings> = {}
): JobRunSettings {
  return {
    leaseMs: 60_000,
    peerTimeoutMs: 30_000,
    maxRetries: 2,
    stragglerFactor: 0,
    phase1TimeoutMs: 30_000,
    phase2TimeoutMs: 30_000,
    aggregateTimeoutMs: 30_000,
    progressTimeoutMs: 30_000,
    transferLimits: TRANSFER_LIMIT_DEFAULTS,
    maxPeersPerJob: 16,
    proofsDir: join(dir, 'proofs'),
    jobDir: join(dir, jobId),
    inputsFolder: join(dir, 'inputs'),
    ...overrides
  }
}

/** Deterministic bytes that differ block to block */
function sha256Stretch(length: number): Uint8Array {
  const out = new Uint8Array(length)
  for (let i = 0; i < length; i += 32) out.set(sha256(String(i)).subarray(0, Math.min(32, length - i)), i)
  return out
}
