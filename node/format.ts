import { formatDuration } from '../src/config/index.js'
import type { PeerRow } from '../src/daemon/daemon.js'
import type { StatusJson } from '../src/daemon/status-json.js'
import { describePeerFailure } from '../src/jobs-model/peer-failure.js'
import { shortPeerId } from '../src/jobs-model/peer-id.js'
import {
  isTerminal,
  JOB_PHASES,
  type JobPhase,
  type JobState,
  PHASE_OF_STATE
} from '../src/jobs-model/states.js'
import type { JobEvent, JobPeerRecord, JobRecord, JobRequest, PhaseTiming } from '../src/jobs-model/types.js'

/** Left-aligned columns separated by two spaces; the first row is the header */
export function formatTable(rows: string[][]): string {
  const widths: number[] = []
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length)
    })
  }
  return rows
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd()
    )
    .join('\n')
}

export function formatDurationShort(ms: number): string {
  if (ms < 1_000) return `${ms}ms`
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)}s`
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)}m${Math.floor((ms % 60_000) / 1_000)}s`
  return `${Math.floor(ms / 3_600_000)}h${Math.floor((ms % 3_600_000) / 60_000)}m`
}

function gpuSummary(gpus: PeerRow['capacity']['gpus']): string {
  if (gpus.length === 0) return '-'
  const byName = new Map<string, number>()
  for (const gpu of gpus) {
    const label = `${gpu.name} ${Math.round(gpu.memoryTotalMiB / 1024)}G`
    byName.set(label, (byName.get(label) ?? 0) + 1)
  }
  return [...byName].map(([name, count]) => `${count}x ${name}`).join(', ')
}

export function formatPeers(rows: PeerRow[]): string {
  if (rows.length === 0) return 'no peers known yet (adverts arrive every advert interval)'
  return formatTable([
    ['PEER', 'ADDRESS', 'UNITS', 'GPUS', 'PROVER', 'LAST SEEN'],
    ...rows.map((row) => [
      row.peerId,
      row.address ?? '-',
      `${row.capacity.unitsFree}/${row.capacity.unitsTotal}`,
      gpuSummary(row.capacity.gpus),
      row.capacity.prover === null ? '-' : `${row.capacity.prover.name} ${row.capacity.prover.version}`,
      `${formatDurationShort(row.ageMs)} ago`
    ])
  ])
}

export function formatStatus(status: StatusJson): string {
  const capacity = status.capacity
  const lines = [
    ['peer', status.peerId],
    ['version', status.version],
    ['uptime', formatDurationShort(status.uptimeMs)],
    ['addresses', status.addrs.join('\n           ') || '-'],
    ['units', capacity === null ? '-' : `${capacity.unitsFree} free of ${capacity.unitsTotal}`],
    ['gpus', capacity === null ? '-' : gpuSummary(capacity.gpus)],
    [
      'cpu',
      capacity === null
        ? '-'
        : `${capacity.cpuCores} cores, ${(capacity.memoryBytes / 1024 ** 3).toFixed(1)} GiB`
    ],
    [
      'prover',
      capacity?.prover == null
        ? '-'
        : `${capacity.prover.name} ${capacity.prover.version} (${capacity.programs.join(', ')})`
    ],
    ['tags', capacity === null || capacity.tags.length === 0 ? '-' : capacity.tags.join(', ')],
    ['jobs', String(status.activeJobs)],
    [
      'peers',
      `${status.connectedPeers} connected, ${status.knownPeers} advertising, ${status.topicPeers} on the capacity topic`
    ]
  ]
  return lines.map(([key, value]) => `${(key ?? '').padEnd(10)} ${value}`).join('\n')
}

