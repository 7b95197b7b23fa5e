/**
 * Gossip convergence across N separate `proofmesh daemon` processes on 127.0.0.1 (gossip-convergence.ts runs N
 * daemons in one process, where a single event loop serves them all and the figure says more about that loop
 * than about the network).
 *
 * Topology as a deployment is set up: a few seed nodes (the first alone, the others bootstrapped from it), and
 * every other node configured with the seeds' addresses. The seeds are started one by one, the rest in batches
 * of BATCH processes at once (on 2 cores, a whole network spawned at once spends minutes in start-up and noise
 * handshakes). The daemons' default advert settings (each build its own), as in production, unless ADVERT_INTERVAL
 * is set. Each daemon runs its native prover, as in production, so RSS is the real one.
 *
 * Measured from the moment the last daemon's API answers (`lastStarted`):
 * - until each node could fill a job of half the network's units, three ways. (a) By the API: the first poll of
 *   its /v1/peers whose answer shows enough (its own units and the free units of the peers listed), timed when
 *   that answer arrived; (b) the same, timed when its request was sent, which leaves out the API's own delay.
 *   Both measure the poll as much as the table: at 60 daemons on 2 cores the first round's 60 requests are sent
 *   one after another on a loaded machine (b: ~0.1 s) and answered by 60 processes at once (a: ~1 s).
 *   (c) By the table: from one answer of each node (its last: the confirming round's after convergence, else the
 *   latest before the deadline), its own units plus the free units of its peers in the order they entered its
 *   table (each row's listedSince, the node's clock: the same machine and wall clock as lastStarted); the time
 *   the running sum reached half, minus lastStarted, floored at 0 (a table that held half before the last daemon
 *   was up). "Fillable at their first poll" counts the nodes whose (c) is no later than the sending of their
 *   first request. (c) is never earlier than the truth: a peer dropped and listed again has a later listedSince
 *   and one gone by the last answer is not counted, both of which only delay the sum; free units are those of
 *   the last answer, the same as when the peer was listed here (an idle network leases nothing, and a daemon
 *   advertises only once its prover is up), unless a prover went down and back meanwhile. A build whose rows
 *   carry no listedSince (a "before" of older code) prints n/a.
 * - until every node's /v1/peers lists every other node (each node polled until its table is complete, then
 *   all once more to confirm; bounded by 30 intervals of 5 s, or of ADVERT_INTERVAL: with adverts going two
 *   hops, a table need not ever hold everyone). Then connections per node
 * (/v1/status connectedPeers) at convergence and SETTLE_S seconds later, the daemons' CPU (and how much of it ran
 * off their main thread) and I/O bytes (rchar + wchar: sockets, the prover's pipes and the log, both directions)
 * over those seconds, RSS per daemon.
 *
 *   npm run bench:gossip-procs -- 30 60              the current settings
 *   npm run bench:gossip-procs -- 30 60 --compare    before and after, alternating
 *
 * A daemon that fails to start three times (its API slow to answer on a loaded machine) is left out, and the
 * report says how many were: one such daemon no longer ends the whole run.
 *
 * Environment: ADVERT_INTERVAL (unset: the daemons' default), BATCH (2), SEEDS (3), SETTLE_S (30), ROUNDS (1 per
 * size and variant), WARM_S (0: none; else idle CPU and I/O are measured a second time, over SETTLE_S from WARM_S
 * seconds after the last daemon started, once the daemons' JIT has done most of its warm-up).
 * "before": with BEFORE_ROOT set, the daemons of another build (a folder holding package.json, dist/ and
 * native/target of, say, main's code); without it, this build with PROOFMESH_TEST_IDLE_DHT_CONNECTIONS=keep
 * (src/net/host.ts).
 */
import '../../src/polyfill.js'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import type { PeerRow } from '../../src/daemon/daemon.js'
import type { StatusJson } from '../../src/daemon/status-json.js'
import { type LocalNode, LocalNetwork } from '../../src/testnet/local-network.js'

