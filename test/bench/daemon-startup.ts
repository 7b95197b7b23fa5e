/**
 * Daemon start-up time and idle memory, measured on real `proofmesh daemon` processes: time from spawn until
 * the local API answers, then RSS after the node has idled (adverts flowing between two nodes).
 * Target: idle RSS < 150 MB.
 *
 *   npm run bench:daemon
 */
import '../../src/polyfill.js'
import { mkdtemp, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LocalNetwork } from '../../src/testnet/local-network.js'

const RUNS = 5
const IDLE_MS = 15_000

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const kib = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN)
  return kib / 1024
}

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
console.log(
  `startup_ms: median=${startups[Math.floor(RUNS / 2)]} min=${startups[0]} max=${startups[RUNS - 1]} (spawn to API answering, ${RUNS} runs)`
)

const network = new LocalNetwork({
  nodes: 2,
  root: await mkdtemp(join(tmpdir(), 'proofmesh-bench-')),
  advertInterval: '1s'
})
try {
  await network.start()
  await network.converge()
  await new Promise((resolve) => setTimeout(resolve, IDLE_MS))
  for (const node of network.nodes) {
    const pid = node.process.pid
    if (pid === undefined) continue
    const rss = await rssMiB(pid)
    console.log(
      `idle_rss_mib node=${node.index} rss=${rss.toFixed(1)} target<150 ${rss < 150 ? 'MET' : 'MISSED'} (after ${IDLE_MS / 1000}s idle)`
    )
  }
} finally {
  await network.stop()
  await network.remove()
}
