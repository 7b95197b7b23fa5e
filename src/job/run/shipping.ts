/** What goes out to a peer with its segments: the Assign, the input slices, the hints, the challenge */
import { createHash } from 'node:crypto'
import { InputMode, type SegmentSpec } from '../../../protocols/job/pb/job.js'
import { fromString } from 'uint8arrays'
import { toError } from '../../net/framed-stream.js'
import { JobFailure } from '../errors.js'
import { shortPeerId } from '../../jobs-model/peer-id.js'
import type { Link } from '../link.js'
import { IdleDeadline } from '../idle-deadline.js'
import type { SegmentRecord } from '../../jobs-model/types.js'
import type { JobRunState } from './state.js'
import { send } from './leases.js'

/** How often the journal is told of the bytes sent while slices stream (see saveCountsSoon) */
const COUNTS_SAVE_MS = 1_000

/** Sends a peer its segments, their input slices and (once per peer) the hints; the challenge once fixed */
export async function assignTo(run: JobRunState, link: Link, segments: SegmentRecord[]): Promise<void> {
  const { request } = run.record
  for (const segment of segments) {
    link.forgotten.delete(segment.index)
    link.contributed.delete(segment.index)
  }
  link.progressAt = Date.now()
  await link.channel.write(
    {
      assign: {
        inputSize: BigInt(run.record.inputSize ?? 0),
        inputMode: request.inputMode === 'data' ? InputMode.DATA : InputMode.PATH,
        inputName: request.inputMode === 'path' ? request.input : '',
        hints: true,
        segments: segments.map((segment): SegmentSpec => ({
          index: segment.index,
          startBlock: BigInt(segment.startBlock),
          blockCount: BigInt(segment.blockCount),
          inputOffset: BigInt(segment.inputOffset),
          inputLength: BigInt(segment.inputLength),
          inputSha256: fromString(segment.inputSha256, 'base16')
        }))
      }
    },
    run.ctx.signal
  )
  if (link.record.state === 'reserved') link.record.state = 'assigned'
  run.ctx.save()
  const hints = link.hasHints ? Promise.resolve() : shipHints(run, link)
  link.hasHints = true
  await Promise.all([...(request.inputMode === 'data' ? [shipSlices(run, link, segments)] : []), hints])
  if (run.record.challenge !== undefined) sendChallenge(run, link)
}

export function sendChallenge(run: JobRunState, link: Link): void {
  if (link.hasChallenge || run.record.challenge === undefined) return
  link.hasChallenge = true
  link.busySince = Date.now()
  send(run, link, { challenge: { challenge: fromString(run.record.challenge, 'base16') } })
}

/**
 * A transfer to one peer that fails is that peer's failure (its segments move on), not the job's; only a hints
 * source that fails (a socket that breaks, a file that cannot be read) fails the job.
 */
export function track(run: JobRunState, work: Promise<void>, link: Link): void {
  work.catch((err: unknown) => {
    if (run.ctx.signal.aborted) return
    if (err instanceof JobFailure) {
      run.failure ??= err
      run.notify()
      return
    }
    run.peerFailed(link, { code: 'TRANSFER', message: toError(err).message })
  })
}

/**
 * A backup copy that lost (Forget) before or while its slice went out is no longer the peer's business: its
 * refusal of that slice is right, not the peer's failure (which would move the segments it proved).
 */
export async function shipSlices(run: JobRunState, link: Link, segments: SegmentRecord[]): Promise<void> {
  for (const segment of segments) {
    if (link.forgotten.has(segment.index)) continue
    const header = {
      jobId: run.record.id,
      segment: segment.index,
      offset: BigInt(segment.inputOffset),
      length: BigInt(segment.inputLength),
      total: BigInt(run.record.inputSize ?? 0),
      sha256: fromString(segment.inputSha256, 'base16')
    }
    const idle = transferDeadline(run, link, `sending segment ${segment.index}'s input`)
    await run.ctx.transport
      .pushSlice(link.peer, header, run.input, AbortSignal.any([run.ctx.signal, idle.signal]), (bytes) => {
        idle.touch()
        countSent(run, link, bytes)
        saveCountsSoon(run)
      })
      .catch((err: unknown) => {
        if (link.forgotten.has(segment.index)) return
        run.ctx.signal.throwIfAborted()
        throw new Error(
          `segment ${segment.index}'s input did not arrive: ${toError(idle.signal.reason ?? err).message}`
        )
      })
      .finally(() => idle.stop())
  }
}

/**
 * The byte counts move with every chunk; the journal (which the API and the page read) gets them at most once
 * per COUNTS_SAVE_MS while slices stream, rather than a write per megabyte
 */
export function saveCountsSoon(run: JobRunState): void {
  if (run.countsSave !== undefined || run.done) return
  run.countsSave = setTimeout(() => {
    run.countsSave = undefined
    if (!run.done) run.ctx.save()
  }, COUNTS_SAVE_MS)
  run.countsSave.unref()
}

/**
 * One peer's hints, relayed chunk by chunk as the source yields them. A socket source is read once, by the
 * first peers' relays together (see JobHints), and kept in a file for any peer that joins the job later.
 */
export async function shipHints(run: JobRunState, link: Link): Promise<void> {
  const sink = await run.ctx.transport.hintsSink(link.peer, run.record.id, run.ctx.signal)
  const hash = createHash('sha256')
  let total = 0
  try {
    // JobHints holds the hints to MAX_HINTS_BYTES
    for await (const chunk of run.hints.read()) {
      total += chunk.byteLength
      hash.update(chunk)
      await idleBounded(run, link, 'sending the hints', async (signal) => sink.write(chunk, signal))
      if (!link.peer.local) countSent(run, link, chunk.byteLength)
    }
    await idleBounded(run, link, 'finishing the hints', async (signal) =>
      sink.finish(total, hash.digest(), signal)
    )
  } catch (err) {
    await sink.abort(toError(err))
    if (err instanceof JobFailure) throw err
    throw new Error(`the hints did not arrive: ${toError(err).message}`)
  }
}

/**
 * The idle deadline of a transfer to a remote peer (jobs.transfer_idle_timeout). This daemon's own worker is
 * reached in memory: no network to stall, and its deliveries report no bytes, so it gets none.
 */
export function transferDeadline(run: JobRunState, link: Link, what: string): IdleDeadline {
  const idle = new IdleDeadline(
    `${what} to peer ${shortPeerId(link.peer.peerId)}`,
    run.ctx.settings.transferIdleMs
  )
  if (link.peer.local) idle.stop()
  return idle
}

/** One step of a transfer (a chunk written, an end acknowledged) under the transfer's idle deadline */
export async function idleBounded(
  run: JobRunState,
  link: Link,
  what: string,
  step: (signal: AbortSignal) => Promise<void>
): Promise<void> {
  const idle = transferDeadline(run, link, what)
  try {
    await step(AbortSignal.any([run.ctx.signal, idle.signal]))
  } catch (err) {
    run.ctx.signal.throwIfAborted()
    throw toError(idle.signal.reason ?? err)
  } finally {
    idle.stop()
  }
}

export function countSent(run: JobRunState, link: Link, bytes: number): void {
  link.progressAt = Date.now()
  link.record.bytesSent += bytes
  run.record.bytesOut += bytes
}