const ADVERT_INTERVAL = process.env.ADVERT_INTERVAL
/** The unit of the convergence deadline and figures: the interval set, else 5 s (the previous default) */
const INTERVAL_MS = ADVERT_INTERVAL === undefined ? 5_000 : parseDuration(ADVERT_INTERVAL)
const BATCH = Math.max(1, Number(process.env.BATCH ?? 2))
const SEEDS = Math.max(1, Number(process.env.SEEDS ?? 3))
const SETTLE_MS = Number(process.env.SETTLE_S ?? 30) * 1000
const WARM_MS = Number(process.env.WARM_S ?? 0) * 1000
const ROUNDS = Math.max(1, Number(process.env.ROUNDS ?? 1))
const DEADLINE_INTERVALS = 30
const LEGACY_ENV = 'PROOFMESH_TEST_IDLE_DHT_CONNECTIONS'
const BEFORE_ROOT = process.env.BEFORE_ROOT
let retries = 0
let skipped = 0

const args = process.argv.slice(2)
const sizes = args
  .filter((arg) => /^\d+$/.test(arg))
  .map(Number)
  .filter((n) => n > SEEDS)
const variants: Variant[] = args.includes('--compare') ? ['before', 'after'] : ['after']

type Variant = 'before' | 'after'

/** A /v1/peers row as any build answers it: one before listedSince has none */
type AnswerRow = Omit<PeerRow, 'listedSince'> & { listedSince?: string }

interface Running {
  node: LocalNode
  network: LocalNetwork
  startMs: number
}

function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s)$/.exec(text)
  if (match === null) throw new Error(`ADVERT_INTERVAL: expected e.g. 5s or 500ms, got ${text}`)
  return Number(match[1]) * (match[2] === 's' ? 1000 : 1)
}