// ---------------------------------------------------------------------------------------------------------
// Jobs

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  const units = ['KiB', 'MiB', 'GiB', 'TiB']
  let value = bytes
  let unit = 'B'
  for (const next of units) {
    if (value < 1024) break
    value /= 1024
    unit = next
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${unit}`
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`
}

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, Math.max(0, max - 1))}\u2026` : text
}

/** How long the job has run (to now) or took (to its end) */
function jobElapsed(record: JobRecord, now: number): number {
  return Math.max(
    0,
    (record.finishedAt ?? (isTerminal(record.state) ? record.updatedAt : now)) - record.createdAt
  )
}

function phaseMillis(timing: PhaseTiming | undefined, now: number): number | undefined {
  if (timing === undefined) return undefined
  return Math.max(0, (timing.endedAt ?? now) - timing.startedAt)
}

function jobError(record: JobRecord): string {
  return record.error === undefined ? '-' : `${record.error.code}: ${record.error.message}`
}

function segmentCount(record: JobRecord): string {
  if (record.segments.length === 0) return '-'
  const proved = record.segments.filter((segment) => segment.state === 'proved').length
  return `${proved}/${record.segments.length}`
}

function peerCount(record: JobRecord): string {
  const failed = failedPeers(record).length
  return failed === 0 ? String(record.peers.length) : `${record.peers.length} (${failed} failed)`
}

/** `proofmesh jobs`: one row per job */
export function formatJobsTable(records: JobRecord[], now = Date.now()): string {
  if (records.length === 0) return 'no jobs'
  return formatTable([
    ['ID', 'STATE', 'DATA ID', 'UNITS', 'PEERS', 'SEGMENTS', 'TIME', 'ERROR'],
    ...records.map((record) => [
      record.id,
      record.state,
      cut(record.request.dataId, 32),
      String(record.request.computeCapacity),
      peerCount(record),
      segmentCount(record),
      isTerminal(record.state)
        ? `took ${formatDurationShort(jobElapsed(record, now))}`
        : `${formatDurationShort(jobElapsed(record, now))} so far`,
      cut(jobError(record), 60)
    ])
  ])
}

function describeRequest(request: JobRequest): string[] {
  const units =
    request.minimalComputeCapacity === request.computeCapacity
      ? `${request.computeCapacity} units`
      : `${request.computeCapacity} units (at least ${request.minimalComputeCapacity})`
  const lines = [
    `${request.program}, ${request.inputMode === 'data' ? 'data' : 'path'} ${request.input}`,
    `${units}, priority ${request.priority}, timeout ${formatDuration(request.timeoutMs)}, ${
      request.saveProof ? 'proof saved' : 'proof not saved'
    }`
  ]
  if (request.hints !== undefined) lines.push(`hints from ${request.hints.kind} ${request.hints.path}`)
  if (request.webhookUrl !== '') lines.push(`webhook ${request.webhookUrl}`)
  return lines
}

function keyValues(rows: [string, string | string[]][]): string {
  const width = Math.max(...rows.map(([key]) => key.length)) + 2
  return rows
    .flatMap(([key, value]) => {
      const values = Array.isArray(value) ? value : [value]
      return values.map((line, i) => `${(i === 0 ? key : '').padEnd(width)}${line}`)
    })
    .join('\n')
}

function phaseTable(record: JobRecord, now: number): string[] {
  const rows = JOB_PHASES.flatMap((phase): string[][] => {
    const timing = record.phases[phase]
    if (timing === undefined) return []
    const ms = phaseMillis(timing, now) ?? 0
    return [
      [
        phase,
        new Date(timing.startedAt).toISOString(),
        timing.endedAt === undefined ? `${formatDurationShort(ms)} so far` : formatDurationShort(ms)
      ]
    ]
  })
  return rows.length === 0 ? [] : formatTable([['PHASE', 'STARTED', 'TOOK'], ...rows]).split('\n')
}

function peerTable(record: JobRecord): string[] {
  if (record.peers.length === 0) return []
  return formatTable([
    ['PEER', 'UNITS', 'STATE', 'SEGMENTS', 'SENT', 'LEASE'],
    ...record.peers.map((peer) => [
      peer.local ? `${peer.peerId} (local)` : peer.peerId,
      String(peer.units),
      peer.state,
      String(record.segments.filter((segment) => segment.peerId === peer.peerId).length),
      formatBytes(peer.bytesSent),
      peer.leaseId
    ])
  ]).split('\n')
}

/** The peers dropped from the job, each with why (its segments moved to the others) */
export function failedPeers(record: JobRecord): JobPeerRecord[] {
  return record.peers.filter((peer) => peer.state === 'failed')
}

/** `2 of 3 peers failed; their segments moved to the others`, or undefined when none did */
function failuresLine(record: JobRecord): string | undefined {
  const failed = failedPeers(record).length
  if (failed === 0) return undefined
  const moved = record.state === 'succeeded' ? '; their segments moved to the others' : ''
  return `${failed} of ${plural(record.peers.length, 'peer')} failed${moved}`
}

function failureTable(record: JobRecord): string[] {
  return failedPeers(record).map((peer) => `${peer.peerId}  ${describePeerFailure(peer.failure)}`)
}

function segmentTable(record: JobRecord): string[] {
  if (record.segments.length === 0) return []
  return formatTable([
    ['#', 'PEER', 'STATE', 'BLOCKS', 'INPUT', 'PROVE', 'PROOF'],
    ...record.segments.map((segment) => [
      String(segment.index),
      shortPeerId(segment.peerId),
      segment.state,
      `${segment.startBlock}+${segment.blockCount}`,
      formatBytes(segment.inputLength),
      segment.proveMillis === undefined ? '-' : formatDurationShort(segment.proveMillis),
      segment.proofSize === undefined ? '-' : formatBytes(segment.proofSize)
    ])
  ]).split('\n')
}

/** `proofmesh job ID`: everything the record holds */
export function formatJobDetail(record: JobRecord, now = Date.now()): string {
  const elapsed = formatDurationShort(jobElapsed(record, now))
  const rows: [string, string | string[]][] = [
    ['job', record.id],
    [
      'state',
      isTerminal(record.state) ? `${record.state} in ${elapsed}` : `${record.state} (${elapsed} so far)`
    ]
  ]
  if (record.waitingFor !== undefined) rows.push(['waiting for', record.waitingFor])
  rows.push(
    ['data id', record.request.dataId],
    ['request', describeRequest(record.request)],
    ['submitter', record.submitter],
    ['created', new Date(record.createdAt).toISOString()]
  )
  if (record.inputSize !== undefined) {
    rows.push([
      'input',
      `${formatBytes(record.inputSize)}${record.inputSha256 === undefined ? '' : `, sha256 ${record.inputSha256}`}`
    ])
  }
  if (record.fill !== undefined && record.fill.paddedBlocks > 0) {
    const { usefulBlocks, paddedBlocks } = record.fill
    rows.push([
      'trace fill',
      `${usefulBlocks} of ${paddedBlocks} blocks hold input (${((100 * usefulBlocks) / paddedBlocks).toFixed(1)}%)`
    ])
  }
  if (record.challenge !== undefined) rows.push(['challenge', record.challenge])
  if (record.aggregator !== undefined) rows.push(['aggregator', record.aggregator])
  if (record.digest !== undefined) rows.push(['digest', record.digest])
  if (record.proof !== undefined) {
    rows.push([
      'proof',
      [
        `${formatBytes(record.proof.size)}, sha256 ${record.proof.sha256}`,
        ...(record.proof.path === undefined ? [] : [record.proof.path])
      ]
    ])
  }
  rows.push(['bytes sent', formatBytes(record.bytesOut)])
  if (record.error !== undefined) rows.push(['error', jobError(record)])
  const failures = failuresLine(record)
  if (failures !== undefined) rows.push(['peer failures', failures])
  const sections = [keyValues(rows)]
  for (const [title, lines] of [
    ['phases', phaseTable(record, now)],
    ['peers', peerTable(record)],
    ['failed peers', failureTable(record)],
    ['segments', segmentTable(record)]
  ] as const) {
    if (lines.length > 0) sections.push(`${title}\n${lines.map((line) => `  ${line}`).join('\n')}`)
  }
  return sections.join('\n\n')
}

/**
 * What `prove --wait` prints on stderr when a job did not succeed: `job ID was cancelled`, or `job ID failed:
 * CODE: why`, with the peers that failed before it
 */
export function formatJobEnd(record: JobRecord): string {
  if (record.state === 'cancelled') return `job ${record.id} was cancelled`
  const lines = [
    `job ${record.id} ${record.state === 'failed' ? 'failed' : `ended ${record.state}`}: ${
      record.error === undefined ? 'no reason recorded' : jobError(record)
    }`
  ]
  for (const peer of failedPeers(record))
    lines.push(`  peer ${shortPeerId(peer.peerId)}: ${describePeerFailure(peer.failure)}`)
  return lines.join('\n')
}

/** What `prove --wait` prints once a job succeeded */
export function formatJobSummary(record: JobRecord, savedTo?: string, now = Date.now()): string {
  const phases = JOB_PHASES.flatMap((phase) => {
    const ms = phaseMillis(record.phases[phase], now)
    return ms === undefined ? [] : [`${phase} ${formatDurationShort(ms)}`]
  })
  const peers = record.peers.map((peer) => {
    const name = `${shortPeerId(peer.peerId)}${peer.local ? ' (local)' : ''}: ${plural(peer.units, 'unit')}`
    if (peer.state === 'failed') return `${name}, failed: ${describePeerFailure(peer.failure)}`
    const segments = record.segments.filter((segment) => segment.peerId === peer.peerId).length
    return `${name}, ${plural(segments, 'segment')}, ${formatBytes(peer.bytesSent)} sent`
  })
  const failures = failuresLine(record)
  const rows: [string, string | string[]][] = [
    ['job', `${record.id} ${record.state} in ${formatDurationShort(jobElapsed(record, now))}`],
    ['data id', record.request.dataId],
    ['digest', record.digest ?? '-'],
    [
      'proof',
      record.proof === undefined
        ? '-'
        : `${formatBytes(record.proof.size)} (${record.proof.size} bytes), sha256 ${record.proof.sha256}`
    ],
    ['on daemon', record.proof?.path ?? 'not saved']
  ]
  if (savedTo !== undefined) rows.push(['saved to', savedTo])
  rows.push(
    ['phases', phases.length === 0 ? '-' : phases.join(', ')],
    [
      'peers',
      peers.length === 0
        ? '-'
        : [
            `${plural(peers.length, 'peer')}, ${plural(record.segments.length, 'segment')}${failures === undefined ? '' : `; ${failures}`}`,
            ...peers
          ]
    ],
    ['bytes sent', formatBytes(record.bytesOut)]
  )
  return keyValues(rows)
}

/** A plain progress line for one event, for logs and pipes: `[  +1.2s] prove 3/8` */
export function formatEventLine(event: JobEvent, startedAt: number): string {
  const at = `[${`+${formatDurationShort(Math.max(0, event.at - startedAt))}`.padStart(8)}]`
  const parts: string[] = []
  switch (event.type) {
    case 'state':
      parts.push(`state ${event.state ?? '?'}`)
      break
    case 'progress':
      parts.push(event.phase ?? 'progress')
      if (event.segment !== undefined) parts.push(`segment ${event.segment}`)
      if (event.done !== undefined && event.total !== undefined) parts.push(`${event.done}/${event.total}`)
      break
    case 'peer':
      parts.push(`peer ${event.peer === undefined ? '?' : shortPeerId(event.peer)}`)
      break
    case 'segment':
      parts.push(`segment ${event.segment ?? '?'}`)
      if (event.peer !== undefined) parts.push(`on ${shortPeerId(event.peer)}`)
      break
    case 'log':
      parts.push('log')
      break
  }
  if (event.message !== undefined && event.message !== '') parts.push(event.message.replace(/\s+/g, ' '))
  return `${at} ${parts.join(' ')}`
}

/** `[#####-----]`; an unknown total draws an empty bar */
export function progressBar(done: number, total: number, width = 20): string {
  const fraction = total > 0 ? Math.min(1, Math.max(0, done / total)) : 0
  const filled = Math.round(fraction * width)
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`
}

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
    switch (event.type) {
      case 'state': {
        if (event.state === undefined) break
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
      case 'segment': {
        if (event.segment === undefined) break
        const previous = this.segments.get(event.segment)
        this.segments.set(event.segment, {
          ...previous,
          peer: event.peer ?? previous?.peer,
          label: cut(event.message ?? previous?.label ?? 'assigned', 24),
          since: previous?.since ?? event.at
        })
        break
      }
      default:
        break
    }
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
