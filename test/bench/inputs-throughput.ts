/**
 * /proofmesh/inputs/1.0.0 throughput against a plain TCP socket, in one process on 127.0.0.1: two libp2p
 * hosts (createHost: TCP + noise + yamux, as the daemon runs them) push a 256 MiB slice from a file with the
 * real sendSlice / receiveSlice into the real file sink (openFileSink: written as it arrives, SHA-256
 * checked); the baseline is a node:net socket pair moving the same file into the same sink. Both run in
 * this one process, so sender and receiver share one event loop in both cases. Every path runs once per round
 * (ROUNDS, default 3) and is judged by its median. Target: libp2p ≥ 85% of TCP (quiet machine).
 *
 * Besides MiB/s, each path's CPU time per MiB (the whole process: sender, receiver, their file I/O) and its full
 * (mark-compact) garbage collections per run: on a busy machine those move far less than the wall clock.
 *
 * Variants: the chunk size the sender writes (production: FILE_PIECE_BYTES, sendSlice itself), yamux's
 * stream window (createHost's `yamux` option; production: hostDefaults.yamux) and a private network (a swarm
 * key: every byte also goes through src/net/private-network's XSalsa20 both ways). Each runs as the daemon runs
 * it; a variant whose transfer fails is printed as FAILED with its reason.
 *
 *   npm run bench:inputs            (256 MiB)
 *   ROUNDS=5 node dist/test/bench/inputs-throughput.js 64
 */
import '../../src/polyfill.js'
import { once } from 'node:events'
import { mkdtemp, open, rm } from 'node:fs/promises'
import { createServer, connect, type AddressInfo, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { constants as perfConstants, type PerformanceEntry, PerformanceObserver } from 'node:perf_hooks'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { YamuxMuxerInit } from '@libp2p/yamux'
import { Uint8ArrayList } from 'uint8arraylist'
import { InputsAccept, InputsDone, InputsHeader } from '../../protocols/inputs/pb/inputs.js'
import { createLogger } from '../../src/log/index.js'
import { FramedStream } from '../../src/net/framed-stream.js'
import { createHost, type ProofmeshHost } from '../../src/net/host.js'
import { BULK_CHUNK_BYTES, MAX_HEADER_BYTES } from '../../protocols/bulk/constants.js'
import { readSliceHeader, receiveSlice, sendSlice } from '../../protocols/inputs/codec.js'
import { INPUTS_PROTOCOL } from '../../protocols/inputs/constants.js'
import { TransferError } from '../../src/files/errors.js'
import { FILE_PIECE_BYTES, hashFileRange, readFileRange } from '../../src/files/file-range.js'
import { openFileSink } from '../../src/files/file-sink.js'
import { loadAverage, printTable, sleep } from './job-helpers.js'
import { writeRandomFile } from '../../node/random-file.js'

const MIB = 1024 * 1024
const TOTAL = Number(process.argv[2] ?? 256) * MIB
const TARGET = 0.85
const ROUNDS = Number(process.env.ROUNDS ?? 3)

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? 0)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2
}

interface Variant {
  name: string
  chunk: number
  yamux?: YamuxMuxerInit
  /** On a private network (a fresh pre-shared key for both hosts) */
  private?: boolean
}

const variants: Variant[] = [
  {
    name: `production (${FILE_PIECE_BYTES / 1024} KiB chunks, yamux max window 4 MiB)`,
    chunk: FILE_PIECE_BYTES
  },
  { name: 'production on a private network (swarm key)', chunk: FILE_PIECE_BYTES, private: true },
  { name: '64 KiB chunks', chunk: 64 * 1024 },
  { name: '1 MiB chunks', chunk: MIB },
  {
    name: 'yamux max window 2 MiB',
    chunk: FILE_PIECE_BYTES,
    yamux: { streamOptions: { maxStreamWindowSize: 2 * MIB } }
  },
  {
    name: "yamux max window 16 MiB (@libp2p/yamux's default)",
    chunk: FILE_PIECE_BYTES,
    yamux: { streamOptions: { maxStreamWindowSize: 16 * MIB } }
  },
  {
    name: 'yamux initial window 4 MiB',
    chunk: FILE_PIECE_BYTES,
    yamux: { streamOptions: { initialStreamWindowSize: 4 * MIB, maxStreamWindowSize: 4 * MIB } }
  }
]

/** What one run cost: wall time, the process's CPU time, and full garbage collections */
interface Run {
  ms: number
  cpuMs: number
  fullGcs: number
}