async function get<T>(node: LocalNode, path: string): Promise<T> {
  const response = await fetch(new URL(path, node.api.url), {
    headers: { authorization: `Bearer ${node.token}` },
    signal: AbortSignal.timeout(10_000)
  })
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`)
  return (await response.json()) as T
}

async function procStatusKiB(pid: number, field: string): Promise<number> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8')
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(text)?.[1] ?? Number.NaN)
}

/** Bytes one process read and wrote through system calls (sockets, pipes, files) */
async function ioBytes(pid: number): Promise<number> {
  const text = await readFile(`/proc/${pid}/io`, 'utf8')
  const field = (name: string): number =>
    Number(new RegExp(`${name}:\\s+(\\d+)`).exec(text)?.[1] ?? Number.NaN)
  return field('rchar') + field('wchar')
}

/** utime + stime in a /proc stat file, in clock ticks (100 per second on Linux) */
async function statTicks(path: string): Promise<number> {
  const stat = await readFile(path, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return Number(fields[11]) + Number(fields[12])
}

/**
 * CPU ticks of one process, in all and on its main thread: a CPU profile sees only the main thread, while V8's
 * garbage collection and compiler helpers and libuv's pool run on others (about a quarter of an idle daemon's CPU)
 */
async function cpuTicks(pid: number): Promise<{ all: number; main: number }> {
  const [all, main] = await Promise.all([
    statTicks(`/proc/${pid}/stat`),
    statTicks(`/proc/${pid}/task/${pid}/stat`)
  ])
  return { all, main }
}

async function childPids(pid: number): Promise<number[]> {
  try {
    const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8')
    return text
      .trim()
      .split(/\s+/)
      .filter((s) => s !== '')
      .map(Number)
  } catch {
    return []
  }
}

function stats(values: number[]): { min: number; median: number; p90: number; max: number } {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b)
  const at = (share: number): number => sorted[Math.floor((sorted.length - 1) * share)] ?? Number.NaN
  return { min: at(0), median: at(0.5), p90: at(0.9), max: at(1) }
}

function fmt(values: number[], digits = 0): string {
  const { min, median, max } = stats(values)
  return `${min.toFixed(digits)}/${median.toFixed(digits)}/${max.toFixed(digits)}`
}

/** min/median/p90/max: for the idle CPU, whose target holds for every daemon, not only the median one */
function fmtP90(values: number[], digits = 0): string {
  const { min, median, p90, max } = stats(values)
  return [min, median, p90, max].map((v) => v.toFixed(digits)).join('/')
}

/**
 * When a node's table first held `halfUnits`, from one /v1/peers answer of it: its own units, then its peers' free
 * units in the order they entered its table (listedSince), in ms after `since`, floored at 0; undefined when the
 * answer never reaches half. The header comment says why this is never earlier than the truth.
 */
function tableHalfAt(
  rows: AnswerRow[],
  ownUnits: number,
  halfUnits: number,
  since: number
): number | undefined {
  let units = ownUnits
  if (units >= halfUnits) return 0
  const byListing = rows
    .map((row) => ({ listedAt: Date.parse(row.listedSince ?? ''), free: row.capacity?.unitsFree ?? 0 }))
    .sort((a, b) => a.listedAt - b.listedAt)
  for (const { listedAt, free } of byListing) {
    units += free
    if (units >= halfUnits) return Math.max(0, listedAt - since)
  }
  return undefined
}

interface IdleWindow {
  cpuPercent: number[]
  offMainPercent: number
  ioKiBps: number[]
  /** Each daemon's connections at the window's end */
  connected: number[]
}

/**
 * Every daemon's CPU (% of a core) and I/O over SETTLE_S from now, the share of the CPU off main threads, and each
 * daemon's connections at the end
 */
async function idleWindow(running: Running[]): Promise<IdleWindow> {
  const pids = running.map(({ node }) => node.process.pid ?? 0)
  const ticks = async (): Promise<Array<{ all: number; main: number }>> =>
    Promise.all(pids.map(async (pid) => cpuTicks(pid).catch(() => ({ all: Number.NaN, main: Number.NaN }))))
  const io = async (): Promise<number[]> =>
    Promise.all(pids.map(async (pid) => ioBytes(pid).catch(() => Number.NaN)))
  const ticksBefore = await ticks()
  const ioBefore = await io()
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS))
  const ticksAfter = await ticks()
  const ioAfter = await io()
  const ioKiBps = ioAfter.map((after, i) => (after - (ioBefore[i] ?? 0)) / 1024 / (SETTLE_MS / 1000))
  const cpuPercent = ticksAfter.map(
    (after, i) => (after.all - (ticksBefore[i]?.all ?? Number.NaN)) / (SETTLE_MS / 1000)
  )
  // Summed over every daemon: one idle daemon runs a few ticks a second, too few to split on its own
  const spent = ticksAfter
    .map((after, i) => ({
      all: after.all - (ticksBefore[i]?.all ?? Number.NaN),
      main: after.main - (ticksBefore[i]?.main ?? Number.NaN)
    }))
    .filter(({ all, main }) => Number.isFinite(all) && Number.isFinite(main))
  const spentAll = spent.reduce((total, { all }) => total + all, 0)
  const offMainPercent = (100 * (spentAll - spent.reduce((total, { main }) => total + main, 0))) / spentAll
  return { cpuPercent, offMainPercent, ioKiBps, connected: await connections(running) }
}

/**
 * A daemon whose start timed out is not in its LocalNetwork's list, so stop() would leave it running: find it by
 * its data dir (unique to this run) and stop it
 */
async function stopStray(dataDir: string): Promise<void> {
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const argv = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).split('\0')
      const flag = argv.indexOf('--data-dir')
      if (argv.includes('daemon') && flag >= 0 && argv[flag + 1] === dataDir)
        process.kill(Number(entry), 'SIGTERM')
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
}

async function startOnce(nodeRoot: string, bootstrap: string[], variant: Variant): Promise<Running> {
  const network = new LocalNetwork({
    nodes: 1,
    ...(variant === 'before' && BEFORE_ROOT !== undefined
      ? { cliEntry: join(BEFORE_ROOT, 'dist', 'node', 'cli.js') }
      : {}),
    root: nodeRoot,
    advertInterval: ADVERT_INTERVAL ?? false,
    nodeArgs: () => bootstrap.flatMap((address) => ['--bootstrap', address]),
    startTimeoutMs: 120_000
  })
  const started = Date.now()
  try {
    await network.start()
  } catch (err) {
    await network.stop()
    await stopStray(join(nodeRoot, 'node-0'))
    throw err
  }
  const node = network.nodes[0]
  if (node === undefined) throw new Error(`no node under ${nodeRoot}`)
  return { node, network, startMs: Date.now() - started }
}

/**
 * LocalNetwork gives a starting daemon's API 5 s to answer its first status request; on a loaded machine a
 * daemon busy joining can miss that. Such a node is stopped and started afresh (a new identity), at most twice;
 * after a third failure it is left out (undefined), counted in the report.
 */
async function startOne(
  root: string,
  index: number,
  bootstrap: string[],
  variant: Variant
): Promise<Running | undefined> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(
        join(root, `n${index}${attempt === 0 ? '' : `-retry${attempt}`}`),
        bootstrap,
        variant
      )
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err)
      if (attempt < 2) {
        retries++
        console.error(`node ${index}: start failed (${message}); again`)
      } else {
        skipped++
        console.error(`node ${index}: start failed a third time (${message}); left out`)
      }
    }
  }
  return undefined
}

/** The three daemons that spent the most CPU in a window: their CPU and connections, beside the median's */
function busiest(window: IdleWindow): string {
  const top = window.cpuPercent
    .map((cpu, index) => ({ cpu, index }))
    .filter(({ cpu }) => Number.isFinite(cpu))
    .sort((a, b) => b.cpu - a.cpu)
    .slice(0, 3)
  const median = stats(window.connected).median
  return `${top.map(({ cpu, index }) => `node ${index} ${cpu.toFixed(1)}% with ${window.connected[index] ?? Number.NaN} connections`).join(', ')} (median connections ${median})`
}

/** connectedPeers of every node; NaN where the API did not answer within 10 s (counted apart) */
async function connections(running: Running[]): Promise<number[]> {
  return Promise.all(
    running.map(async ({ node }) =>
      get<StatusJson>(node, '/v1/status')
        .then((status) => status.connectedPeers)
        .catch(() => Number.NaN)
    )
  )
}

function unanswered(values: number[]): string {
  const missing = values.filter((v) => Number.isNaN(v)).length
  return missing === 0 ? '' : `  (${missing} APIs did not answer)`
}

async function measure(nodes: number, variant: Variant, live: Set<Running>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'proofmesh-gossip-procs-'))
  const previousEnv = process.env[LEGACY_ENV]
  if (variant === 'before' && BEFORE_ROOT === undefined) process.env[LEGACY_ENV] = 'keep'
  else delete process.env[LEGACY_ENV]
  /** Every daemon started lands here at once, so that a failed batch stops it too; seeds first */
  const running: Running[] = []
  const load = loadavg()[0] ?? 0
  retries = 0
  skipped = 0
  try {
    const startedAll = Date.now()
    for (let index = 0; index < SEEDS; index++) {
      const first = running[0]?.node.status.addrs[0]
      const started = await startOne(root, index, first === undefined ? [] : [first], variant)
      if (started === undefined) continue
      running.push(started)
      live.add(started)
    }
    if (running.length === 0) throw new Error('no seed node started')
    const seedCount = running.length
    const seeds = running.map(({ node }) => node.status.addrs[0] ?? '')
    for (let index = SEEDS; index < nodes; index += BATCH) {
      const results = await Promise.allSettled(
        Array.from({ length: Math.min(BATCH, nodes - index) }, async (_, i) => {
          const started = await startOne(root, index + i, seeds, variant)
          if (started === undefined) return
          running.push(started)
          live.add(started)
        })
      )
      for (const result of results) if (result.status === 'rejected') throw result.reason
    }
    const lastStarted = Date.now()
    const ids = running.map(({ node }) => node.status.peerId)
    // Nodes not yet complete are polled until they are (each one's time is when its own answer came); then one
    // round over all confirms that every table is still complete, else the ones that lost a peer go back.
    // Polling only those keeps the benchmark's own load off a saturated machine.
    const completeAt = new Map<number, number>()
    /** When each node could first fill a job of half the network's units (its answer's arrival) */
    const halfAt = new Map<number, number>()
    /**
     * The same, by when that answering request was sent: a table is read somewhere between the two, and on a loaded
     * machine the API's own delay (seconds at load 50) would otherwise count as time the node could not fill a job
     */
    const halfAsked = new Map<number, number>()
    /** When each node's first request was sent, and its latest answer: the table figure (c) reads these */
    const firstAsked = new Map<number, number>()
    const lastAnswer = new Map<number, AnswerRow[]>()
    const unitsOf = running.map(({ node }) => node.status.capacity?.unitsTotal ?? 0)
    const halfUnits = unitsOf.reduce((a, b) => a + b, 0) / 2
    const lastSize = running.map(() => 0)
    const pending = new Set(running.map((_, index) => index))
    const deadline = lastStarted + DEADLINE_INTERVALS * INTERVAL_MS
    let converged: number | undefined
    let polls = 0
    while (Date.now() < deadline) {
      polls++
      const confirming = pending.size === 0
      const round = confirming ? running.map((_, index) => index) : [...pending]
      const results = await Promise.all(
        round.map(async (index) => {
          const asked = Date.now() - lastStarted
          const entry = running[index]
          const answer: AnswerRow[] | undefined = entry
            ? await entry.network.peers(entry.node).catch(() => undefined)
            : undefined
          const rows = answer ?? []
          const table = new Set(rows.map((row) => row.peerId))
          const free = rows.reduce((sum, row) => sum + (row.capacity?.unitsFree ?? 0), unitsOf[index] ?? 0)
          return { index, answer, table, free, asked, at: Date.now() - lastStarted }
        })
      )
      for (const { index, answer, table, free, asked, at } of results) {
        const self = ids[index] ?? ''
        lastSize[index] = table.size
        if (!firstAsked.has(index)) firstAsked.set(index, asked)
        if (answer !== undefined) lastAnswer.set(index, answer)
        if (free >= halfUnits && !halfAt.has(index)) {
          halfAt.set(index, at)
          halfAsked.set(index, asked)
        }
        if (ids.every((id) => id === self || table.has(id))) {
          if (!completeAt.has(index)) completeAt.set(index, at)
          pending.delete(index)
        } else {
          completeAt.delete(index)
          pending.add(index)
        }
      }
      if (confirming && pending.size === 0) {
        converged = Math.max(...completeAt.values())
        break
      }
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
    const smallest = Math.min(...lastSize)
    const answers = [...lastAnswer.entries()]
    const carriesListedSince = answers.some(([, rows]) => rows.some((row) => row.listedSince !== undefined))
    const tableHalf = (carriesListedSince ? answers : []).flatMap(([index, rows]) => {
      const at = tableHalfAt(rows, unitsOf[index] ?? 0, halfUnits, lastStarted)
      return at === undefined ? [] : [{ at, firstPoll: at <= (firstAsked.get(index) ?? Number.NaN) }]
    })
    const byTable = carriesListedSince
      ? `${tableHalf.length}/${running.length} nodes, ms min/median/max=${fmt(tableHalf.map(({ at }) => at))}  fillable at their first poll: ${tableHalf.filter(({ firstPoll }) => firstPoll).length}/${running.length}`
      : 'n/a (its /v1/peers rows carry no listedSince)'
    const half = [...halfAt.values()]
    const startMs = running.map((r) => r.startMs)
    const firstComplete = [...completeAt.values()]
    const rest = (values: number[]): number[] => values.slice(seedCount)
    console.log(
      [
        `nodes=${nodes} variant=${variant}${variant === 'before' && BEFORE_ROOT !== undefined ? ` (${BEFORE_ROOT})` : ''} (seeds=${SEEDS}, batches of ${BATCH}, advert interval ${ADVERT_INTERVAL ?? 'the daemon default'}, load avg ${load.toFixed(1)} at start)`,
        `  start_all_ms=${lastStarted - startedAll}  per-daemon spawn→API ms min/median/max=${fmt(startMs)}  restarted=${retries}  left out after 3 failed starts=${skipped}`,
        `  half the network's units fillable: ${half.length}/${running.length} nodes, ms min/median/max=${fmt(half)}  (by when the answering request was sent: ${fmt([...halfAsked.values()])})`,
        `  half the network's units in the table (by listedSince, from each node's last answer): ${byTable}`,
        converged === undefined
          ? `  converged=NO after ${DEADLINE_INTERVALS} intervals of ${INTERVAL_MS} ms: ${completeAt.size}/${running.length} tables complete, smallest ${smallest}/${running.length - 1} (${polls} poll rounds)`
          : `  converged_ms=${converged}  intervals of ${INTERVAL_MS} ms=${(converged / INTERVAL_MS).toFixed(2)}  target<=2 ${converged <= 2 * INTERVAL_MS ? 'MET' : 'MISSED'}  (first complete per node, ms min/median/max=${fmt(firstComplete)}; ${polls} poll rounds)`
      ].join('\n')
    )
    const atConvergence = await connections(running)
    console.log(
      `  connections at convergence  all min/median/max=${fmt(atConvergence)}  non-seed=${fmt(rest(atConvergence))}  seeds=${atConvergence.slice(0, seedCount).join(',')}${unanswered(atConvergence)}`
    )
    const sum = (values: number[]): number =>
      values.filter((v) => Number.isFinite(v)).reduce((a, b) => a + b, 0)
    const firstWindow = await idleWindow(running)
    const settled = firstWindow.connected
    // A daemon's JIT keeps compiling for minutes after start (~1 TurboFan job a second at 5 min, idle): the first
    // window right after convergence holds that warm-up, the second one (WARM_S after the last start) what an idle
    // daemon spends once it is done with most of it
    const warmFrom = lastStarted + WARM_MS
    const secondWindow =
      WARM_MS > 0
        ? await new Promise((resolve) => setTimeout(resolve, Math.max(0, warmFrom - Date.now()))).then(
            async () => ({ from: Date.now() - lastStarted, window: await idleWindow(running) })
          )
        : undefined
    const describe = (window: IdleWindow, what: string): string[] => [
      `  idle daemon CPU % ${what} min/median/p90/max=${fmtP90(window.cpuPercent, 1)}  sum=${sum(window.cpuPercent).toFixed(0)}% (of 100% per core)`,
      `    of that CPU off the main thread (GC and compiler helpers, libuv pool): ${window.offMainPercent.toFixed(0)}% (all daemons)`,
      `    idle daemon I/O KiB/s (rchar+wchar) min/median/max=${fmt(window.ioKiBps, 1)}`,
      // what the busiest have in common, if anything: the connections a daemon holds set its gossip upkeep
      `    the three busiest: ${busiest(window)}`
    ]
    const rss = await Promise.all(
      running.map(async ({ node }) =>
        procStatusKiB(node.process.pid ?? 0, 'VmRSS')
          .then((kib) => kib / 1024)
          .catch(() => Number.NaN)
      )
    )
    const proverRss = await Promise.all(
      running.map(async ({ node }) => {
        const children = await childPids(node.process.pid ?? 0)
        const sizes = await Promise.all(children.map((pid) => procStatusKiB(pid, 'VmRSS').catch(() => 0)))
        return sizes.reduce((a, b) => a + b, 0) / 1024
      })
    )
    const exited = running.flatMap(({ node }, index) =>
      node.process.exitCode !== null || node.process.signalCode !== null ? [index] : []
    )
    console.log(
      [
        `  connections ${SETTLE_MS / 1000}s later       all min/median/max=${fmt(settled)}  non-seed=${fmt(rest(settled))}  seeds=${settled.slice(0, seedCount).join(',')}${unanswered(settled)}`,
        ...describe(firstWindow, `over those ${SETTLE_MS / 1000}s`),
        ...(secondWindow === undefined
          ? []
          : describe(
              secondWindow.window,
              `over ${SETTLE_MS / 1000}s from ${(secondWindow.from / 1000).toFixed(0)}s after the last start (warm)`
            )),
        `  rss_mib daemon min/median/max=${fmt(rss)}  total=${sum(rss).toFixed(0)}  prover child median=${stats(proverRss).median.toFixed(0)}`,
        `  load avg at end ${(loadavg()[0] ?? 0).toFixed(1)}${exited.length === 0 ? '' : `  DAEMONS EXITED: ${exited.join(',')}`}`
      ].join('\n')
    )
  } finally {
    await Promise.all(running.map((r) => r.network.stop()))
    for (const r of running) live.delete(r)
    if (previousEnv === undefined) delete process.env[LEGACY_ENV]
    else process.env[LEGACY_ENV] = previousEnv
    await rm(root, { recursive: true, force: true })
  }
}

const live = new Set<Running>()
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void Promise.all([...live].map((r) => r.network.stop())).finally(() => process.exit(130))
  })
}
for (const nodes of sizes.length > 0 ? sizes : [30, 60]) {
  for (let round = 0; round < ROUNDS; round++) {
    for (const variant of variants) await measure(nodes, variant, live)
  }
}
