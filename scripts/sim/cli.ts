/**
 * The capacity layer of a large network, simulated: `npm run sim -- --peers 10000 --json`. See simulate.ts for
 * what is modelled and what is the daemon's own code. Exit codes: 0 done, 2 usage.
 */
import '../../src/polyfill.js'
import { encodeAdvert } from '../../src/capacity/advert.js'
import { measureCosts } from './costs.js'
import { type SimOptions, type SimResult, simAdvert, simDefaults, simulate } from './simulate.js'

const USAGE = `Usage: npm run sim -- --peers N [options]

Simulates N peers' capacity adverts (two hops of gossip, churn) with the daemon's own peer table, advert
validation, ranking and reserve code, and prints per-peer cost, time to gather a job and stale refusals.

  --peers N          peers in the network (required, 2..1000000)
  --seed S           random seed (${simDefaults.seed})
  --measure-s S      simulated seconds measured after the warm-up (${simDefaults.measureS})
  --warmup-s S       simulated seconds before measuring (${simDefaults.warmupS})
  --observers K      peers whose received messages are counted (${simDefaults.observers})
  --churn F          share of peers leaving (and joining) per minute (${simDefaults.churnPerMinute})
  --graceful F       share of leaving peers that stop cleanly, with a farewell advert (${simDefaults.gracefulShare})
  --jobs J           jobs gathered at the end (${simDefaults.jobs})
  --job-units U      units per job (${simDefaults.jobUnits})
  --advert-interval-ms MS   heartbeat advert interval (${simDefaults.advertIntervalMs})
  --ttl-intervals T  an advert's TTL, in heartbeats (${simDefaults.peerTtlIntervals})
  --degree C         connections per peer (${simDefaults.degree})
  --mesh-degree D    gossipsub mesh degree (${simDefaults.meshDegree})
  --lazy-degree L    peers announced to outside the mesh, gossipsub's Dlazy (${simDefaults.lazyDegree})
  --table-cap P      peers a capacity table holds at most (${simDefaults.tableCap})
  --units-per-peer U units each peer has (${simDefaults.unitsPerPeer})
  --pull 0|1         1: a submitter whose table is short of a job's units pulls from its neighbours (${simDefaults.pull})
  --warm-up 0|1      1: a peer that joins pulls once from its neighbours; its cost to the observed peers counted (${simDefaults.warmUp})
  --json             print one JSON object instead of text
  --help             this text`

const NUMERIC: Record<string, keyof SimOptions> = {
  '--peers': 'peers',
  '--seed': 'seed',
  '--measure-s': 'measureS',
  '--warmup-s': 'warmupS',
  '--observers': 'observers',
  '--churn': 'churnPerMinute',
  '--graceful': 'gracefulShare',
  '--jobs': 'jobs',
  '--job-units': 'jobUnits',
  '--advert-interval-ms': 'advertIntervalMs',
  '--ttl-intervals': 'peerTtlIntervals',
  '--degree': 'degree',
  '--mesh-degree': 'meshDegree',
  '--lazy-degree': 'lazyDegree',
  '--table-cap': 'tableCap',
  '--units-per-peer': 'unitsPerPeer',
  '--pull': 'pull',
  '--warm-up': 'warmUp'
}

function usage(message: string): never {
  process.stderr.write(`${message}\n\n${USAGE}\n`)
  process.exit(2)
}

function parse(argv: string[]): { options: Partial<SimOptions>; json: boolean } {
  const options: Record<string, number> = {}
  let json = false
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    if (arg === '--help') {
      process.stdout.write(`${USAGE}\n`)
      process.exit(0)
    }
    if (arg === '--json') {
      json = true
      continue
    }
    const key = NUMERIC[arg]
    if (key === undefined) usage(`unknown option ${arg}`)
    const value = Number(argv[++i])
    if (!Number.isFinite(value) || value < 0) usage(`${arg} needs a number ≥ 0, got ${argv[i] ?? 'nothing'}`)
    options[key] = value
  }
  const peers = options.peers
  if (peers === undefined || !Number.isInteger(peers) || peers < 2 || peers > 1_000_000) {
    usage('--peers must be a whole number from 2 to 1000000')
  }
  if ((options.churnPerMinute ?? 0) > 1) usage('--churn is a share per minute, at most 1')
  if ((options.gracefulShare ?? 0) > 1) usage('--graceful is a share, at most 1')
  if (options.pull !== undefined && options.pull !== 0 && options.pull !== 1) usage('--pull is 0 or 1')
  if (options.warmUp !== undefined && options.warmUp !== 0 && options.warmUp !== 1)
    usage('--warm-up is 0 or 1')
  if (options.tableCap !== undefined && (!Number.isInteger(options.tableCap) || options.tableCap < 1))
    usage('--table-cap must be a whole number of at least 1')
  return { options: options, json }
}

function text(result: SimResult): string {
  const { perPeer, gather, costs } = result
  return [
    `peers=${result.peers} (${result.observers} observed)`,
    `  per peer: ${perPeer.messagesPerS.toFixed(1)} messages/s (${perPeer.firstCopiesPerS.toFixed(1)} first copies, ${perPeer.warmUpsServedPerMin.toFixed(2)} warm-ups answered a minute), ${(perPeer.bytesPerS / 1024).toFixed(2)} KiB/s, CPU ${perPeer.cpuPercent.toFixed(2)}% of a core, table ${perPeer.tableSize.toFixed(0)} peers`,
    `  gather ${gather.jobs} jobs: ${gather.filled} filled, ms median/p95/max=${gather.msMedian.toFixed(0)}/${gather.msP95.toFixed(0)}/${gather.msMax.toFixed(0)}, asks ${gather.asks}, refused busy ${gather.refusedStale}, departed ${gather.refusedDeparted} (stale share ${(100 * gather.staleShare).toFixed(1)}%)`,
    `  pulls: ${gather.pulls.jobs} jobs pulled, ${gather.pulls.rounds} rounds, ${gather.pulls.asked} neighbours asked, ${gather.pulls.adverts} adverts handed over, ${gather.pulls.listed} listed (verify ${gather.pulls.verifyMs.toFixed(1)} ms CPU)`,
    `  costs: verify ${costs.verifyMs.toFixed(3)} ms, intake ${costs.intakeMs.toFixed(3)} ms, duplicate ${costs.duplicateMs.toFixed(4)} ms, ${costs.overheadBytes} B overhead per message`
  ].join('\n')
}

const { options, json } = parse(process.argv.slice(2))
const sample = encodeAdvert(
  simAdvert(10, 10, 1n, BigInt(Date.now()), simDefaults.advertIntervalMs * simDefaults.peerTtlIntervals)
)
const result = await simulate({
  ...simDefaults,
  ...options,
  peers: options.peers as number,
  costs: await measureCosts(sample)
})
process.stdout.write(json ? `${JSON.stringify(result)}\n` : `${text(result)}\n`)
process.exit(0)
