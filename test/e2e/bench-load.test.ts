import assert from 'node:assert/strict'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { LoadSummary } from '../../node/load/summary.js'
import { type LocalNode, LocalNetwork } from '../../src/testnet/local-network.js'
import { proofmesh } from '../helpers/cli.js'

async function jobCount(node: LocalNode, query = ''): Promise<number> {
  const response = await fetch(new URL(`/v1/jobs${query}`, node.api.url), {
    headers: { authorization: `Bearer ${node.token}` },
    signal: AbortSignal.timeout(10_000)
  })
  return ((await response.json()) as unknown[]).length
}

describe('proofmesh bench load', () => {
  let network: LocalNetwork

  before(async () => {
    const root = await mkdtemp(join(tmpdir(), 'proofmesh-bench-load-'))
    network = new LocalNetwork({
      nodes: 3,
      root,
      advertInterval: '1s',
      extraArgs: ['--compute-units', '2']
    })
    await network.start()
    await network.converge()
  })

  after(async () => {
    await network.stop()
    await network.remove()
  })

  it('proves 20 jobs at concurrency 4 on a 3-peer loopback network, every one verified', async () => {
    const node = network.nodes[0]!
    const started = Date.now()
    const run = await proofmesh(
      [
        'bench',
        'load',
        '--data-dir',
        node.dataDir,
        '--jobs',
        '20',
        '--concurrency',
        '4',
        '--size',
        '65536',
        '--json'
      ],
      540_000
    )
    const elapsed = Date.now() - started
    assert.equal(run.code, 0, `exit ${run.code}\n${run.stderr}\n${run.stdout}`)
    const summary = JSON.parse(run.stdout) as LoadSummary
    process.stderr.write(
      `bench load, 20 jobs x 64 KiB, concurrency 4, 3 peers x 2 units (${elapsed} ms in all): ` +
        `completed ${summary.completed}, failed ${summary.failed}, ${summary.jobsPerMinute} jobs/min, ` +
        `p50 ${summary.p50Ms} ms, p95 ${summary.p95Ms} ms, max ${summary.maxMs} ms, ` +
        `mean queue ${summary.meanQueueMs} ms, uploaded ${summary.bytesUploaded} bytes, wall ${summary.wallMs} ms\n`
    )
    assert.equal(summary.completed, 20)
    assert.equal(summary.failed, 0)
    assert.deepEqual(summary.failures, [])
    assert.equal(summary.computeCapacity, 6, 'the default asks for every unit of the network')
    assert.ok(summary.jobsPerMinute > 0)
    const { p50Ms, p95Ms, maxMs } = summary
    assert.ok(p50Ms !== null && p95Ms !== null && maxMs !== null)
    assert.ok(p50Ms > 0 && p50Ms <= p95Ms && p95Ms <= maxMs, `p50 ${p50Ms} p95 ${p95Ms} max ${maxMs}`)
    assert.ok(maxMs <= summary.wallMs, 'no job outlasts the run')
    // each job is spread over the 3 peers, so the submitter sent the other two their slices
    assert.ok(summary.bytesUploaded > 0)
    // one progress line per finished job on stderr
    assert.equal(run.stderr.match(/^\[\s*\d+\/20\] \S+ succeeded \d+ ms$/gm)?.length, 20, run.stderr)
    assert.equal(await jobCount(node, '?state=succeeded'), 20)
  })

  it('refuses bad flags with exit 2 before it submits anything', async () => {
    const node = network.nodes[0]!
    const jobsBefore = await jobCount(node)
    for (const flags of [
      ['--jobs', '0'],
      ['--concurrency', '1.5'],
      ['--size', '12q'],
      ['--timeout', 'soon'],
      ['--compute-capacity', '4', '--minimal-compute-capacity', '5']
    ]) {
      const run = await proofmesh(['bench', 'load', '--data-dir', node.dataDir, ...flags])
      assert.equal(run.code, 2, `${flags.join(' ')}: exit ${run.code}\n${run.stderr}`)
      assert.match(run.stderr, new RegExp(`proofmesh: ${flags.at(-2)!}`))
    }
    assert.equal(await jobCount(node), jobsBefore, 'nothing was submitted')
  })
})
