import type { JobPeerRecord, JobRecord } from '../../src/jobs-model/types.js'

export const PEER_A = '12D3KooWAbCdEfGhJkLmNpQrStUvWxYz1234567890aaaaAAAA'
export const PEER_B = '12D3KooWZyXwVuTsRqPoNmLkJiHgFeDcBa0987654321bbbbBBBB'

/** A succeeded 3-segment job over PEER_A (the submitter, local) and PEER_B, with every field a view shows */
export function sampleRecord(overrides: Partial<JobRecord> = {}): JobRecord {
  return {
    id: 'job42',
    request: {
      program: 'rescue-sponge',
      inputMode: 'data',
      input: '/data/in.bin',
      computeCapacity: 8,
      minimalComputeCapacity: 4,
      priority: 0,
      dataId: 'in.bin',
      timeoutMs: 600_000,
      webhookUrl: '',
      saveProof: true
    },
    state: 'succeeded',
    submitter: PEER_A,
    createdAt: 10_000,
    updatedAt: 22_000,
    finishedAt: 22_000,
    inputSize: 3 * 1024 * 1024,
    inputSha256: 'ab'.repeat(32),
    peers: [
      { peerId: PEER_A, local: true, units: 4, leaseId: 'l1', state: 'released', bytesSent: 0 },
      { peerId: PEER_B, local: false, units: 4, leaseId: 'l2', state: 'released', bytesSent: 1_572_864 }
    ],
    segments: [0, 1, 2].map((index) => ({
      index,
      startBlock: index * 100,
      blockCount: 100,
      inputOffset: index * 1_000_000,
      inputLength: 1_000_000,
      inputSha256: 'cd'.repeat(32),
      peerId: index === 2 ? PEER_B : PEER_A,
      state: 'proved' as const,
      proveMillis: 1500 + index,
      proofSize: 40_000
    })),
    phases: {
      queue: { startedAt: 10_000, endedAt: 10_005 },
      reserve: { startedAt: 10_005, endedAt: 10_100 },
      plan: { startedAt: 10_100, endedAt: 10_600 },
      contribute: { startedAt: 10_600, endedAt: 12_000 },
      prove: { startedAt: 12_000, endedAt: 20_000 },
      aggregate: { startedAt: 20_000, endedAt: 21_500 },
      verify: { startedAt: 21_500, endedAt: 22_000 }
    },
    bytesOut: 1_572_864,
    digest: 'ef'.repeat(32),
    proof: { size: 123_456, sha256: '12'.repeat(32), path: '/home/u/.proofmesh/proofs/job42.proof' },
    ...overrides
  }
}

/** The reason PEER_B gives in withFailedPeer */
export const INPUT_MISSING = {
  code: 'INPUT',
  segment: 2,
  message: 'input "in.bin" does not exist in the inputs folder'
}

/** A path-mode job whose file only the submitter has: PEER_B failed, its segment moved to PEER_A */
export function withFailedPeer(): JobRecord {
  const base = sampleRecord()
  return sampleRecord({
    peers: [
      base.peers[0] as JobPeerRecord,
      { ...(base.peers[1] as JobPeerRecord), state: 'failed', bytesSent: 0, failure: INPUT_MISSING }
    ],
    segments: base.segments.map((segment) => ({ ...segment, peerId: PEER_A }))
  })
}
