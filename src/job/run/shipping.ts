/** What goes out to a peer with its segments: the Assign, the input slices, the hints, the challenge */
import { createHash } from 'node:crypto'
import { fromString } from 'uint8arrays'
import { toError } from '../../net/framed-stream.js'
import { assignFrame, sliceHeader } from '../assign-frames.js'
import { JobFailure } from '../errors.js'
import { shortPeerId } from '../../jobs-model/peer-id.js'
import type { Link } from '../link.js'
import { TransferDeadline } from '../../net/transfer-deadline.js'
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
  await link.channel.write({ assign: assignFrame(run.record, segments, true) }, run.ctx.signal)
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
    const header = sliceHeader(run.record, segment)
    const idle = transferDeadline(run, link, `sending segment ${segment.index}'s input`)
    await run.ctx.transport
      .pushSlice(link.peer, header, run.input, AbortSignal.any([run.ctx.signal, idle.signal]), (bytes) => {
        idle.moved(bytes)
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
  const transfer = transferDeadline(run, link, 'sending the hints')
  const signal = AbortSignal.any([run.ctx.signal, transfer.signal])
  try {
    // a socket source may be slow to give its next chunk: that time is this side's, not the peer's
    transfer.pause()
    // JobHints holds the hints to MAX_HINTS_BYTES
    for await (const chunk of run.hints.read()) {
      transfer.resume()
      total += chunk.byteLength
      hash.update(chunk)
      await sink.write(chunk, signal)
      transfer.moved(chunk.byteLength)
      if (!link.peer.local) countSent(run, link, chunk.byteLength)
      transfer.pause()
    }
    transfer.resume()
    await sink.finish(total, hash.digest(), signal)
  } catch (err) {
    const why = toError(run.ctx.signal.aborted ? err : (transfer.signal.reason ?? err))
    await sink.abort(why)
    if (err instanceof JobFailure) throw err
    run.ctx.signal.throwIfAborted()
    throw new Error(`the hints did not arrive: ${why.message}`)
  } finally {
    transfer.stop()
  }
}

/**
 * The deadline of a transfer to a remote peer (jobs.transfer_idle_timeout and its rate floor). This daemon's own
 * worker is reached in memory: no network to stall, and its deliveries report no bytes, so it gets none.
 */
export function transferDeadline(run: JobRunState, link: Link, what: string): TransferDeadline {
  const transfer = new TransferDeadline(
    `${what} to peer ${shortPeerId(link.peer.peerId)}`,
    run.ctx.settings.transferLimits
  )
  if (link.peer.local) transfer.stop()
  return transfer
}

export function countSent(run: JobRunState, link: Link, bytes: number): void {
  link.progressAt = Date.now()
  link.record.bytesSent += bytes
  run.record.bytesOut += bytes
}
