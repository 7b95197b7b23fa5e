/**
 * What every case generator may draw on (the fuzzing peer, the daemon's id, the anchors), and the anchors' life:
 * leased and assigned on the job protocol, kept alive while the inputs, hints and proof surfaces run, released.
 */
import type { PeerId } from '@libp2p/interface'
import {
  FailCode,
  InputMode,
  PeerFrame,
  type SegmentSpec,
  SubmitterFrame
} from '../../../protocols/job/pb/job.js'
import { FramedStream } from '../../../src/net/framed-stream.js'
import { type ProofmeshHost } from '../../../src/net/host.js'
import { JOB_PROTOCOL, MAX_JOB_FRAME_BYTES } from '../../../protocols/job/constants.js'
import { poll } from '../../helpers/api.js'
import { sha256 } from './bytes.js'
import { caseRng } from './rng.js'
import { BLOCK_BYTES, PROGRAM, SEED } from './settings.js'

/** A job session the fuzzer holds open on the daemon, so that inputs, hints and proof cases reach a session */
export interface Anchor {
  jobId: string
  input: Uint8Array
  segments: Array<{ spec: SegmentSpec; data: Uint8Array }>
  framed: FramedStream
  controller: AbortController
  keepAlive: NodeJS.Timeout
  failures: string[]
  contributions: number
}

export interface FuzzContext {
  daemonId: PeerId
  host: ProofmeshHost
  /** A valid peer id nobody listens as */
  strangerId: string
  anchors: Anchor[]
  emptyFile: string
}

async function openAnchor(ctx: FuzzContext, index: number): Promise<Anchor> {
  const rng = caseRng('anchor', index)
  const jobId = `fzanchor${index}x${SEED.toString(36)}`
  // canonical segments of 16 blocks, as the native prover wants them: its contribute runs once a slice is in
  const length = 16 * BLOCK_BYTES
  const input = rng.bytes(4 * length)
  const segments = [0, 1, 2, 3].map((i) => {
    const data = input.subarray(i * length, (i + 1) * length)
    const spec: SegmentSpec = {
      index: i,
      startBlock: BigInt(i * 16),
      blockCount: 16n,
      inputOffset: BigInt(i * length),
      inputLength: BigInt(length),
      inputSha256: sha256(data)
    }
    return { spec, data }
  })
  const signal = AbortSignal.timeout(10_000)
  const stream = await ctx.host.dialProtocol(ctx.daemonId, JOB_PROTOCOL, { signal })
  const framed = new FramedStream(stream)
  await framed.write(
    {
      reserve: {
        jobId,
        program: PROGRAM,
        units: 1,
        minUnits: 1,
        inputSize: BigInt(input.byteLength),
        leaseMs: 600_000,
        keepAliveMs: 5_000
      }
    },
    SubmitterFrame,
    signal
  )
  const answer = await framed.read(PeerFrame, MAX_JOB_FRAME_BYTES, signal)
  if (answer.reserved === undefined) {
    framed.abort(new Error('no lease'))
    throw new Error(`anchor ${jobId} refused: ${answer.refused?.message ?? 'no Reserved'}`)
  }
  await framed.write(
    {
      assign: {
        inputSize: BigInt(input.byteLength),
        inputMode: InputMode.DATA,
        inputName: '',
        // the last anchor takes no hints, so that its slices alone start the prover
        hints: index < 2,
        segments: segments.map(({ spec }) => spec)
      }
    },
    SubmitterFrame,
    signal
  )
  const controller = new AbortController()
  const anchor: Anchor = {
    jobId,
    input,
    segments,
    framed,
    controller,
    failures: [],
    contributions: 0,
    keepAlive: setInterval(() => {
      framed.write({ keepAlive: {} }, SubmitterFrame, AbortSignal.timeout(5_000)).catch(() => undefined)
    }, 20_000)
  }
  void (async () => {
    try {
      for (;;) {
        const frame = await framed.readOptional(PeerFrame, MAX_JOB_FRAME_BYTES, controller.signal)
        if (frame === undefined) return
        if (frame.failed !== undefined)
          anchor.failures.push(`${FailCode[frame.failed.code]}: ${frame.failed.message}`)
        if (frame.contribution !== undefined) anchor.contributions++
      }
    } catch {
      // released or reset
    }
  })()
  return anchor
}

/** Opens the three anchors, unless they are open already */
export async function ensureAnchors(ctx: FuzzContext): Promise<void> {
  if (ctx.anchors.length > 0) return
  for (let index = 0; index < 3; index++) {
    const anchor = await poll(`anchor session ${index}`, 15_000, async () => openAnchor(ctx, index))
    ctx.anchors.push(anchor)
  }
}

/** Releases the anchors, and prints what each one saw: the contributions it got, and the failures */
export async function releaseAnchors(ctx: FuzzContext): Promise<void> {
  for (const anchor of ctx.anchors.splice(0)) {
    clearInterval(anchor.keepAlive)
    await anchor.framed
      .write({ release: {} }, SubmitterFrame, AbortSignal.timeout(2_000))
      .catch(() => undefined)
    await anchor.framed.close(AbortSignal.timeout(2_000)).catch(() => undefined)
    anchor.controller.abort()
    anchor.framed.abort(new Error('fuzz: anchor released'))
    process.stderr.write(
      `fuzz anchor ${anchor.jobId}: ${anchor.contributions} contributions, ${anchor.failures.length} failures${
        anchor.failures.length > 0 ? ` (first: ${anchor.failures[0]})` : ''
      }\n`
    )
  }
}