let fullGcs = 0
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    // a gc entry carries its kind in `detail` (Node 16+), which @types/node 20 leaves off PerformanceEntry
    const { detail } = entry as PerformanceEntry & { detail?: { kind?: number } }
    if (detail?.kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR) fullGcs++
  }
}).observe({ entryTypes: ['gc'] })

/** Times `transfer` from its start to its end */
async function measured(transfer: () => Promise<void>): Promise<Run> {
  const gcsBefore = fullGcs
  const cpu = process.cpuUsage()
  const started = performance.now()
  await transfer()
  const ms = performance.now() - started
  const used = process.cpuUsage(cpu)
  // gc entries are delivered after the collection: let the last ones arrive
  await sleep(10)
  return { ms, cpuMs: (used.user + used.system) / 1000, fullGcs: fullGcs - gcsBefore }
}

const logger = createLogger({ level: 'silent' })

/** sendSlice with another chunk size: the same header, resume point, bytes and verdict */
async function sendSliceChunked(
  framed: FramedStream,
  header: InputsHeader,
  path: string,
  chunk: number,
  signal: AbortSignal
): Promise<void> {
  await framed.write(header, InputsHeader, signal)
  await framed.read(InputsAccept, MAX_HEADER_BYTES, signal)
  const handle = await open(path, 'r')
  try {
    for (let position = 0; position < Number(header.length);) {
      const buffer = Buffer.allocUnsafe(Math.min(chunk, Number(header.length) - position))
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, position)
      position += bytesRead
      await framed.writeBytes(buffer.subarray(0, bytesRead), signal)
    }
  } finally {
    await handle.close()
  }
  const done = await framed.read(InputsDone, MAX_HEADER_BYTES, signal)
  if (!done.ok) throw new TransferError(done.message)
  await framed.close(signal)
}

async function startHost(variant: Variant, swarmKey: Uint8Array): Promise<ProofmeshHost> {
  return createHost({
    privateKey: await generateKeyPair('Ed25519'),
    listen: ['/ip4/127.0.0.1/tcp/0'],
    dht: false,
    logger,
    yamux: variant.yamux,
    swarmKey: variant.private === true ? swarmKey : undefined
  })
}

type Outcome = Run | { error: string }

/**
 * One slice over libp2p, measured from opening the stream to the receiver's verdict, or why it failed (the
 * receiver's reason when it has one)
 */
async function libp2pRun(source: string, dest: string, sha256: Buffer, variant: Variant): Promise<Outcome> {
  const swarmKey = new Uint8Array(randomBytes(32))
  const sender = await startHost(variant, swarmKey)
  const receiver = await startHost(variant, swarmKey)
  const received = Promise.withResolvers<void>()
  received.promise.catch(() => undefined)
  try {
    await receiver.handle(
      INPUTS_PROTOCOL,
      (stream) => {
        const framed = new FramedStream(stream)
        const signal = AbortSignal.timeout(300_000)
        void (async () => {
          const header = await readSliceHeader(framed, signal)
          const sink = await openFileSink({ path: dest, maxBytes: Number(header.length) })
          await receiveSlice(framed, header, sink, signal)
          await framed.close(signal).catch(() => undefined)
        })().then(received.resolve, received.reject)
      },
      { maxInboundStreams: 16, maxOutboundStreams: 16 }
    )
    const address = receiver.getMultiaddrs()[0]
    if (address === undefined) throw new Error('the receiver listens nowhere')
    // Connected (noise handshake, yamux) before the clock starts: a slice goes over an existing connection
    await sender.dial(address)
    const header: InputsHeader = {
      jobId: 'bench',
      segment: 0,
      offset: 0n,
      length: BigInt(TOTAL),
      total: BigInt(TOTAL),
      sha256: new Uint8Array(sha256)
    }
    const signal = AbortSignal.timeout(300_000)
    try {
      return await measured(async () => {
        const framed = new FramedStream(await sender.dialProtocol(address, INPUTS_PROTOCOL, { signal }))
        if (variant.chunk === FILE_PIECE_BYTES)
          await sendSlice(framed, header, { path: source, offset: 0 }, signal)
        else await sendSliceChunked(framed, header, source, variant.chunk, signal)
        await received.promise
      })
    } catch (err) {
      const why = await Promise.race([
        received.promise.then(
          () => undefined,
          (reason: unknown) => reason
        ),
        sleep(2_000)
      ])
      const shown = why ?? err
      return { error: shown instanceof Error ? `${shown.name}: ${shown.message}` : String(shown) }
    }
  } finally {
    await Promise.all([sender.stop(), receiver.stop()])
    await rm(dest, { force: true })
    await rm(`${dest}.part`, { force: true })
  }
}

