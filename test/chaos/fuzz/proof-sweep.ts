/**
 * Bit flips in a real final proof, against the three readers of proofs other peers made: the prover CLI's
 * `verify`, `serve`'s `verify`, and `serve`'s `aggregate` (one flipped partial proof). Every process runs under an
 * address-space cap, so that a decoder asking for a huge allocation fails (and is counted) instead of succeeding on
 * an overcommitting machine. Each run ends in one verdict: accepted (a flipped proof passed), rejected (the only
 * right answer), panicked (a panic reached the answer), aborted (a process died: the CLI, `serve`, or the child
 * `serve` checks proofs in), hung (no answer within its deadline), or misblamed (aggregate named another segment).
 */
import { execFile } from 'node:child_process'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { createLogger } from '../../../src/log/index.js'
import { NppClient } from '../../../src/prover/npp-client.js'
import { ProverRpcError } from '../../../src/prover/errors.js'
import { NppErrorCode } from '../../../src/prover/types.js'
import { caseRng } from './rng.js'

export const VERDICTS = ['accepted', 'rejected', 'panicked', 'aborted', 'hung', 'misblamed'] as const
export type Verdict = (typeof VERDICTS)[number]
export type Tally = Record<Verdict, number>

/** The address space each prover process gets: checking a small proof needs a few tens of MB */
export const ADDRESS_SPACE_BYTES = 4 * 1024 ** 3
/** A small proof verifies in well under a second; past this a run is hung */
export const RUN_DEADLINE_MS = 60_000
const PROGRAM = 'rescue-sponge'
/** What `serve` answers when the child that checked a proof died on it */
const CHILD_DIED = /verifier process died/
const PANICKED = /panick/

/** A 2-segment final proof, its partial proofs, and where their headers are */
export interface SweepFixture {
  binary: string
  dir: string
  bundle: Buffer
  job: string
  inputSize: number
  challenge: string
  contributions: string[]
  /** The partial proof files (segment i's at index i) */
  partials: Buffer[]
  /** [start, end) byte ranges of the bundle's framing and JSON headers (its own and each segment's) */
  bundleHeaders: Array<[number, number]>
}

interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/** Runs a command; rejects only if it cannot be started (that is the harness's failure, not a verdict) */
const exec = (file: string, args: string[]) =>
  new Promise<Exit>((resolve, reject) => {
    execFile(file, args, { timeout: RUN_DEADLINE_MS, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      const e = err as (Error & { code?: number | string; signal?: NodeJS.Signals | null }) | null
      if (typeof e?.code === 'string') {
        reject(e)
        return
      }
      resolve({ code: e === null ? 0 : (e.code ?? null), signal: e?.signal ?? null, stdout, stderr })
    })
  })

/** A run's verdict, and what a wrong one looked like */
export interface Outcome {
  verdict: Verdict
  detail: string
}

/** The argv that runs the prover under the address-space cap */
export function capped(binary: string, args: string[]): [string, string[]] {
  return ['prlimit', [`--as=${ADDRESS_SPACE_BYTES}`, '--', binary, ...args]]
}

/** Header ranges of a bundle: its 12-byte prefix and JSON, and each segment's length, prefix and JSON */
export function headerRanges(bundle: Buffer): Array<[number, number]> {
  const ranges: Array<[number, number]> = []
  const header = bundle.readUInt32LE(8)
  ranges.push([0, 12 + header])
  const meta = JSON.parse(bundle.subarray(12, 12 + header).toString('utf8')) as { segments: number }
  let at = 12 + header
  for (let i = 0; i < meta.segments; i++) {
    const length = bundle.readUInt32LE(at)
    const segHeader = bundle.readUInt32LE(at + 4 + 8)
    ranges.push([at, at + 4 + 12 + segHeader])
    at += 4 + length
  }
  return ranges
}

