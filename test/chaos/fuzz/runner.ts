/**
 * Running cases: one stream exchange and how it ended, a surface's cases on a few workers at once with a report
 * of the outcomes, and what was in flight should the daemon die meanwhile.
 */
import type { Stream } from '@libp2p/interface'
import { readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { within } from '../../fixtures/prover/helpers.js'
import { buildWire, type FrameCase, hex, type WireCase } from './bytes.js'
import { type FuzzContext } from './context.js'
import { caseRng, type Rng } from './rng.js'
import {
  CASE_DEADLINE_MS,
  HOLD_MS,
  LATE_MS,
  MAX_REPLY_BYTES,
  SEED,
  STUCK_MS,
  type SurfaceName
} from './settings.js'

/**
 * reply: the daemon wrote something; reset / closed: it reset or closed the stream without a word; late: it did so
 * only past the deadline (within LATE_MS more), although we had closed our side; silent: not even then; dropped: we
 * reset it ourselves after writing; held: we kept it open until the deadline; refused: it could not be opened
 */
type Outcome = 'reply' | 'reset' | 'closed' | 'late' | 'silent' | 'dropped' | 'held' | 'refused'

/** Opens a stream, writes a case, reads what comes back until the daemon closes or resets it, or time is up */
async function exchange(ctx: FuzzContext, protocol: string, c: WireCase): Promise<Outcome> {
  const signal = AbortSignal.timeout(c.ending === 'hold' ? HOLD_MS : CASE_DEADLINE_MS)
  let stream: Stream
  try {
    stream = await ctx.host.dialProtocol(ctx.daemonId, protocol, { signal })
  } catch {
    return 'refused'
  }
  let received = 0
  const ended = new Promise<'closed' | 'reset'>((resolve) => {
    stream.addEventListener('message', (event) => {
      received += event.data.byteLength
      if (received > MAX_REPLY_BYTES) stream.abort(new Error('fuzz: read enough'))
    })
    stream.addEventListener('remoteCloseWrite', () => resolve('closed'))
    stream.addEventListener('close', (event) => resolve(event.error === undefined ? 'closed' : 'reset'))
    if (stream.status !== 'open') resolve('reset')
  })
  const deadline = new Promise<'silent'>((resolve) => {
    if (signal.aborted) resolve('silent')
    signal.addEventListener('abort', () => resolve('silent'), { once: true })
  })
  try {
    for (let at = 0; at < c.wire.byteLength; at += 64 * 1024) {
      if (!stream.send(c.wire.subarray(at, at + 64 * 1024))) await stream.onDrain({ signal })
    }
    if (c.ending === 'close') await stream.close({ signal })
    else if (c.ending === 'abort') {
      stream.abort(new Error('fuzz: reset after writing'))
      return received > 0 ? 'reply' : 'dropped'
    }
  } catch {
    // the daemon reset the stream while we wrote, or the time is up: the read below says which
  }
  let how: Outcome = await Promise.race([ended, deadline])
  if (how === 'silent' && received === 0 && c.ending === 'close') {
    // past the deadline with our side closed: late (the daemon was busy), or never (a stream it holds on to)
    const late = await Promise.race([
      ended,
      new Promise<'silent'>((resolve) => setTimeout(resolve, LATE_MS, 'silent'))
    ])
    if (late !== 'silent') how = 'late'
  }
  if (stream.status !== 'closed') stream.abort(new Error('fuzz: the case is over'))
  if (received > 0) return 'reply'
  return how === 'silent' && c.ending === 'hold' ? 'held' : how
}

interface CaseRun {
  /** The exact input, for a report; only built when one is needed */
  describe: () => string
  run: () => Promise<string>
}

export interface SurfaceReport {
  name: string
  cases: number
  ms: number
  outcomes: Map<string, number>
  /** Cases whose input threw in the fuzzer itself, or that did not end */
  problems: string[]
  /** The first few cases of each outcome worth a look (see NOTABLE) */
  examples: Map<string, string[]>
}

/**
 * Outcomes whose first cases are kept for the report: a stream the daemon closed late, or not at all, or without
 * a word; an HTTP request not answered in time (one that promised more body than it sent is not counted here), or
 * answered with something that is not HTTP
 */
const NOTABLE: ReadonlySet<string> = new Set(['late', 'silent', 'closed', 'garbage'])

/** The surface running now, for a report should the daemon die */
let running: { name: string; inFlight: Map<number, () => string>; recent: Array<() => string> } | undefined

export function summary(report: SurfaceReport, extra = ''): string {
  const counts = [...report.outcomes.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([outcome, count]) => `${outcome} ${count}`)
    .join(', ')
  return `fuzz ${report.name}: ${report.cases} cases in ${(report.ms / 1000).toFixed(1)} s: ${counts}${extra}`
}

export async function runSurface(
  name: SurfaceName,
  count: number,
  concurrency: number,
  makeCase: (rng: Rng, index: number) => CaseRun,
  stop: () => boolean = () => false
): Promise<SurfaceReport> {
  const outcomes = new Map<string, number>()
  const problems: string[] = []
  const examples = new Map<string, string[]>()
  const state = { name, inFlight: new Map<number, () => string>(), recent: [] as Array<() => string> }
  running = state
  const started = Date.now()
  let next = 0
  let done = 0
  const worker = async (): Promise<void> => {
    for (;;) {
      const index = next++
      if (index >= count || stop()) return
      const c = makeCase(caseRng(name, index), index)
      const describe = (): string => `${name} case ${index}: ${c.describe()}`
      state.inFlight.set(index, describe)
      let outcome: string
      try {
        outcome = await within(c.run(), STUCK_MS + CASE_DEADLINE_MS, `${name} case ${index}`)
      } catch (err) {
        outcome = (err as Error).message.startsWith('timed out') ? 'stuck' : 'fuzzer error'
        if (problems.length < 20) problems.push(`${outcome}: ${(err as Error).message}: ${describe()}`)
      }
      state.inFlight.delete(index)
      state.recent.push(describe)
      if (state.recent.length > 64) state.recent.shift()
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1)
      if (NOTABLE.has(outcome)) {
        const kept = examples.get(outcome) ?? []
        if (kept.length < 3) examples.set(outcome, [...kept, describe().slice(0, 1500)])
      }
      done++
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  running = undefined
  return { name, cases: done, ms: Date.now() - started, outcomes, problems, examples }
}

export function streamSurface(
  ctx: FuzzContext,
  protocol: string,
  cap: number,
  generate: (rng: Rng, ctx: FuzzContext) => FrameCase
): (rng: Rng) => CaseRun {
  return (rng) => {
    const c = buildWire(rng, cap, (r) => generate(r, ctx))
    return {
      describe: () => `${c.label} [${c.ending}, ${c.wire.byteLength} bytes] hex ${hex(c.wire)}`,
      run: async () => exchange(ctx, protocol, c)
    }
  }
}

/**
 * What the fuzzer was doing when the daemon exited (the cases in flight, the last ones done), kept in a file with
 * the tail of the daemon's log
 */
export function reportDeath(
  code: number | null,
  signal: NodeJS.Signals | null,
  logFile: string
): { report: string; file: string } {
  const state = running
  const report = [
    `seed ${SEED}, surface ${state?.name ?? '(between surfaces)'}, exit ${code ?? signal}` +
      (signal === null ? '' : ' (a signal from outside, or the OOM killer: not a crash of its own)'),
    `in flight when it died:`,
    ...[...(state?.inFlight.values() ?? [])].map((describe) => `  ${describe()}`),
    `the last cases done before:`,
    ...(state?.recent ?? []).map((describe) => `  ${describe()}`)
  ].join('\n')
  const file = join(tmpdir(), `proofmesh-fuzz-crash-${SEED}-${state?.name ?? 'none'}.txt`)
  void readFile(logFile, 'utf8')
    .then((log) => writeFile(file, `${report}\n\nlog tail:\n${log.split('\n').slice(-80).join('\n')}\n`))
    .catch(() => undefined)
  return { report, file }
}
