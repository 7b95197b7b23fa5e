/**
 * The capacity gossip topic: adverts with random fields, some then mutated, some plain random bytes; and the
 * daemon's counters of what its advert validator made of them.
 */
import { multiaddr } from '@multiformats/multiaddr'
import { CapacityAdvert } from '../../../protocols/capacity/pb/capacity.js'
import { MAX_ADVERT_BYTES } from '../../../src/capacity/constants.js'
import { type LocalNode } from '../../../src/testnet/local-network.js'
import { mutateBytes } from './bytes.js'
import { randomString, type Rng } from './rng.js'
import { PROGRAM } from './settings.js'

function randomAdvert(rng: Rng): CapacityAdvert {
  const now = BigInt(Date.now())
  const count = (): number => (rng.bool(0.9) ? rng.int(4) : rng.int(80))
  const text = (): string => (rng.bool(0.9) ? randomString(rng, 20) : 'n'.repeat(rng.range(100, 200)))
  const total = rng.pick([0, 1, 8, 1_000_000, 1_000_001, rng.u32()])
  return {
    seq: rng.pick([0n, 1n, now, now + BigInt(rng.int(1_000_000)), rng.u64()]),
    timestampMs: rng.pick([now, now, now - 20_000n, now + 60_000n, 0n, rng.u64()]),
    unitsTotal: total,
    unitsFree: rng.pick([0, total, total + 1, rng.u32()]) >>> 0,
    gpus: Array.from({ length: count() }, () => ({
      index: rng.u32(),
      name: text(),
      memoryTotalMib: rng.pick([0, 24_576, rng.u32()]),
      memoryUsedMib: rng.pick([0, 1024, rng.u32()]),
      utilizationPercent: rng.pick([0, 50, 100, 101, rng.u32()])
    })),
    cpuCores: rng.pick([0, 2, rng.u32()]),
    memoryBytes: rng.u64(),
    proverName: text(),
    proverVersion: text(),
    proverBackend: text(),
    programs: Array.from({ length: count() }, () => (rng.bool(0.5) ? PROGRAM : text())),
    tags: Array.from({ length: count() }, text),
    activeJobs: rng.pick([0, 1, rng.u32()]),
    ttlMs: rng.pick([0, 60_000, rng.u32()]),
    version: rng.bool(0.97) ? text() : 'v'.repeat(MAX_ADVERT_BYTES + rng.int(100)),
    addrs: Array.from({ length: count() }, () =>
      rng.bool(0.5)
        ? new Uint8Array(multiaddr(`/ip4/127.0.0.1/tcp/${rng.int(65536)}`).bytes)
        : rng.bytes(rng.int(40))
    )
  }
}

export function gossipCase(rng: Rng): { label: string; data: Uint8Array } {
  if (rng.bool(0.25))
    return { label: 'random bytes', data: rng.bytes(rng.bool(0.9) ? rng.int(4096) : rng.int(16 * 1024)) }
  const advert = CapacityAdvert.encode(randomAdvert(rng))
  if (!rng.bool(0.4)) return { label: 'advert with random fields', data: advert }
  const mutated = mutateBytes(rng, advert)
  return { label: `advert with random fields + ${mutated.how}`, data: mutated.wire }
}

/** proofmesh_adverts_received_total by `result/reason` */
export async function advertCounters(node: LocalNode): Promise<Map<string, number>> {
  const response = await fetch(new URL('/metrics', node.api.url), {
    headers: { authorization: `Bearer ${node.token}` },
    signal: AbortSignal.timeout(5_000)
  })
  const counts = new Map<string, number>()
  for (const match of (await response.text()).matchAll(
    /^proofmesh_adverts_received_total\{result="(\w+)",reason="(\w+)"\} (\d+)/gm
  )) {
    counts.set(`${match[1]}/${match[2]}`, Number(match[3]))
  }
  return counts
}
