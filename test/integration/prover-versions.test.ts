import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { NppClient } from '../../src/prover/npp-client.js'
import { planThroughV1 } from '../../src/prover/plan-v1.js'
import { segmentOf } from '../../src/prover/prove-job.js'
import type { HelloResult } from '../../src/prover/types.js'
import { captureLogger, layoutFor, repoRoot } from '../fixtures/prover/helpers.js'

const binary = join(repoRoot, 'native/target/release/proofmesh-prover')
const skip = existsSync(binary) ? false : `no prover binary at ${binary}; run cargo build --release`
const PROGRAM = 'rescue-sponge'
const PEERS = [
  { id: 'A', units: 10 },
  { id: 'B', units: 10 },
  { id: 'C', units: 5 }
]

let dir: string
let input: string
const clients: NppClient[] = []

/** The reference prover, greeted as a daemon speaking only `versions` would greet it */
async function greeted(hello: Record<string, unknown>): Promise<{ client: NppClient; hello: HelloResult }> {
  const client = new NppClient({ command: [binary, 'serve'], logger: captureLogger().logger })
  clients.push(client)
  await client.start()
  return { client, hello: await client.call('hello', hello as never, { timeoutMs: 30_000 }) }
}

describe('NPP versions on the reference prover', { skip, timeout: 120_000 }, () => {
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'proofmesh-prover-versions-'))
    input = join(dir, 'input')
    await writeFile(input, randomBytes(256 * 1024 + 3))
  })

  after(async () => {
    for (const client of clients) {
      client.markClosing()
      client.kill('SIGKILL')
      await client.waitForExit(5_000)
    }
    await rm(dir, { recursive: true, force: true })
  })

  it('answers the highest version offered, v1 to a daemon that predates versions', async () => {
    assert.equal((await greeted({ protocol: 1, versions: [1, 2] })).hello.protocol, 2)
    assert.equal((await greeted({ protocol: 1 })).hello.protocol, 1)
    assert.equal((await greeted({ protocol: 1, versions: [1] })).hello.protocol, 1)
  })

  it('gives the same hints and digest for the daemon layout over v1 (through its split) as over v2', async () => {
    const { client: v2 } = await greeted({ protocol: 1, versions: [1, 2] })
    const { client: v1, hello } = await greeted({ protocol: 1, versions: [1] })
    const layout = await layoutFor(hello.programs, PROGRAM, input, PEERS)
    assert.ok(layout.length >= 3, `the layout has ${layout.length} segments`)
    const segments = layout.map(segmentOf)
    const params = { job: 'versions', program: PROGRAM, input: { path: input, offset: 0 }, segments }
    const overV2 = await v2.call(
      'plan',
      { ...params, hintsOut: join(dir, 'hints-v2') },
      { timeoutMs: 60_000 }
    )
    const overV1 = await planThroughV1(
      (v1Params, options) => v1.call('plan', v1Params, options),
      { ...params, hintsOut: join(dir, 'hints-v1') },
      { timeoutMs: 60_000 }
    )
    assert.equal(overV1.digest, overV2.digest)
    assert.equal(overV1.totalBlocks, overV2.totalBlocks)
    assert.deepEqual(await readFile(join(dir, 'hints-v1')), await readFile(join(dir, 'hints-v2')))
  })

  it('refuses a layout with a gap (INVALID_SEGMENT) over v2', async () => {
    const { client, hello } = await greeted({ protocol: 1, versions: [1, 2] })
    const [first, , ...rest] = (await layoutFor(hello.programs, PROGRAM, input, PEERS)).map(segmentOf)
    assert.ok(first !== undefined)
    const err = await client
      .call('plan', {
        job: 'gap',
        program: PROGRAM,
        input: { path: input, offset: 0 },
        segments: [first, ...rest.map((segment, i) => ({ ...segment, index: i + 1 }))]
      })
      .then(
        () => assert.fail('a layout with a gap was planned'),
        (error: unknown) => error as { code?: number; message?: string }
      )
    assert.equal(err.code, 1003, String(err.message))
  })
})
