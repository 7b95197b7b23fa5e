/** `proofmesh status` and `proofmesh peers` (and the testnet's peer tables) */
import type { PeerRow } from '../../src/daemon/daemon.js'
import type { StatusJson } from '../../src/daemon/status-json.js'
import { formatDurationShort, formatTable } from './text.js'

function gpuSummary(gpus: PeerRow['capacity']['gpus']): string {
  if (gpus.length === 0) return '-'
  const byName = new Map<string, number>()
  for (const gpu of gpus) {
    const label = `${gpu.name} ${Math.round(gpu.memoryTotalMiB / 1024)}G`
    byName.set(label, (byName.get(label) ?? 0) + 1)
  }
  return [...byName].map(([name, count]) => `${count}x ${name}`).join(', ')
}

/** Name and version; a prover that proves only whole jobs (one peer per job) says so */
function proverText(prover: NonNullable<PeerRow['capacity']['prover']>): string {
  const text = `${prover.name} ${prover.version}`
  return prover.backend === 'npp' ? text : `${text} [${prover.backend}: whole jobs]`
}

export function formatPeers(rows: PeerRow[]): string {
  if (rows.length === 0) return 'no peers known yet (adverts arrive every advert interval)'
  return formatTable([
    ['PEER', 'ADDRESS', 'UNITS', 'GPUS', 'PROVER', 'PROGRAMS', 'LAST SEEN'],
    ...rows.map((row) => [
      row.peerId,
      row.address ?? '-',
      `${row.capacity.unitsFree}/${row.capacity.unitsTotal}`,
      gpuSummary(row.capacity.gpus),
      row.capacity.prover === null ? '-' : proverText(row.capacity.prover),
      row.capacity.programs.join(',') || '-',
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
      capacity?.prover == null ? '-' : `${proverText(capacity.prover)} (${capacity.programs.join(', ')})`
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
