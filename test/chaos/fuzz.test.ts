/**
 * The fuzz part of the chaos suite: random and mutated input on every surface a peer or a local client reaches
 * (the five stream protocols, the capacity gossip topic, the HTTP API) and a native prover that writes garbage
 * at the NPP client. The daemon must stay up and prove a job afterwards; the client must settle every call.
 *
 * `FUZZ_CASES` cases per surface (default 10,000). Every case is drawn from its own PRNG, seeded by the run's
 * seed, the surface and the case number, so a case replays whatever the concurrency: the seed is printed, and
 * `FUZZ_SEED=<seed>` replays a run (`FUZZ_SURFACES=job,http,…` runs only some surfaces). A daemon that dies
 * leaves a report (the cases in flight, the last ones done, the log tail) in the temporary folder.
 *
 * This file holds the suites; what they draw cases from and run them with is in test/chaos/fuzz/.
 */
import '../../src/polyfill.js'
import assert from 'node:assert/strict'
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { capacityTopic } from '../../src/capacity/constants.js'
import { createLogger } from '../../src/log/index.js'
import { createHost } from '../../src/net/host.js'
import { MAX_STATUS_BYTES, STATUS_PROTOCOL } from '../../protocols/status/constants.js'
import { type LocalNode, LocalNetwork } from '../../src/testnet/local-network.js'
import { MAX_HEADER_BYTES } from '../../protocols/bulk/constants.js'
import { HINTS_PROTOCOL, MAX_HINTS_CHUNK_BYTES } from '../../protocols/hints/constants.js'
import { INPUTS_PROTOCOL } from '../../protocols/inputs/constants.js'
import { JOB_PROTOCOL, MAX_JOB_FRAME_BYTES } from '../../protocols/job/constants.js'
import { PROOF_PROTOCOL } from '../../protocols/proof/constants.js'
import { within } from '../fixtures/prover/helpers.js'
import { poll } from '../helpers/api.js'
import { type FrameCase, hex } from './fuzz/bytes.js'
import { ensureAnchors, type FuzzContext, releaseAnchors } from './fuzz/context.js'
import { apiAnswer, rssOf } from './fuzz/daemon.js'
import { hintsCase, inputsCase, jobCase, proofCase, serveGarbageProof, statusCase } from './fuzz/frames.js'
import { advertCounters, gossipCase } from './fuzz/gossip.js'
import { type HttpContext, httpCase, rawHttp } from './fuzz/http.js'
import {
  catchingUncaught,
  collectGarbage,
  findCulprit,
  GarbageClients,
  KNOWN_REJECTIONS,
  nppCall,
  nppCase
} from './fuzz/npp.js'
import { caseRng, type Rng } from './fuzz/rng.js'
import { reportDeath, runSurface, streamSurface, summary, type SurfaceReport } from './fuzz/runner.js'
import { CASES, DAEMON_SURFACES, SEED, SURFACES, type SurfaceName } from './fuzz/settings.js'

