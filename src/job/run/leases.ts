/** The job's links: leasing units from peers, reading each peer's job stream, sending on it, and ending it */
import type { PeerFrame, SubmitterFrame } from '../../../protocols/job/pb/job.js'
import { deadline } from '../../net/deadline.js'
import { closeWithFrame, type FrameDuplex } from '../../net/frame-duplex.js'
import { toError } from '../../net/framed-stream.js'
import { JOB_REPLY_TIMEOUT_MS } from '../../../protocols/job/constants.js'
import { peerText } from '../../net/peer-text.js'
import { CapacityShortError } from '../errors.js'
import { shortPeerId } from '../../jobs-model/peer-id.js'
import { type Candidate, type Link, rankCandidates } from '../link.js'
import { reserveDefaults, reserveInWaves } from '../reserve.js'
import { grantedUnits } from '../blame.js'
import type { JobPeerRecord } from '../../jobs-model/types.js'
import type { JobRunState } from './state.js'

/** Release or Cancel gets this long to go out before the stream is reset: the peer's lease lapses without it */
const RELEASE_TIMEOUT_MS = 2_000

export async function reserve(run: JobRunState): Promise<void> {
  run.setState('reserving', 'reserve')
  const { computeCapacity, minimalComputeCapacity } = run.record.request
  const kept: Link[] = []
  const asked = new Set<string>()
  const reservedUnits = (): number => kept.reduce((sum, link) => sum + link.record.units, 0)
  await reserveWaves(run, computeCapacity, asked, kept)
  // short after the waves (the table held too little, or its adverts were stale): one pull from the neighbours'
  // tables (capacity/pull.ts), and the peers it listed asked
  if (reservedUnits() < computeCapacity && run.ctx.pullCapacity !== undefined && !run.ctx.signal.aborted) {
    await run.ctx.pullCapacity(computeCapacity - reservedUnits())
    await reserveWaves(run, computeCapacity - reservedUnits(), asked, kept)
  }
  const reserved = reservedUnits()
  if (reserved < minimalComputeCapacity) {
    const capped = kept.filter((link) => run.ctx.capReached(link.peer.peerId, link.record.units)).length
    const why =
      capped === 0
        ? ''
        : `: ${capped} of the ${kept.length} peers that granted units capped the grant at what they let one submitter hold (their security.max_units_per_submitter)`
    throw new CapacityShortError(
      `needs ${minimalComputeCapacity} units, ${reserved} could be leased${why}`,
      reserved
    )
  }
  run.endPhase('reserve')
}

/** Reserves `need` units in waves from the candidates not `asked` yet (each asked is added); grants go to `kept` */
async function reserveWaves(run: JobRunState, need: number, asked: Set<string>, kept: Link[]): Promise<void> {
  const candidates = rankCandidates(run.ctx.candidates()).filter(
    (candidate) =>
      candidate.unitsFree > 0 && !run.excluded.has(candidate.peerId) && !asked.has(candidate.peerId)
  )
  const outcome = await reserveInWaves({
    candidates,
    need,
    maxPeers: run.ctx.settings.maxPeersPerJob - run.links.length,
    hedgeMs: reserveDefaults.hedgeMs,
    ask: async (candidate, units) => {
      asked.add(candidate.peerId)
      return reserveOne(run, candidate, units, reserveDefaults.peerTimeoutMs)
    },
    unitsOf: (link) => link.record.units,
    late: (link) => void releaseUnneeded(run, link),
    signal: run.ctx.signal
  })
  for (const link of outcome.surplus) await releaseUnneeded(run, link)
  kept.push(...outcome.kept)
}

/** A lease granted beyond the need (the reserve phase asked more peers than it kept): its units go back */
export async function releaseUnneeded(run: JobRunState, link: Link): Promise<void> {
  await closeLink(run, link, 'release', 'not needed: other peers covered the units first')
  run.ctx.event({ kind: 'released', peer: link.peer.peerId, message: 'released: not needed' })
  run.ctx.save()
}

/**
 * A new peer for the job from the table (not working on it now, not excluded, with free units), leased; none if
 * none will. A peer released as unneeded may come back: when the peers that took every segment turned out to be
 * liars, those released at the plan were the only ones left to take over or to referee.
 */
export async function leaseSpare(run: JobRunState): Promise<Link | undefined> {
  let asking = askingSpares.get(run)
  if (asking === undefined) askingSpares.set(run, (asking = new Set()))
  for (const candidate of rankCandidates(run.ctx.candidates())) {
    if (candidate.unitsFree <= 0 || run.excluded.has(candidate.peerId) || asking.has(candidate.peerId))
      continue
    if (run.links.some((link) => link.peer.peerId === candidate.peerId && !link.closed)) continue
    asking.add(candidate.peerId)
    try {
      const link = await reserveOne(
        run,
        candidate,
        Math.min(candidate.unitsFree, run.record.request.computeCapacity)
      )
      if (link !== undefined) return link
    } finally {
      asking.delete(candidate.peerId)
    }
  }
  return undefined
}

/**
 * Peers a leaseSpare is asking now, per run: two spares wanted at once (a takeover and a referee) each skip the
 * peer the other is reserving, which would otherwise be leased twice (seen under load, 13 ms apart)
 */
const askingSpares = new WeakMap<JobRunState, Set<string>>()