/** Proves a small input in two segments with the CLI and reads what the sweep needs */
export async function makeFixture(binary: string, dir: string): Promise<SweepFixture> {
  await mkdir(dir, { recursive: true })
  const input = join(dir, 'input')
  const bytes = Buffer.alloc(2 * 56 * 3 + 17)
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 131 + 7) & 0xff
  await writeFile(input, bytes)
  const job = 'sweep'
  const out = join(dir, 'final')
  const run = await exec(binary, [
    'prove-all',
    '--segments',
    '2',
    '--job',
    job,
    '--input',
    input,
    '--out',
    out,
    '--work-dir',
    join(dir, 'work')
  ])
  if (run.code !== 0) throw new Error(`prove-all failed: ${run.stderr}`)
  const bundle = await readFile(out)
  const header = JSON.parse(bundle.subarray(12, 12 + bundle.readUInt32LE(8)).toString('utf8')) as {
    inputSize: number
    challenge: string
    contributions: string[]
  }
  const partials = await Promise.all(
    header.contributions.map((_, i) => readFile(join(dir, 'work', `${job}.seg${i}.proof`)))
  )
  return {
    binary,
    dir,
    bundle,
    job,
    inputSize: header.inputSize,
    challenge: header.challenge,
    contributions: header.contributions,
    partials,
    bundleHeaders: headerRanges(bundle)
  }
}

/** Every bit in `ranges` */
export function bitsIn(ranges: Array<[number, number]>): number[] {
  const bits: number[] = []
  for (const [start, end] of ranges) for (let b = start * 8; b < end * 8; b++) bits.push(b)
  return bits
}

/** `count` bits drawn from [0, size·8) with the run's seed, for `surface` */
export function randomBits(size: number, count: number, surface: string): number[] {
  return Array.from({ length: count }, (_, i) => caseRng(`${surface}-bits`, i).int(size * 8))
}

/** `count` evenly spaced bits of `bits` (all of them when count ≥ their number) */
export function spread(bits: number[], count: number): number[] {
  if (count >= bits.length) return bits
  return Array.from({ length: count }, (_, i) => bits[Math.floor((i * bits.length) / count)] as number)
}

export function flipped(bytes: Buffer, bit: number): Buffer {
  const copy = Buffer.from(bytes)
  copy[bit >> 3] = (copy[bit >> 3] ?? 0) ^ (1 << (bit & 7))
  return copy
}

export function emptyTally(): Tally {
  return { accepted: 0, rejected: 0, panicked: 0, aborted: 0, hung: 0, misblamed: 0 }
}

/** The CLI's `verify` on one flipped copy */
export async function cliVerify(fx: SweepFixture, path: string): Promise<Outcome> {
  const [file, args] = capped(fx.binary, ['verify', '--proof', path])
  const r = await exec(file, args)
  const detail = `exit ${r.code} ${r.signal ?? ''} ${r.stderr.slice(-300)}`
  if (r.signal === 'SIGTERM' && r.code === null) return { verdict: 'hung', detail }
  if (r.signal !== null || r.code === 134 || r.code === 139) return { verdict: 'aborted', detail }
  if (r.code === 101 || PANICKED.test(r.stderr)) return { verdict: 'panicked', detail }
  if (r.code === 0) return { verdict: 'accepted', detail }
  if (r.code === 1) {
    const answer = JSON.parse(r.stdout) as { valid: boolean; reason?: string }
    const right = answer.valid === false && answer.reason !== undefined
    return { verdict: right ? 'rejected' : 'panicked', detail: r.stdout }
  }
  return { verdict: 'aborted', detail }
}

const quiet = createLogger({
  level: 'error',
  format: 'json',
  destination: new Writable({
    write(_chunk, _encoding, callback) {
      callback()
    }
  })
})

/** One `serve` under the cap, restarted when it dies (which counts as an abort of the run in flight) */
export class Serve {
  private client: NppClient | undefined
  deaths = 0
  constructor(private readonly fx: SweepFixture) {}

  private async current(): Promise<NppClient> {
    if (this.client?.running === true) return this.client
    if (this.client !== undefined) this.deaths++
    const [file, args] = capped(this.fx.binary, ['serve'])
    const client = new NppClient({ command: [file, ...args], logger: quiet, callTimeoutMs: RUN_DEADLINE_MS })
    await client.start()
    this.client = client
    return client
  }