describe('fuzz: the daemon under random and mutated input', { skip: DAEMON_SURFACES.length === 0 }, () => {
  let network: LocalNetwork
  let root: string
  let ctx: FuzzContext
  let node: LocalNode
  let rssBefore = '?'
  let proofServed = 0
  /** Set when the daemon exits: what the fuzzer was doing at that moment */
  let death: { report: string; file: string } | undefined
  let stopping = false
  const findings: string[] = []

  /** Keeps the examples of notable outcomes for the findings printed at the end */
  const note = (report: SurfaceReport): void => {
    for (const [outcome, cases] of report.examples) {
      findings.push(
        `${report.name}: ${report.outcomes.get(outcome)} ${outcome}, e.g. ${cases.join('\n    ')}`
      )
    }
  }

  const alive = (): boolean => node.process.exitCode === null && node.process.signalCode === null

  /** Fails the test if the daemon died or does not answer, with the report of what killed it */
  async function assertAlive(): Promise<void> {
    if (death !== undefined)
      assert.fail(`the daemon died; report in ${death.file}:\n${death.report.slice(0, 8000)}`)
    const health = await fetch(new URL('/v1/health', node.api.url), { signal: AbortSignal.timeout(5_000) })
    assert.equal(health.status, 200, 'the daemon answers /v1/health')
  }

  async function stream(
    name: SurfaceName,
    protocol: string,
    cap: number,
    concurrency: number,
    generate: (rng: Rng, ctx: FuzzContext) => FrameCase,
    extra: () => string = () => ''
  ): Promise<void> {
    const report = await runSurface(
      name,
      CASES,
      concurrency,
      streamSurface(ctx, protocol, cap, generate),
      () => !alive()
    )
    process.stderr.write(`${summary(report, `${extra()}; daemon RSS ${await rssOf(node.process.pid)}`)}\n`)
    note(report)
    await assertAlive()
    assert.deepEqual(report.problems, [], `${name}: every case ends within its deadline`)
    assert.equal(report.cases, CASES)
  }

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'proofmesh-fuzz-'))
    network = new LocalNetwork({
      nodes: 1,
      root,
      advertInterval: '1s',
      nodeArgs: () => ['--compute-units', '8']
    })
    await network.start()
    node = network.nodes[0] as LocalNode
    node.process.once('exit', (code, signal) => {
      if (stopping) return
      death = reportDeath(code, signal, node.logFile)
    })
    rssBefore = await rssOf(node.process.pid)
    const host = await createHost({
      privateKey: await generateKeyPair('Ed25519'),
      listen: ['/ip4/127.0.0.1/tcp/0'],
      dht: false,
      logger: createLogger({ level: 'silent' })
    })
    await host.handle(
      PROOF_PROTOCOL,
      (incoming) => serveGarbageProof(incoming, caseRng('proof-server', proofServed++)),
      { maxInboundStreams: 64, maxOutboundStreams: 64 }
    )
    const emptyFile = join(root, 'empty.bin')
    await writeFile(emptyFile, '')
    ctx = {
      daemonId: peerIdFromString(node.status.peerId),
      host,
      strangerId: peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString(),
      anchors: [],
      emptyFile
    }
    const address = node.status.addrs.find((addr) => addr.includes('/ip4/127.0.0.1/')) ?? node.status.addrs[0]
    assert.ok(address !== undefined, 'the daemon listens')
    await host.dial(multiaddr(address))
  })

  after(async () => {
    if (ctx !== undefined) {
      await releaseAnchors(ctx)
      await ctx.host.stop()
    }
    if (network !== undefined) {
      stopping = true
      await network.stop()
      await network.remove()
    }
    if (findings.length > 0) process.stderr.write(`fuzz findings:\n  ${findings.join('\n  ')}\n`)
  })

  it(`${JOB_PROTOCOL}: ${CASES} cases, and the daemon stays up`, { skip: !SURFACES.has('job') }, async () => {
    await stream(
      'job',
      JOB_PROTOCOL,
      MAX_JOB_FRAME_BYTES,
      16,
      jobCase,
      () => `; proofs pulled from the fuzzer ${proofServed}`
    )
  })

  it(
    `${INPUTS_PROTOCOL}: ${CASES} cases, and the daemon stays up`,
    { skip: !SURFACES.has('inputs') },
    async () => {
      await ensureAnchors(ctx)
      await stream('inputs', INPUTS_PROTOCOL, MAX_HEADER_BYTES, 8, inputsCase)
    }
  )

  it(
    `${HINTS_PROTOCOL}: ${CASES} cases, and the daemon stays up`,
    { skip: !SURFACES.has('hints') },
    async () => {
      await ensureAnchors(ctx)
      await stream('hints', HINTS_PROTOCOL, MAX_HINTS_CHUNK_BYTES + 256, 8, hintsCase)
    }
  )

  it(
    `${PROOF_PROTOCOL}: ${CASES} cases, and the daemon stays up`,
    { skip: !SURFACES.has('proof') },
    async () => {
      await ensureAnchors(ctx)
      await stream('proof', PROOF_PROTOCOL, MAX_HEADER_BYTES, 8, proofCase)
    }
  )

  it(
    `${STATUS_PROTOCOL}: ${CASES} cases, and the daemon stays up`,
    { skip: !SURFACES.has('status') },
    async () => {
      // the daemon takes 4 status streams at once per connection
      await stream('status', STATUS_PROTOCOL, MAX_STATUS_BYTES, 3, (rng) => statusCase(rng))
    }
  )

  it(
    `gossip ${capacityTopic()}: ${CASES} random and mutated adverts, and the daemon stays up`,
    { skip: !SURFACES.has('gossip') },
    async () => {
      const { pubsub } = ctx.host.services
      const topic = capacityTopic()
      pubsub.subscribe(topic)
      await poll('the fuzzer to see the daemon on the capacity topic', 15_000, async () =>
        pubsub.getSubscribers(topic).some((peer) => peer.equals(ctx.daemonId)) ? true : undefined
      )
      const before = await advertCounters(node)
      const report = await runSurface(
        'gossip',
        CASES,
        1,
        (rng) => {
          const c = gossipCase(rng)
          return {
            describe: () => `${c.label} [${c.data.byteLength} bytes] hex ${hex(c.data)}`,
            run: async () => {
              try {
                await pubsub.publish(topic, c.data)
                return 'published'
              } catch (err) {
                return `not published (${(err as Error).name})`
              }
            }
          }
        },
        () => !alive()
      )
      // what the daemon's validator made of them, once its counters stop moving
      let last = -1
      let delta = new Map<string, number>()
      await poll('the daemon to have validated what arrives', 30_000, async () => {
        const now = await advertCounters(node)
        delta = new Map([...now].map(([key, count]) => [key, count - (before.get(key) ?? 0)]))
        const total = [...delta.values()].reduce((sum, count) => sum + count, 0)
        if (total === last) return true
        last = total
        await new Promise((resolve) => setTimeout(resolve, 800))
        return undefined
      })
      const verdicts = [...delta].filter(([, count]) => count > 0).map(([key, count]) => `${key} ${count}`)
      process.stderr.write(
        `${summary(report, `; validated by the daemon ${last}: ${verdicts.join(', ')}; daemon RSS ${await rssOf(node.process.pid)}`)}\n`
      )
      pubsub.unsubscribe(topic)
      await assertAlive()
      assert.ok(last > 0, 'the adverts reached the daemon’s validator')
    }
  )

  it(
    `HTTP API: ${CASES} random requests, and the daemon stays up`,
    { skip: !SURFACES.has('http') },
    async () => {
      // a job that exists (failed at once, asking for more units than the network has) for the job routes
      const made = await apiAnswer<{ id?: string }>(node, '/v1/jobs', {
        method: 'POST',
        body: JSON.stringify({ inputMode: 'data', input: join(root, 'empty.bin'), computeCapacity: 1 })
      })
      assert.equal(made.status, 400, 'an empty input is refused')
      const seedInput = join(root, 'seed.bin')
      await writeFile(seedInput, Buffer.alloc(1024, 7))
      const job = await apiAnswer<{ id: string }>(node, '/v1/jobs', {
        method: 'POST',
        body: JSON.stringify({
          inputMode: 'data',
          input: seedInput,
          computeCapacity: 1_000_000,
          timeoutMs: 1000
        })
      })
      assert.equal(job.status, 201)
      await poll('the oversized job to end', 15_000, async () => {
        const { body } = await apiAnswer<{ state: string }>(node, `/v1/jobs/${job.body.id}`)
        return ['failed', 'cancelled', 'succeeded'].includes(body.state) ? true : undefined
      }).catch(async () => apiAnswer(node, `/v1/jobs/${job.body.id}/cancel`, { method: 'POST' }))
      const port = Number(new URL(node.api.url).port)
      const httpCtx: HttpContext = { port, token: node.token, jobId: job.body.id, emptyFile: ctx.emptyFile }
      const created: string[] = []
      const serverErrors: string[] = []
      const report = await runSurface(
        'http',
        CASES,
        8,
        (rng) => {
          const c = httpCase(rng, httpCtx)
          return {
            describe: () => `${c.label}: ${JSON.stringify(c.request.toString('latin1').slice(0, 2000))}`,
            run: async () => {
              const { outcome, text } = await rawHttp(port, c.request)
              if (outcome === '201') created.push(/"id":\s*"([A-Za-z0-9_-]+)"/.exec(text)?.[1] ?? '?')
              if (outcome.startsWith('5') && serverErrors.length < 10) {
                const answer = text
                  .slice(text.indexOf('\r\n\r\n') + 4)
                  .replace(/\s+/g, ' ')
                  .trim()
                serverErrors.push(`${outcome} ${answer.slice(0, 120)} for ${c.label}`)
              }
              if (outcome === 'silent' && c.promisesMore) return 'waiting for the body promised'
              return /^\d{3}$/.test(outcome) ? `${outcome.charAt(0)}xx` : outcome
            }
          }
        },
        () => !alive()
      )
      for (const id of created)
        await apiAnswer(node, `/v1/jobs/${id}/cancel`, { method: 'POST' }).catch(() => undefined)
      process.stderr.write(
        `${summary(report, `${created.length > 0 ? `; jobs created ${created.length}` : ''}; daemon RSS ${await rssOf(node.process.pid)}`)}\n`
      )
      for (const error of serverErrors) findings.push(`HTTP ${error}`)
      note(report)
      await assertAlive()
      assert.deepEqual(report.problems, [], 'every request ends within its deadline')
    }
  )

  it('afterwards the daemon is still up, proves a job, and logged nothing fatal', async () => {
    await assertAlive()
    await releaseAnchors(ctx)
    const input = join(root, 'final.bin')
    await writeFile(input, Buffer.from(caseRng('final', 0).bytes(50 * 1024)))
    const submitted = await apiAnswer<{ id: string }>(node, '/v1/jobs', {
      method: 'POST',
      body: JSON.stringify({ inputMode: 'data', input, computeCapacity: 1 })
    })
    assert.equal(submitted.status, 201, JSON.stringify(submitted.body))
    const job = await poll(`job ${submitted.body.id} to end`, 180_000, async () => {
      const { body } = await apiAnswer<{ state: string; error?: unknown }>(
        node,
        `/v1/jobs/${submitted.body.id}`
      )
      return ['succeeded', 'failed', 'cancelled'].includes(body.state) ? body : undefined
    })
    assert.equal(job.state, 'succeeded', JSON.stringify(job.error))
    const log = await readFile(node.logFile, 'utf8')
    const lines = log.split('\n').filter((line) => line !== '')
    const fatal = lines.filter(
      (line) => /uncaughtException|unhandledRejection/.test(line) || line.startsWith('{"level":60')
    )
    // what Node itself wrote (warnings, traces), by kind
    const raw = new Map<string, number>()
    for (const line of lines.filter((text) => !text.startsWith('{'))) {
      const kind = line
        .replace(/\(node:\d+\)/, '(node)')
        .replace(/\d+/g, 'N')
        .slice(0, 200)
      raw.set(kind, (raw.get(kind) ?? 0) + 1)
    }
    for (const [kind, count] of raw) findings.push(`daemon stderr, ${count} times: ${kind}`)
    process.stderr.write(
      `fuzz daemon: RSS ${rssBefore} before, ${await rssOf(node.process.pid)} after; ${lines.length} log lines\n`
    )
    assert.deepEqual(fatal.slice(0, 5), [], 'no fatal line in the daemon log')
  })
})

