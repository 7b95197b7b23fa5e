/**
 * A receiving peer's memory while a large input slice streams in: a child process runs a libp2p host
 * (createHost, as the daemon does) whose /proofmesh/inputs/1.0.0 handler is the daemon's own path
 * (FramedStream with its defaults, receiveSlice into openFileSink: written to disk as it arrives); this
 * process sends it a 1 GiB slice over TCP + noise + yamux and samples the child's VmRSS every 100 ms.
 * Target: peak − baseline ≤ 64 MB. The sender writes sendSlice's chunk size, all views of one random buffer, so
 * its memory and disk stay out of the picture (its own RSS is printed too).
 *
 * If the transfer fails, it is printed as FAILED with its reason and the RSS reached until then.
 *
 *   npm run bench:rss               (1024 MiB)
 *   node dist/test/bench/rss-stream.js 256
 */
import '../../src/polyfill.js'
import { spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { InputsAccept, InputsDone, InputsHeader } from '../../protocols/inputs/pb/inputs.js'
import { createLogger } from '../../src/log/index.js'
import { FramedStream, toError } from '../../src/net/framed-stream.js'
import { createHost, type ProofmeshHost } from '../../src/net/host.js'
import { MAX_HEADER_BYTES } from '../../protocols/bulk/constants.js'
import { readSliceHeader, receiveSlice } from '../../protocols/inputs/codec.js'
import { INPUTS_PROTOCOL } from '../../protocols/inputs/constants.js'
import { TransferError } from '../../src/files/errors.js'
import { FILE_PIECE_BYTES } from '../../src/files/file-range.js'
import { openFileSink } from '../../src/files/file-sink.js'
import { loadAverage, printTable, rssMiB, sleep } from './job-helpers.js'

const MIB = 1024 * 1024
const SAMPLE_MS = 100
const IDLE_MS = 2_000
const TARGET_BYTES = 64e6

const logger = createLogger({ level: 'silent' })

async function startHost(): Promise<ProofmeshHost> {
  return createHost({
    privateKey: await generateKeyPair('Ed25519'),
    listen: ['/ip4/127.0.0.1/tcp/0'],
    dht: false,
    logger
  })
}

/** The receiving side: prints its address, then one line per slice (received, or the error) */
async function child(dest: string): Promise<void> {
  const host = await startHost()
  // where the memory is when RSS peaks: V8's heap, or buffers outside it
  let peak = process.memoryUsage()
  setInterval(() => {
    const now = process.memoryUsage()
    if (now.rss > peak.rss) peak = now
  }, SAMPLE_MS).unref()
  await host.handle(
    INPUTS_PROTOCOL,
    (stream) => {
      const framed = new FramedStream(stream)
      const signal = AbortSignal.timeout(600_000)
      void (async () => {
        const header = await readSliceHeader(framed, signal)
        const sink = await openFileSink({ path: dest, maxBytes: Number(header.length) })
        await receiveSlice(framed, header, sink, signal)
        await framed.close(signal).catch(() => undefined)
        await rm(dest, { force: true })
        console.log(JSON.stringify({ received: Number(header.length), memory: process.memoryUsage(), peak }))
      })().catch((err: unknown) => {
        const error = toError(err)
        console.log(
          JSON.stringify({ error: `${error.name}: ${error.message}`, memory: process.memoryUsage() })
        )
      })
    },
    { maxInboundStreams: 16, maxOutboundStreams: 16 }
  )
  console.log(JSON.stringify({ addr: host.getMultiaddrs()[0]?.toString() }))
  process.once('SIGTERM', () => {
    void Promise.resolve(host.stop()).finally(() => process.exit(0))
  })
}

/** sendSlice's protocol with the bytes from memory: `total` bytes, `chunk` repeated */
async function sendFromMemory(
  framed: FramedStream,
  header: InputsHeader,
  chunk: Uint8Array,
  signal: AbortSignal
): Promise<void> {
  await framed.write(header, InputsHeader, signal)
  await framed.read(InputsAccept, MAX_HEADER_BYTES, signal)
  for (let sent = 0; sent < Number(header.length); sent += chunk.byteLength) {
    await framed.writeBytes(chunk, signal)
  }
  const done = await framed.read(InputsDone, MAX_HEADER_BYTES, signal)
  if (!done.ok) throw new TransferError(done.message)
  await framed.close(signal)
}

interface Sample {
  at: number
  child: number
  self: number
}

interface Measured {
  elapsedMs: number
  baseline: number
  samples: Sample[]
  /** RSS IDLE_MS after the slice ended */
  after: number
  error?: string
  /** The child's process.memoryUsage() at the end, and when its RSS was highest */
  memory?: NodeJS.MemoryUsage
  peak?: NodeJS.MemoryUsage
}

/** One slice into a fresh child; the child's RSS before, during and after */
async function measure(
  totalMiB: number,
  chunk: Uint8Array,
  sha256: Uint8Array<ArrayBuffer>
): Promise<Measured> {
  const total = totalMiB * MIB
  const root = await mkdtemp(join(tmpdir(), 'proofmesh-bench-rss-'))
  const proc = spawn(process.execPath, [fileURLToPath(import.meta.url), '--child', join(root, 'slice')], {
    stdio: ['ignore', 'pipe', 'inherit']
  })
  const lines = createInterface({ input: proc.stdout })[Symbol.asyncIterator]()
  const sender = await startHost()
  try {
    const first = await lines.next()
    const addr = (JSON.parse(String(first.value)) as { addr?: string }).addr
    if (addr === undefined) throw new Error('the child host listens nowhere')
    const pid = proc.pid as number
    const header: InputsHeader = {
      jobId: 'bench',
      segment: 0,
      offset: 0n,
      length: BigInt(total),
      total: BigInt(total),
      sha256
    }

    // Idle: the child's host started, nothing connected yet
    await sleep(IDLE_MS)
    const baseline = await rssMiB(pid)
    const samples: Sample[] = []
    let sampling = true
    const sampler = (async () => {
      while (sampling) {
        samples.push({ at: Date.now(), child: await rssMiB(pid), self: process.memoryUsage().rss / MIB })
        await sleep(SAMPLE_MS)
      }
    })()

    const signal = AbortSignal.timeout(600_000)
    const started = Date.now()
    let sendError: string | undefined
    try {
      const framed = new FramedStream(await sender.dialProtocol(multiaddr(addr), INPUTS_PROTOCOL, { signal }))
      await sendFromMemory(framed, header, chunk, signal)
    } catch (err) {
      const error = toError(err)
      sendError = `${error.name}: ${error.message}`
    }
    const line = await Promise.race([lines.next(), sleep(5_000)])
    const elapsedMs = Date.now() - started
    sampling = false
    await sampler
    const verdict = (line === undefined || line.done === true ? {} : JSON.parse(String(line.value))) as {
      received?: number
      error?: string
      memory?: NodeJS.MemoryUsage
      peak?: NodeJS.MemoryUsage
    }
    await sleep(IDLE_MS)
    const after = await rssMiB(pid)
    const error =
      verdict.received === total
        ? undefined
        : `receiver: ${verdict.error ?? 'no verdict'}; sender: ${sendError ?? 'no error'}`
    return { elapsedMs, baseline, samples, after, error, memory: verdict.memory, peak: verdict.peak }
  } finally {
    await sender.stop()
    proc.kill('SIGTERM')
    await rm(root, { recursive: true, force: true })
  }
}

async function parent(totalMiB: number): Promise<void> {
  const chunk = randomBytes(FILE_PIECE_BYTES)
  const hash = createHash('sha256')
  for (let i = 0; i < (totalMiB * MIB) / FILE_PIECE_BYTES; i++) hash.update(chunk)
  const sha256 = new Uint8Array(hash.digest())

  const run = await measure(totalMiB, chunk, sha256)

  const mib = (bytes: number): string => (bytes / MIB).toFixed(1)
  const peak = Math.max(...run.samples.map((s) => s.child))
  const growthBytes = (peak - run.baseline) * MIB
  printTable(
    [
      'receiver',
      'slice_MiB',
      'outcome',
      'secs',
      'MiB/s',
      'base_MiB',
      'peak_MiB',
      'growth_MiB',
      'after_MiB',
      'target',
      'sender_peak_MiB'
    ],
    [
      [
        'inputs path as the daemon runs it',
        totalMiB,
        run.error === undefined ? 'ok' : 'FAILED',
        (run.elapsedMs / 1000).toFixed(1),
        run.error === undefined ? (totalMiB / (run.elapsedMs / 1000)).toFixed(0) : '',
        run.baseline.toFixed(1),
        peak.toFixed(1),
        (peak - run.baseline).toFixed(1),
        run.after.toFixed(1),
        growthBytes <= TARGET_BYTES ? 'MET' : 'MISSED',
        Math.max(...run.samples.map((s) => s.self)).toFixed(1)
      ]
    ]
  )
  const gaps = run.samples.slice(1).map((s, i) => s.at - (run.samples[i] as Sample).at)
  if (run.error !== undefined) console.log(`FAILED: ${run.error}`)
  const usage = (memory: NodeJS.MemoryUsage): string =>
    `rss ${mib(memory.rss)} heapTotal ${mib(memory.heapTotal)} heapUsed ${mib(memory.heapUsed)} ` +
    `external ${mib(memory.external)} arrayBuffers ${mib(memory.arrayBuffers)}`
  console.log(`${run.samples.length} samples, largest gap ${Math.max(...gaps)} ms`)
  if (run.peak !== undefined) console.log(`child memoryUsage at its peak (MiB): ${usage(run.peak)}`)
  if (run.memory !== undefined) console.log(`child memoryUsage at the end (MiB): ${usage(run.memory)}`)
  console.log(
    `receiver = a child process (libp2p host + the daemon's inputs handler path); VmRSS every ${SAMPLE_MS} ms; ` +
      `target: growth ≤ 64 MB (${(TARGET_BYTES / MIB).toFixed(1)} MiB); after = ${IDLE_MS / 1000} s after the slice; ` +
      `load average ${await loadAverage()}`
  )
}

const childAt = process.argv.indexOf('--child')
if (childAt >= 0) await child(process.argv[childAt + 1] as string)
else await parent(Number(process.argv[2] ?? 1024))
