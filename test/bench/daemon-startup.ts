/**
 * Daemon start-up time and idle memory, measured on real `proofmesh daemon` processes: time from spawn until
 * the local API answers, then RSS after the node has idled (adverts flowing between two nodes).
 * Targets: start-up median < 0.5 s, idle RSS < 100 MB (figures on a quiet machine; the load average is printed).
 *
 *   npm run bench:daemon
 */
import '../../src/polyfill.js'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LocalNetwork } from '../../src/testnet/local-network.js'
import { loadAverage, rssMiB, sleep } from './job-helpers.js'

const RUNS = 5
const IDLE_MS = 15_000
const STARTUP_TARGET_MS = 500
const RSS_TARGET_MB = 100

const verdict = (met: boolean): string => (met ? 'MET' : 'MISSED')

console.log(`load average ${await loadAverage()}`)
const startups: number[] = []
for (let run = 0; run < RUNS; run++) {
  const network = new LocalNetwork({ nodes: 1, root: await mkdtemp(join(tmpdir(), 'proofmesh-bench-')) })
  const started = Date.now()
  await network.start()
  startups.push(Date.now() - started)
  await network.stop()
  await network.remove()
}
startups.sort((a, b) => a - b)
const median = startups[Math.floor(RUNS / 2)] ?? Number.NaN
console.log(
  `startup_ms: median=${median} min=${startups[0]} max=${startups[RUNS - 1]} target<${STARTUP_TARGET_MS} ` +
    `${verdict(median < STARTUP_TARGET_MS)} (spawn to API answering, ${RUNS} runs)`
)

const network = new LocalNetwork({
  nodes: 2,
  root: await mkdtemp(join(tmpdir(), 'proofmesh-bench-')),
  advertInterval: '1s'
})
try {
  await network.start()
  await network.converge()
  await sleep(IDLE_MS)
  for (const node of network.nodes) {
    const pid = node.process.pid
    if (pid === undefined) continue
    const rss = await rssMiB(pid)
    console.log(
      `idle_rss_mib node=${node.index} rss=${rss.toFixed(1)} target<${RSS_TARGET_MB}MB ` +
        `${verdict(rss * 1024 * 1024 < RSS_TARGET_MB * 1e6)} (after ${IDLE_MS / 1000}s idle)`
    )
  }
  console.log(`load average ${await loadAverage()}`)
} finally {
  await network.stop()
  await network.remove()
}