/** The same bytes over a plain socket into the same sink, measured until the receiver has verified them */
async function tcpRun(source: string, dest: string, sha256: Buffer): Promise<Run> {
  const received = Promise.withResolvers<void>()
  const server = createServer((socket: Socket) => {
    const signal = AbortSignal.timeout(300_000)
    void (async () => {
      const sink = await openFileSink({ path: dest, maxBytes: TOTAL })
      // As receiveSlice does: whatever has arrived, up to BULK_CHUNK_BYTES, goes to the sink in one write
      let pending = new Uint8ArrayList()
      for await (const chunk of socket as AsyncIterable<Buffer>) {
        pending.append(chunk)
        if (pending.byteLength < BULK_CHUNK_BYTES && socket.readableLength > 0) continue
        await sink.write(pending, signal)
        pending = new Uint8ArrayList()
      }
      if (pending.byteLength > 0) await sink.write(pending, signal)
      await sink.finish(TOTAL, sha256, signal)
    })().then(received.resolve, received.reject)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  try {
    const { port } = server.address() as AddressInfo
    let socket: Socket | undefined
    const run = await measured(async () => {
      socket = connect({ port, host: '127.0.0.1' })
      await once(socket, 'connect')
      for await (const chunk of readFileRange(source, 0, TOTAL)) {
        if (!socket.write(chunk)) await once(socket, 'drain')
      }
      socket.end()
      await received.promise
    })
    socket?.destroy()
    return run
  } finally {
    server.close()
    await rm(dest, { force: true })
  }
}

const root = await mkdtemp(join(tmpdir(), 'proofmesh-bench-inputs-'))
try {
  const source = join(root, 'source')
  const dest = join(root, 'dest')
  await writeRandomFile(source, TOTAL)
  const sha256 = await hashFileRange(source, 0, TOTAL)
  console.log(`${TOTAL / MIB} MiB per run, one process, 127.0.0.1; load average ${await loadAverage()}`)
  const mibps = (run: Run): number => TOTAL / MIB / (run.ms / 1000)

  // Rounds interleave the paths, so that a slow spell of the disk (every run ends with an fsync) or of the
  // machine falls on all of them alike; each path's figure is its median over the rounds
  const samples = new Map<string, Run[]>([['plain TCP', []]])
  const failures: string[] = []
  for (let round = 0; round < ROUNDS; round++) {
    samples.get('plain TCP')?.push(await tcpRun(source, dest, sha256))
    for (const variant of variants) {
      const name = `libp2p: ${variant.name}`
      const outcome = await libp2pRun(source, dest, sha256, variant)
      if ('error' in outcome) failures.push(`${name} (round ${round + 1}): ${outcome.error}`)
      else samples.set(name, [...(samples.get(name) ?? []), outcome])
    }
  }
  const tcp = median((samples.get('plain TCP') ?? []).map(mibps))
  const rows = [...samples].map(([name, runs]) => {
    const rates = runs.map(mibps)
    const rate = median(rates)
    const range = `${Math.min(...rates).toFixed(0)}-${Math.max(...rates).toFixed(0)}`
    const cpu = median(runs.map((run) => run.cpuMs / (TOTAL / MIB))).toFixed(2)
    const gcs = median(runs.map((run) => run.fullGcs)).toFixed(0)
    if (name === 'plain TCP') return [name, rate.toFixed(0), range, cpu, gcs, '', '']
    return [
      name,
      rate.toFixed(0),
      range,
      cpu,
      gcs,
      `${((100 * rate) / tcp).toFixed(0)}%`,
      rate / tcp >= TARGET ? 'MET' : 'MISSED'
    ]
  })
  printTable(['path', 'MiB/s (median)', 'range', 'cpu_ms/MiB', 'full_gcs', 'vs_tcp', 'target'], rows)
  for (const failure of failures) console.log(`FAILED ${failure}`)
  console.log(
    `medians of ${ROUNDS} rounds; vs_tcp is against plain TCP's median; both paths hash, write and fsync every byte into a file; libp2p also encrypts (noise, and XSalsa20 on a private network); load average ${await loadAverage()}`
  )
} finally {
  await rm(root, { recursive: true, force: true })
}
