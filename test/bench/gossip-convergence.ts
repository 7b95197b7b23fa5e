/**
 * Gossip convergence: N real daemons in one process on 127.0.0.1, bootstrapped from node 0 (and each from
 * one random earlier node, so the graph is not a star). Measures how long until every peer table lists every
 * other node, in advert intervals. Target: at 60 nodes, within two intervals of the last node starting.
 *
 *   npm run bench:gossip            (10, 30 and 60 nodes)
 *   node dist/test/bench/gossip-convergence.js 10 30
 *   node dist/test/bench/gossip-convergence.js 30 --compare   (before: idle DHT connections kept; after)
 *
 * One event loop serves every node here; gossip-processes.ts measures separate daemon processes.
 */
import '../../src/polyfill.js'
import { setMaxListeners } from 'node:events'
import type { Daemon } from '../../src/daemon/daemon.js'
import { multiaddrOf, startTestNode, stopAll } from '../helpers/network.js'

const ADVERT_INTERVAL_MS = Number(process.env.ADVERT_INTERVAL_MS ?? 5_000)
const LEGACY_ENV = 'PROOFMESH_TEST_IDLE_DHT_CONNECTIONS'
const sizes = process.argv
  .slice(2)
  .map(Number)
  .filter((n) => n > 1)
const variants = process.argv.includes('--compare') ? (['before', 'after'] as const) : (['after'] as const)

function minMedianMax(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b)
  return `${sorted[0]}/${sorted[Math.floor((sorted.length - 1) / 2)]}/${sorted[sorted.length - 1]}`
}

async function measure(nodes: number, variant: 'before' | 'after'): Promise<void> {
  // read by every host and DiscoveryDialer as it is created (src/net/host.ts)
  if (variant === 'before') process.env[LEGACY_ENV] = 'keep'
  else delete process.env[LEGACY_ENV]
  const daemons: Daemon[] = []
  const startedAll = Date.now()
  try {
    for (let i = 0; i < nodes; i++) {
      const seeds =
        daemons.length === 0 ? [] : [daemons[0], daemons[Math.floor(Math.random() * daemons.length)]]
      const bootstrap = [...new Set(seeds.filter((d) => d !== undefined).map((d) => multiaddrOf(d)))]
      daemons.push(
        await startTestNode({
          overrides: {
            net: { bootstrap },
            capacity: { advertIntervalMs: ADVERT_INTERVAL_MS, peerTtlIntervals: 3 }
          }
        })
      )
    }
    const lastStarted = Date.now()
    const deadline = lastStarted + 30 * ADVERT_INTERVAL_MS
    let converged: number | undefined
    while (Date.now() < deadline) {
      if (daemons.every((daemon) => daemon.capacity.peers.size === nodes - 1)) {
        converged = Date.now() - lastStarted
        break
      }
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    const seen = daemons.map((daemon) => daemon.capacity.peers.size)
    const minSeen = Math.min(...seen)
    const connections = daemons.map((daemon) => daemon.node.getConnections().length)
    const rss = process.memoryUsage().rss / 1024 ** 2
    console.log(
      [
        `nodes=${nodes}`,
        `variant=${variant}`,
        `start_all_ms=${lastStarted - startedAll}`,
        converged === undefined
          ? `converged=NO (min table ${minSeen}/${nodes - 1} after 30 intervals)`
          : `converged_ms=${converged} intervals=${(converged / ADVERT_INTERVAL_MS).toFixed(2)} target<=2 ${converged <= 2 * ADVERT_INTERVAL_MS ? 'MET' : 'MISSED'}`,
        `connections_avg=${(connections.reduce((a, b) => a + b, 0) / nodes).toFixed(1)} min/median/max=${minMedianMax(connections)}`,
        `process_rss_mib=${rss.toFixed(0)} per_node_mib=${(rss / nodes).toFixed(1)}`
      ].join('  ')
    )
  } finally {
    await stopAll(daemons)
  }
}

setMaxListeners(Number.POSITIVE_INFINITY)
for (const nodes of sizes.length > 0 ? sizes : [10, 30, 60]) {
  for (const variant of variants) await measure(nodes, variant)
}
