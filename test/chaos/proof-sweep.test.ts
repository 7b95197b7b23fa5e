/**
 * The proof sweep of the chaos suite: bits of a real 2-segment final proof flipped one at a time, against the
 * prover CLI's `verify`, `serve`'s `verify` and `serve`'s `aggregate` (a flipped partial proof), each process
 * under an address-space cap. By default every bit of the headers (the final proof's framing and JSON header and
 * each segment's) and PROOF_SWEEP_RANDOM random bits (3,000) per surface; PROOF_SWEEP_BITS=N takes N header bits,
 * evenly spread, and N random bits instead (npm test runs such a sample). Random bits come from the fuzz seed
 * (FUZZ_SEED replays a run). Only "rejected" is a right answer: the counts of everything else must be 0.
 */
import '../../src/polyfill.js'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { repoRoot } from '../fixtures/prover/helpers.js'
import {
  bitsIn,
  cliVerify,
  flipped,
  makeFixture,
  randomBits,
  Serve,
  spread,
  type SweepFixture,
  type SweepResult,
  sweep,
  VERDICTS,
  writePartials
} from './fuzz/proof-sweep.js'

const binary = join(repoRoot, 'native/target/release/proofmesh-prover')
const skip = existsSync(binary) ? false : `no prover binary at ${binary}; run cargo build --release`
const SAMPLE = process.env.PROOF_SWEEP_BITS === undefined ? undefined : Number(process.env.PROOF_SWEEP_BITS)
const RANDOM = SAMPLE ?? Number(process.env.PROOF_SWEEP_RANDOM ?? 3_000)
const CONCURRENCY = 2

if (SAMPLE !== undefined && !(Number.isInteger(SAMPLE) && SAMPLE > 0))
  throw new Error('PROOF_SWEEP_BITS must be a positive integer')

/** Header bits, all of them or the sample */
function headerBits(ranges: Array<[number, number]>): number[] {
  const all = bitsIn(ranges)
  return SAMPLE === undefined ? all : spread(all, SAMPLE)
}

function report(surface: string, { tally, wrong }: SweepResult): void {
  const counts = VERDICTS.map((v) => `${v} ${tally[v]}`).join(', ')
  process.stderr.write(`proof sweep, ${surface}: ${counts}\n`)
  const bad = VERDICTS.filter((v) => v !== 'rejected' && tally[v] > 0)
  const examples = bad.flatMap((v) =>
    (wrong.get(v) ?? []).map(({ bit, detail }) => `${v} at bit ${bit}: ${detail}`)
  )
  assert.deepEqual(bad, [], `${surface}: ${counts}\n${examples.join('\n')}`)
}

describe('proof sweep: a flipped bit in a final proof is rejected', { skip, timeout: 50 * 60_000 }, () => {
  let dir: string
  let fx: SweepFixture
  let serve: Serve

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'proofmesh-proof-sweep-'))
    fx = await makeFixture(binary, join(dir, 'fixture'))
    await writePartials(fx)
    serve = new Serve(fx)
  })

  after(async () => {
    await serve?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it("by the CLI's verify", async () => {
    const bits = [...headerBits(fx.bundleHeaders), ...randomBits(fx.bundle.length, RANDOM, 'cli')]
    const result = await sweep(bits, CONCURRENCY, async (bit, slot) => {
      const path = join(dir, `cli-${slot}`)
      await writeFile(path, flipped(fx.bundle, bit))
      return cliVerify(fx, path)
    })
    report('CLI verify', result)
  })

  it("by serve's verify", async () => {
    const bits = [...headerBits(fx.bundleHeaders), ...randomBits(fx.bundle.length, RANDOM, 'serve')]
    const result = await sweep(bits, CONCURRENCY, async (bit, slot) => {
      const path = join(dir, `serve-${slot}`)
      await writeFile(path, flipped(fx.bundle, bit))
      return serve.verify(path)
    })
    report('serve verify', result)
    assert.equal(serve.deaths, 0, 'serve died')
  })

  it("by serve's aggregate, naming the flipped partial proof", async () => {
    // Bits of both partial proofs, numbered one after the other: bit b < 8·|p0| is in p0.
    const [p0, p1] = fx.partials as [Buffer, Buffer]
    const header = (p: Buffer): Array<[number, number]> => [[0, 12 + p.readUInt32LE(8)]]
    const offset = p0.length * 8
    const bits = [
      ...headerBits(header(p0)),
      ...headerBits(header(p1)).map((b) => b + offset),
      ...randomBits(p0.length + p1.length, RANDOM, 'aggregate')
    ]
    const result = await sweep(bits, CONCURRENCY, async (bit, slot) => {
      const [segment, local] = bit < offset ? [0, bit] : [1, bit - offset]
      const path = join(dir, `aggregate-${slot}`)
      await writeFile(path, flipped(fx.partials[segment] as Buffer, local))
      return serve.aggregate(segment, path, join(dir, `aggregate-out-${slot}`))
    })
    report('serve aggregate', result)
    assert.equal(serve.deaths, 0, 'serve died')
  })
})