  async verify(path: string): Promise<Outcome> {
    const client = await this.current()
    try {
      const r = await client.call('verify', { program: PROGRAM, proof: path }, { timeoutMs: RUN_DEADLINE_MS })
      const detail = JSON.stringify(r)
      if (r.valid) return { verdict: 'accepted', detail }
      if (CHILD_DIED.test(r.reason ?? '')) return { verdict: 'aborted', detail }
      if (PANICKED.test(r.reason ?? '')) return { verdict: 'panicked', detail }
      return { verdict: 'rejected', detail }
    } catch (err) {
      return this.failure(client, err)
    }
  }

  /** `aggregate` with partial proof `segment` replaced by the file at `path` */
  async aggregate(segment: number, path: string, out: string): Promise<Outcome> {
    const client = await this.current()
    const proofs = this.fx.partials.map((_, i) => (i === segment ? path : join(this.fx.dir, `partial-${i}`)))
    try {
      await client.call(
        'aggregate',
        {
          job: this.fx.job,
          program: PROGRAM,
          inputSize: this.fx.inputSize,
          challenge: this.fx.challenge,
          contributions: this.fx.contributions,
          proofs,
          out
        },
        { timeoutMs: RUN_DEADLINE_MS }
      )
      return { verdict: 'accepted', detail: 'aggregated' }
    } catch (err) {
      // A flipped version byte reads as another prover version's proof: refused as unsupported, on its segment
      const refused = [NppErrorCode.PROOF_INVALID, NppErrorCode.UNSUPPORTED_VERSION] as number[]
      if (err instanceof ProverRpcError && refused.includes(err.code)) {
        const data = err.data as { segment?: unknown; reason?: unknown } | undefined
        const detail = JSON.stringify(data)
        if (CHILD_DIED.test(String(data?.reason))) return { verdict: 'aborted', detail }
        if (PANICKED.test(String(data?.reason))) return { verdict: 'panicked', detail }
        return { verdict: data?.segment === segment ? 'rejected' : 'misblamed', detail }
      }
      return this.failure(client, err)
    }
  }

  private failure(client: NppClient, err: unknown): Outcome {
    const name = (err as Error).name
    const detail = `${name}: ${(err as Error).message}`
    if (name === 'ProverTimeoutError') return { verdict: 'hung', detail }
    if (!client.running || name === 'ProverCrashedError') return { verdict: 'aborted', detail }
    return { verdict: 'panicked', detail }
  }

  async stop(): Promise<void> {
    const client = this.client
    if (client === undefined) return
    client.markClosing()
    client.endInput()
    if (!(await client.waitForExit(5_000))) client.kill('SIGKILL')
  }
}

/** Writes the unflipped partial proofs where `Serve.aggregate` takes them from */
export async function writePartials(fx: SweepFixture): Promise<void> {
  await Promise.all(fx.partials.map((bytes, i) => writeFile(join(fx.dir, `partial-${i}`), bytes)))
}

/** A sweep's counts, and a few of its wrong outcomes to replay */
export interface SweepResult {
  tally: Tally
  /** Up to 5 bits per wrong verdict, with what the run said */
  wrong: Map<Verdict, Array<{ bit: number; detail: string }>>
}

/** Runs `one` on every bit, `concurrency` at a time */
export async function sweep(
  bits: number[],
  concurrency: number,
  one: (bit: number, slot: number) => Promise<Outcome>
): Promise<SweepResult> {
  const tally = emptyTally()
  const wrong = new Map<Verdict, Array<{ bit: number; detail: string }>>()
  let next = 0
  await Promise.all(
    Array.from({ length: concurrency }, async (_, slot) => {
      while (next < bits.length) {
        const bit = bits[next++] as number
        const { verdict, detail } = await one(bit, slot)
        tally[verdict]++
        if (verdict === 'rejected') continue
        const list = wrong.get(verdict) ?? []
        if (list.length < 5) list.push({ bit, detail })
        wrong.set(verdict, list)
      }
    })
  )
  return { tally, wrong }
}
