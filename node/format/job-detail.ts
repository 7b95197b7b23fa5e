/** `proofmesh job ID`: everything a job's record holds */
import { formatDuration } from '../../src/config/index.js'
import { describePeerFailure } from '../../src/jobs-model/peer-failure.js'
import { shortPeerId } from '../../src/jobs-model/peer-id.js'
import { isTerminal, JOB_PHASES } from '../../src/jobs-model/states.js'
import type { JobRecord, JobRequest } from '../../src/jobs-model/types.js'
import { failedPeers, failuresLine, jobElapsed, jobError, phaseMillis } from './job.js'
import { formatBytes, formatDurationShort, formatTable, keyValues } from './text.js'

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

/** Everything the record holds: the request, the input, the outcome, then its phases, peers and segments */
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
    if (record.proof.unverified !== undefined) rows.push(['NOT verified', record.proof.unverified])
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