describe('fuzz: the NPP client against a prover that writes garbage', { skip: !SURFACES.has('npp') }, () => {
  const clients = new GarbageClients()

  after(async () => {
    await clients.stopAll()
  })

  it(`settles ${CASES} calls within their timeouts, throws nothing uncaught, and keeps its memory`, async () => {
    const client = await clients.start()
    const uncaught: Array<{ err: Error; suspects: number[] }> = []
    const inFlight = new Set<number>()
    const onUncaught = (err: Error): void => {
      uncaught.push({ err, suspects: [...inFlight] })
    }
    const odd: string[] = []
    const rejections = new Map<string, number>()
    collectGarbage()
    const heapBefore = process.memoryUsage().heapUsed
    const report = await catchingUncaught(onUncaught, async () => {
      const done = await runSurface('npp', CASES, 16, (rng, index) => {
        const { method, tag, timeoutMs } = nppCase(rng, index)
        return {
          describe: () => `${method} ${tag} (timeout ${timeoutMs} ms)`,
          run: async () => {
            inFlight.add(index)
            try {
              await within(nppCall(client, method, tag, timeoutMs), timeoutMs + 3_000, `${method} ${tag}`)
              return 'resolved'
            } catch (err) {
              const name = err instanceof Error ? err.name : typeof err
              if (name === 'Error' && (err as Error).message.startsWith('timed out')) return 'not settled'
              if (!KNOWN_REJECTIONS.has(name)) {
                if (odd.length < 10) odd.push(`${method} ${tag}: ${String(err)}`)
                return 'odd'
              }
              rejections.set(name, (rejections.get(name) ?? 0) + 1)
              return 'rejected'
            } finally {
              inFlight.delete(index)
            }
          }
        }
      })
      // the cancels of abandoned calls run on their own, for up to 5 s
      await new Promise((resolve) => setTimeout(resolve, 5_500))
      return done
    })
    collectGarbage()
    const heapGrowth = process.memoryUsage().heapUsed - heapBefore
    const rejected = [...rejections].map(([name, count]) => `${name} ${count}`).join(', ')
    process.stderr.write(
      `${summary(report, `; rejections: ${rejected}; garbage lines ${client.stats.garbageLines}, unknown replies ${client.stats.unknownReplies}, oversized lines ${client.stats.oversizedLines}; heap ${(heapGrowth / 2 ** 20).toFixed(1)} MiB more; uncaught ${uncaught.length}`)}\n`
    )

    // an exception thrown out of the client: find a case that causes it alone, then the one line that does
    const culprit = await findCulprit(
      clients,
      [...new Set(uncaught.flatMap(({ suspects }) => suspects))].slice(0, 32)
    )
    assert.deepEqual(
      [...new Set(uncaught.map(({ err }) => String(err)))],
      [],
      `NppClient threw out of its stdout handler ${uncaught.length} times (FUZZ_SEED=${SEED}): ${culprit}`
    )
    assert.deepEqual(odd, [], 'every call resolves or rejects with a Prover*Error')
    assert.equal(report.outcomes.get('not settled') ?? 0, 0, 'every call settles within its timeout')
    assert.deepEqual(report.problems, [])
    assert.ok(client.running, 'the client still runs its prover')
    assert.ok(heapGrowth < 64 * 2 ** 20, `the heap grew by ${heapGrowth} bytes`)
  })
})
