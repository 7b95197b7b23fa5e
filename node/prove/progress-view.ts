/** `prove --wait` on a terminal: the live view of a job, redrawn in place */
import { shortPeerId } from '../../src/jobs-model/peer-id.js'
import {
  isTerminal,
  JOB_PHASES,
  type JobPhase,
  type JobState,
  PHASE_OF_STATE
} from '../../src/jobs-model/states.js'
import type { JobEvent, JobRecord, PhaseTiming } from '../../src/jobs-model/types.js'
import { cut, formatDurationShort, progressBar } from '../format/text.js'

interface SegmentView {
  peer?: string
  label: string
  since: number
  proveMillis?: number
  /** The last progress report of the segment's current step */
  step?: { phase: JobPhase; done: number; total: number }
}

/** Segment states after which a segment has nothing left to report */
const SEGMENT_DONE = new Set(['proved', 'failed'])

/** Progress counts with no segment are the phase's own; a segment's are kept per segment and summed */
const WHOLE_PHASE = -1

/**
 * The live view of `prove --wait` on a terminal: a header, one line per phase (state, elapsed, a bar for the
 * running one) and one per segment (peer, state, elapsed). Fed by events and, when there is one, the latest
 * record, which wins over what the events said.
 */
/** What a segment's row says after each kind of segment event */
const SEGMENT_LABELS = {
  contributed: 'contributed',
  proved: 'proved',
  'backup-started': 'backup copy',
  'backup-won': 'proved'
} as const

export class JobProgress {
  readonly jobId: string
  private state: JobState | undefined
  private createdAt: number | undefined
  private finishedAt: number | undefined
  private readonly phases: Partial<Record<JobPhase, PhaseTiming>> = {}
  private readonly counts = new Map<JobPhase, Map<number, { done: number; total: number }>>()
  private readonly segments = new Map<number, SegmentView>()

  constructor(jobId: string) {
    this.jobId = jobId
  }

  apply(event: JobEvent): void {
    this.createdAt ??= event.at
    switch (event.kind) {
      case 'state': {
        this.state = event.state
        const phase = PHASE_OF_STATE[event.state]
        for (const timing of Object.values(this.phases)) timing.endedAt ??= event.at
        if (phase !== undefined) {
          const timing = this.phases[phase]
          if (timing === undefined) this.phases[phase] = { startedAt: event.at }
          else delete timing.endedAt
        }
        if (isTerminal(event.state)) this.finishedAt = event.at
        break
      }
      case 'progress': {
        if (event.phase === undefined || event.total === undefined) break
        const count = { done: event.done ?? 0, total: event.total }
        const counts = this.counts.get(event.phase) ?? new Map<number, { done: number; total: number }>()
        counts.set(event.segment ?? WHOLE_PHASE, count)
        this.counts.set(event.phase, counts)
        if (event.segment !== undefined) {
          const previous = this.segments.get(event.segment)
          this.segments.set(event.segment, {
            label: 'assigned',
            since: event.at,
            ...previous,
            peer: event.peer ?? previous?.peer,
            step: { phase: event.phase, ...count }
          })
        }
        break
      }
      case 'contributed':
      case 'proved':
      case 'backup-started':
      case 'backup-won':
        this.labelSegment(event.segment, event.peer, SEGMENT_LABELS[event.kind], event.at)
        break
      case 'note':
        if (event.segment !== undefined)
          this.labelSegment(event.segment, event.peer, event.message ?? 'assigned', event.at)
        break
      default:
        break
    }
  }

  private labelSegment(segment: number, peer: string | undefined, label: string, at: number): void {
    const previous = this.segments.get(segment)
    this.segments.set(segment, {
      ...previous,
      peer: peer ?? previous?.peer,
      label: cut(label, 24),
      since: previous?.since ?? at
    })
  }

  update(record: JobRecord): void {
    this.state = record.state
    this.createdAt = record.createdAt
    this.finishedAt = isTerminal(record.state) ? (record.finishedAt ?? record.updatedAt) : undefined
    for (const phase of JOB_PHASES) {
      const timing = record.phases[phase]
      if (timing !== undefined) this.phases[phase] = { ...timing }
    }
    for (const segment of record.segments) {
      const previous = this.segments.get(segment.index)
      this.segments.set(segment.index, {
        ...previous,
        peer: segment.peerId,
        label: segment.state,
        since: previous?.since ?? record.phases.contribute?.startedAt ?? record.updatedAt,
        proveMillis: segment.proveMillis
      })
    }
  }

  /** The phase's progress: its own count, or the sum over its segments */
  private phaseCount(phase: JobPhase): { done: number; total: number } | undefined {
    const counts = this.counts.get(phase)
    if (counts === undefined) return undefined
    const own = counts.get(WHOLE_PHASE)
    if (own !== undefined) return own
    let done = 0
    let total = 0
    for (const count of counts.values()) {
      done += count.done
      total += count.total
    }
    return { done, total }
  }

  /** The view at `now`, each line cut to `columns` so none wraps (which would break redrawing in place) */
  lines(now: number, columns?: number): string[] {
    const end = this.finishedAt ?? now
    const elapsed = this.createdAt === undefined ? '' : formatDurationShort(Math.max(0, end - this.createdAt))
    const lines = [`job ${this.jobId}  ${this.state ?? 'submitted'}  ${elapsed}`]
    for (const phase of JOB_PHASES) {
      const timing = this.phases[phase]
      if (timing === undefined) {
        lines.push(`  ${phase.padEnd(10)}  -`)
        continue
      }
      const running = timing.endedAt === undefined && this.finishedAt === undefined
      const ms = Math.max(0, (timing.endedAt ?? end) - timing.startedAt)
      let line = `  ${phase.padEnd(10)}  ${(running ? 'running' : 'done').padEnd(7)}  ${formatDurationShort(ms).padStart(6)}`
      const count = this.phaseCount(phase)
      if (running && count !== undefined) {
        line += `  ${progressBar(count.done, count.total)} ${count.done}/${count.total}`
      }
      lines.push(line)
    }
    for (const [index, segment] of [...this.segments].sort(([a], [b]) => a - b)) {
      const ms = segment.proveMillis ?? Math.max(0, (this.finishedAt ?? now) - segment.since)
      const step =
        segment.step === undefined || SEGMENT_DONE.has(segment.label) || this.finishedAt !== undefined
          ? ''
          : `  ${segment.step.phase} ${segment.step.done}/${segment.step.total}`
      lines.push(
        `  segment ${String(index).padEnd(4)}  ${(segment.peer === undefined ? '-' : shortPeerId(segment.peer)).padEnd(9)}  ${segment.label.padEnd(11)}  ${formatDurationShort(ms).padStart(6)}${step}`
      )
    }
    const width = columns !== undefined && columns > 0 ? columns : 100
    return lines.map((line) => cut(line, Math.max(20, width - 1)))
  }
}
