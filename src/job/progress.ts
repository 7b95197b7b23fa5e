import type { Progress } from '../../protocols/job/pb/job.js'
import type { JobPhase } from '../jobs-model/states.js'

/**
 * A peer's progress reports, as the submitter passes them on: every one that is kept becomes a job event, which
 * is journaled and streamed to the CLI and the page. A prover may report as often as it likes (the reference
 * prover reports every few percent of a segment's proving), and a hostile peer as often as its link allows, so
 * reports are checked and thinned here: at most one event per peer, phase and segment per interval, the latest
 * one, with the first and the last of each count passed at once.
 */
export const progressDefaults = {
  /** Two events a second per segment is smooth enough for a bar and keeps the journal small */
  intervalMs: 500
}

/** The phases a peer reports progress of (what its worker relays from its prover) */
const PEER_PHASES: ReadonlySet<string> = new Set(['contribute', 'prove', 'aggregate'])

/** One report as it is passed on; `segment` is absent for the aggregation, which is about every segment */
export interface ProgressReport {
  peer: string
  phase: JobPhase
  segment?: number
  done: number
  total: number
}

/**
 * A Progress frame as the report it stands for, or undefined when it is not one to pass on: an unknown phase, a
 * count that is no count (nothing to do, or more done than there is), a segment that is not the peer's own, an
 * aggregation the peer was not given. Such a report is dropped, not held against the peer: progress is advice.
 */
export function acceptProgress(
  peer: string,
  frame: Progress,
  mine: { segments: readonly number[]; aggregator: boolean }
): ProgressReport | undefined {
  const { phase, segment, done, total } = frame
  if (!PEER_PHASES.has(phase) || total === 0 || done > total) return undefined
  if (phase === 'aggregate') return mine.aggregator ? { peer, phase, done, total } : undefined
  if (!mine.segments.includes(segment)) return undefined
  return { peer, phase: phase as JobPhase, segment, done, total }
}

export interface ProgressRelayInit {
  emit: (report: ProgressReport) => void
  intervalMs?: number
  now?: () => number
}

interface Slot {
  lastAt: number
  /** The last report passed on completed its count */
  complete: boolean
  pending?: ProgressReport
}

/**
 * Thins one job's reports: per (peer, phase, segment), a report is passed at once when none was in the last
 * interval, or when it completes its count (once: a peer flipping between done and not yet gets no more than two
 * events an interval); otherwise it waits, replacing any older one waiting, until the interval is over. Slots
 * are bounded by what acceptProgress lets through: the job's segments, per phase.
 */
export class ProgressRelay {
  private readonly emit: (report: ProgressReport) => void
  private readonly intervalMs: number
  private readonly now: () => number
  private readonly slots = new Map<string, Slot>()
  private timer?: NodeJS.Timeout
  private stopped = false

  constructor(init: ProgressRelayInit) {
    this.emit = init.emit
    this.intervalMs = init.intervalMs ?? progressDefaults.intervalMs
    this.now = init.now ?? (() => Date.now())
  }

  offer(report: ProgressReport): void {
    if (this.stopped) return
    const key = `${report.peer} ${report.phase} ${report.segment ?? '-'}`
    const now = this.now()
    const slot = this.slots.get(key)
    const complete = report.done === report.total
    if (slot === undefined || now - slot.lastAt >= this.intervalMs || (complete && !slot.complete)) {
      this.slots.set(key, { lastAt: now, complete })
      this.emit(report)
      return
    }
    slot.pending = report
    this.arm()
  }

  /** Passes on every waiting report whose interval is over; the timer calls it, tests may too */
  flush(): void {
    this.timer = undefined
    if (this.stopped) return
    const now = this.now()
    for (const slot of this.slots.values()) {
      if (slot.pending === undefined || now - slot.lastAt < this.intervalMs) continue
      const report = slot.pending
      slot.pending = undefined
      slot.lastAt = now
      slot.complete = report.done === report.total
      this.emit(report)
    }
    if ([...this.slots.values()].some((slot) => slot.pending !== undefined)) this.arm()
  }

  /** The job is over: what still waits is dropped, nothing more is passed on */
  stop(): void {
    this.stopped = true
    clearTimeout(this.timer)
    this.timer = undefined
    this.slots.clear()
  }

  private arm(): void {
    if (this.timer !== undefined) return
    this.timer = setTimeout(() => this.flush(), this.intervalMs)
    this.timer.unref()
  }
}
