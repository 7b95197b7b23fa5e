/**
 * The reserve phase's order of asking: which peers are asked for how many units, and when more are asked.
 *
 * Asked one after another, every peer that accepts the job stream and then says nothing held the phase for its
 * whole reply deadline: ten fake peers advertising 1,000,000 units each (ranked first for it) stretched an honest
 * job's reserve from 31 ms to 60 s. Here the first wave asks, at once, the best-ranked peers whose free units
 * cover the need; an honest peer answers in milliseconds. If the need is still not covered `hedgeMs` later,
 * every other candidate (up to the peer cap) is asked at once for what is missing: a phase stalled by liars costs
 * one hedge delay, however many liars there are, while a healthy network is never asked for more than it needs.
 * Each ask is bounded by the caller's per-peer deadline; what is granted beyond the need is handed back
 * (`surplus`), the lowest-ranked first, and grants that arrive after the phase are handed to `late`.
 */

export const reserveDefaults = {
  /**
   * An honest peer books a lease in one synchronous step and answers at once (the whole reserve phase of a clean
   * job took 31 ms); a second without the need covered means someone is stalling, and everyone else is asked
   */
  hedgeMs: 1_000,
  /**
   * One ask: the dial (if there is no connection yet) and the reply. Below the job protocol's 10 s reply deadline,
   * so that a staller holds the phase no longer than a saturated host's stalls (3.4 s measured) need
   */
  peerTimeoutMs: 5_000
}

export interface ReserveCandidate {
  peerId: string
  unitsFree: number
}

export interface ReservePlan<C extends ReserveCandidate, L> {
  /** Best first (rankCandidates), already filtered to those worth asking */
  candidates: C[]
  need: number
  /** At most this many peers granted or asked at once */
  maxPeers: number
  /** Without the need covered this long after the first wave, everyone else is asked too */
  hedgeMs: number
  /** Asks one peer; undefined when it refused, failed or passed its own deadline. Must settle. */
  ask: (candidate: C, units: number) => Promise<L | undefined>
  unitsOf: (granted: L) => number
  /** A grant that arrived after the phase was over: the caller releases it */
  late: (granted: L) => void
  /** The phase's own deadline or the job's end: stop waiting, keep what was granted */
  signal?: AbortSignal
}

export interface ReserveOutcome<L> {
  /** Grants kept, in the order of the candidates' rank */
  kept: L[]
  /** Grants beyond the need, for the caller to release */
  surplus: L[]
}

interface Asked<C, L> {
  candidate: C
  rank: number
  units: number
  outcome?: L | 'none'
}

export async function reserveInWaves<C extends ReserveCandidate, L>(
  plan: ReservePlan<C, L>
): Promise<ReserveOutcome<L>> {
  const asked: Array<Asked<C, L>> = []
  let next = 0
  let finished = false
  let wake: (() => void) | undefined

  const grantedUnits = (): number =>
    asked.reduce((sum, entry) => sum + (isGrant(entry.outcome) ? plan.unitsOf(entry.outcome) : 0), 0)
  const openUnits = (): number =>
    asked.reduce((sum, entry) => sum + (entry.outcome === undefined ? entry.units : 0), 0)
  const inFlight = (): number => asked.filter((entry) => entry.outcome === undefined).length
  const peersInPlay = (): number =>
    asked.filter((entry) => entry.outcome === undefined || isGrant(entry.outcome)).length

  const launch = (rank: number, units: number): void => {
    const candidate = plan.candidates[rank] as C
    const entry: Asked<C, L> = { candidate, rank, units }
    asked.push(entry)
    plan
      .ask(candidate, units)
      .catch(() => undefined)
      .then((outcome) => {
        entry.outcome = outcome ?? 'none'
        if (finished && isGrant(entry.outcome)) plan.late(entry.outcome)
        wake?.()
      })
      .catch(() => undefined)
  }
  /** The next candidates in rank order, until their asks add up to `cover` (or the peer cap, or none left) */
  const askToCover = (cover: number): void => {
    let left = cover
    while (left > 0 && next < plan.candidates.length && peersInPlay() < plan.maxPeers) {
      const rank = next++
      const free = plan.candidates[rank]?.unitsFree ?? 0
      if (free <= 0) continue
      const units = Math.min(free, left)
      left -= units
      launch(rank, units)
    }
  }
  /** Every candidate not asked yet (up to the peer cap), each for all of `missing` it can give */
  const askEveryone = (missing: number): void => {
    while (next < plan.candidates.length && peersInPlay() < plan.maxPeers) {
      const rank = next++
      const free = plan.candidates[rank]?.unitsFree ?? 0
      if (free > 0) launch(rank, Math.min(free, missing))
    }
  }
  const sleep = async (ms: number | undefined): Promise<void> => {
    await new Promise<void>((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(done, Math.max(0, ms))
      function done(): void {
        clearTimeout(timer)
        plan.signal?.removeEventListener('abort', done)
        wake = undefined
        resolve()
      }
      wake = done
      plan.signal?.addEventListener('abort', done, { once: true })
    })
  }

  const hedgeAt = Date.now() + plan.hedgeMs
  let hedged = false
  while (grantedUnits() < plan.need && plan.signal?.aborted !== true) {
    if (!hedged && Date.now() >= hedgeAt) hedged = true
    // before the hedge a refusal is replaced by the next candidates; after it, everyone left is asked
    if (hedged) askEveryone(plan.need - grantedUnits())
    else askToCover(plan.need - grantedUnits() - openUnits())
    if (inFlight() === 0) break
    await sleep(hedged ? undefined : hedgeAt - Date.now())
  }
  finished = true
  return trim(asked, plan)
}

function isGrant<L>(outcome: L | 'none' | undefined): outcome is L {
  return outcome !== undefined && outcome !== 'none'
}

/** Keeps the best-ranked grants that cover the need; hands back the rest, lowest-ranked first */
function trim<C extends ReserveCandidate, L>(
  asked: Array<Asked<C, L>>,
  plan: ReservePlan<C, L>
): ReserveOutcome<L> {
  const grants = asked
    .filter((entry): entry is Asked<C, L> & { outcome: L } => isGrant(entry.outcome))
    .sort((a, b) => a.rank - b.rank)
  let total = grants.reduce((sum, entry) => sum + plan.unitsOf(entry.outcome), 0)
  const surplus: L[] = []
  for (let i = grants.length - 1; i >= 0; i--) {
    const units = plan.unitsOf((grants[i] as { outcome: L }).outcome)
    if (total - units >= plan.need) {
      total -= units
      surplus.push((grants[i] as { outcome: L }).outcome)
      grants.splice(i, 1)
    }
  }
  return { kept: grants.map((entry) => entry.outcome), surplus }
}
