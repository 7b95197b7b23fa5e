import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { formatPeers, formatStatus } from '../../node/format/status.js'
import type { CapacityJson } from '../../src/capacity/advert-json.js'
import type { PeerRow } from '../../src/daemon/daemon.js'
import type { StatusJson } from '../../src/daemon/status-json.js'
import { PEER_A, PEER_B } from '../helpers/job-record.js'

function capacity(overrides: Partial<CapacityJson> = {}): CapacityJson {
  const gpu = { name: 'NVIDIA A100', memoryTotalMiB: 81_920, memoryUsedMiB: 0, utilizationPercent: 0 }
  return {
    seq: '7',
    time: '2026-01-01T00:00:00.000Z',
    unitsTotal: 8,
    unitsFree: 6,
    gpus: [
      { index: 0, ...gpu },
      { index: 1, ...gpu }
    ],
    cpuCores: 16,
    memoryBytes: 64 * 1024 ** 3,
    prover: { name: 'proofmesh-prover', version: '0.1.0', backend: 'npp' },
    programs: ['rescue-sponge'],
    tags: [],
    activeJobs: 1,
    version: '0.1.0',
    addrs: [],
    ...overrides
  }
}

describe('status and peers views', () => {
  it('shows a node: addresses one per line, GPUs grouped by model, peer counts', () => {
    const status: StatusJson = {
      version: '0.1.0',
      peerId: PEER_A,
      uptimeMs: 125_000,
      addrs: ['/ip4/127.0.0.1/tcp/4001', '/ip4/10.0.0.5/tcp/4001'],
      capacity: capacity(),
      activeJobs: 1,
      connectedPeers: 2,
      knownPeers: 3,
      topicPeers: 2
    }
    const lines = formatStatus(status).split('\n')
    assert.equal(lines[0], `peer       ${PEER_A}`)
    assert.equal(lines[2], 'uptime     2m5s')
    assert.equal(lines[3], 'addresses  /ip4/127.0.0.1/tcp/4001')
    assert.equal(lines[4], '           /ip4/10.0.0.5/tcp/4001')
    assert.equal(lines[5], 'units      6 free of 8')
    assert.equal(lines[6], 'gpus       2x NVIDIA A100 80G')
    assert.equal(lines[7], 'cpu        16 cores, 64.0 GiB')
    assert.equal(lines[8], 'prover     proofmesh-prover 0.1.0 (rescue-sponge)')
    assert.equal(lines[9], 'tags       -')
    assert.equal(lines[11], 'peers      2 connected, 3 advertising, 2 on the capacity topic')
  })

  it('shows a node that offers no capacity with dashes', () => {
    const text = formatStatus({
      version: '0.1.0',
      peerId: PEER_A,
      uptimeMs: 0,
      addrs: [],
      capacity: null,
      activeJobs: 0,
      connectedPeers: 0,
      knownPeers: 0,
      topicPeers: 0
    })
    for (const key of ['addresses', 'units', 'gpus', 'cpu', 'prover', 'tags'])
      assert.match(text, new RegExp(`^${key} +-$`, 'm'))
  })

  it('lists peers in a table, and says when there are none yet', () => {
    const row: PeerRow = {
      peerId: PEER_B,
      connected: true,
      address: null,
      lastSeen: '2026-01-01T00:00:00.000Z',
      listedSince: '2025-12-31T23:59:00.000Z',
      ageMs: 1_500,
      capacity: capacity({ gpus: [], prover: null })
    }
    const [header, line] = formatPeers([row]).split('\n')
    assert.match(header ?? '', /^PEER +ADDRESS +UNITS +GPUS +PROVER +PROGRAMS +LAST SEEN$/)
    assert.match(line ?? '', new RegExp(`^${PEER_B} +- +6/8 +- +- +rescue-sponge +1\\.5s ago$`))
    assert.match(formatPeers([]), /^no peers known yet/)
    const cli = formatPeers([
      {
        ...row,
        capacity: capacity({
          prover: { name: 'cargo-zisk', version: 'unknown', backend: 'cli' },
          programs: ['zisk']
        })
      }
    ])
    assert.match(
      cli,
      / cargo-zisk unknown \[cli: whole jobs\] +zisk /,
      'a cli peer says it takes no segments'
    )
  })
})