export async function reserveOne(
  run: JobRunState,
  peer: Candidate,
  unitsAsked: number,
  timeoutMs = JOB_REPLY_TIMEOUT_MS
): Promise<Link | undefined> {
  const signal = AbortSignal.any([
    run.ctx.signal,
    deadline(`the lease reply (Reserve → Reserved) from peer ${shortPeerId(peer.peerId)}`, timeoutMs)
  ])
  let channel: FrameDuplex<PeerFrame, SubmitterFrame> | undefined
  try {
    channel = await run.ctx.transport.openJob(peer, signal)
    await channel.write(
      {
        reserve: {
          jobId: run.record.id,
          program: run.record.request.program,
          units: unitsAsked,
          minUnits: 1,
          inputSize: BigInt(run.record.inputSize ?? 0),
          leaseMs: run.ctx.settings.leaseMs,
          keepAliveMs: Math.max(100, Math.floor(run.ctx.settings.peerTimeoutMs / 3))
        }
      },
      signal
    )
    const reply = await channel.read(signal)
    if (reply?.reserved === undefined) {
      const why = reply?.refused === undefined ? 'no answer' : peerText(reply.refused.message)
      run.excluded.add(peer.peerId)
      run.ctx.refused(peer.peerId)
      run.log.info({ peer: peer.peerId, why }, 'lease refused')
      run.ctx.event({ kind: 'refused', peer: peer.peerId, message: `refused: ${why}` })
      await channel.close()
      return undefined
    }
    const units = grantedUnits(unitsAsked, reply.reserved.units)
    if (units !== reply.reserved.units) {
      run.log.warn(
        { peer: peer.peerId, asked: unitsAsked, answered: reply.reserved.units, counted: units },
        'a lease granted more units than asked: counted as asked'
      )
    }
    if (units === 0) {
      run.excluded.add(peer.peerId)
      run.ctx.refused(peer.peerId)
      run.ctx.event({ kind: 'refused', peer: peer.peerId, message: 'refused: it granted 0 units' })
      await channel.close()
      return undefined
    }
    run.ctx.granted(peer.peerId, reply.reserved.submitterCap)
    const record: JobPeerRecord = {
      peerId: peer.peerId,
      local: peer.local,
      units,
      leaseId: reply.reserved.leaseId,
      state: 'reserved',
      bytesSent: 0
    }
    const link: Link = {
      peer,
      record,
      channel,
      segments: [],
      proved: new Set(),
      closed: false,
      hasHints: false,
      hasChallenge: false,
      forgotten: new Set(),
      contributed: new Set(),
      progressAt: Date.now()
    }
    run.links.push(link)
    if (!peer.local) run.silence.heard(link)
    run.record.peers.push(record)
    run.ctx.save()
    run.ctx.event({
      kind: 'leased',
      peer: peer.peerId,
      units: record.units,
      message: `leased ${record.units} units`
    })
    startKeepAlive(run, link)
    void readFrames(run, link)
    return link
  } catch (err) {
    run.ctx.signal.throwIfAborted()
    run.excluded.add(peer.peerId)
    run.ctx.refused(peer.peerId)
    run.log.info({ peer: peer.peerId, err: toError(err).message }, 'peer not reserved')
    channel?.abort(toError(err))
    return undefined
  }
}

/** Any frame renews a lease; keep-alives fill the silences (a third of the lease each) */
export function startKeepAlive(run: JobRunState, link: Link): void {
  link.keepAlive = setInterval(
    () => {
      link.channel.write({ keepAlive: {} }, run.ctx.signal).catch(() => undefined)
    },
    Math.max(100, Math.floor(run.ctx.settings.leaseMs / 3))
  )
  link.keepAlive.unref()
}

export async function readFrames(run: JobRunState, link: Link): Promise<void> {
  try {
    for (;;) {
      const frame = await link.channel.read(run.ctx.signal)
      if (frame === undefined) break
      if (!link.peer.local) {
        const gap = run.silence.heard(link)
        if (gap > (link.record.longestGapMs ?? 0)) link.record.longestGapMs = gap
      }
      run.onFrame(link, frame)
    }
    if (!link.closed) run.peerFailed(link, { code: 'LOST', message: 'it closed its job stream' })
  } catch (err) {
    if (!link.closed && !run.ctx.signal.aborted)
      run.peerFailed(link, { code: 'LOST', message: toError(err).message })
  }
}

export function send(run: JobRunState, link: Link, frame: SubmitterFrame): void {
  link.channel
    .write(frame, run.ctx.signal)
    .catch((err: unknown) => run.peerFailed(link, { code: 'UNREACHABLE', message: toError(err).message }))
}

/**
 * Tells a leased peer that the job ended (`frame`: Release or Cancel) and closes its job stream; a peer that does
 * not take it within RELEASE_TIMEOUT_MS loses its lease when it lapses
 */
export async function endLease(
  channel: FrameDuplex<PeerFrame, SubmitterFrame>,
  peerId: string,
  frame: SubmitterFrame
): Promise<void> {
  const how = frame.release === undefined ? 'cancel' : 'release'
  const signal = deadline(`telling peer ${shortPeerId(peerId)} the job ended (${how})`, RELEASE_TIMEOUT_MS)
  await closeWithFrame(channel, frame, signal)
}

export async function closeLink(
  run: JobRunState,
  link: Link,
  how: 'release' | 'cancel',
  reason: string
): Promise<void> {
  if (link.closed) return
  link.closed = true
  run.silence.forget(link)
  clearInterval(link.keepAlive)
  await endLease(link.channel, link.peer.peerId, how === 'release' ? { release: {} } : { cancel: { reason } })
  if (link.record.state !== 'failed') link.record.state = 'released'
}

/** Every lease ends with the job, whatever the outcome */
export async function releaseAll(run: JobRunState, how: 'release' | 'cancel', reason: string): Promise<void> {
  await Promise.all(run.links.map(async (link) => closeLink(run, link, how, reason)))
  run.ctx.save()
}
