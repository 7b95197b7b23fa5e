/**
 * The NPP client against the garbage prover (test/fixtures/prover/garbage-prover.mjs): the clients, one call of
 * each method, the errors a call may end in, and how an exception the client throws out of its handlers is caught
 * and traced back to the case, then to the one line of garbage, that causes it.
 */
import { execFile } from 'node:child_process'
import { Writable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { createLogger } from '../../../src/log/index.js'
import { NppClient } from '../../../src/prover/npp-client.js'
import { repoRoot } from '../../fixtures/prover/helpers.js'
import { caseRng, type Rng } from './rng.js'
import { PROGRAM, SEED } from './settings.js'

const exec = promisify(execFile)

/** The NPP client's line limit here; the garbage prover's "huge" lines go past it */
const NPP_MAX_LINE_BYTES = 64 * 1024
const GARBAGE_PROVER = fileURLToPath(new URL('test/fixtures/prover/garbage-prover.mjs', `file://${repoRoot}`))

const NPP_METHODS = ['hello', 'plan', 'contribute', 'prove', 'aggregate', 'verify', 'cancel'] as const
type NppFuzzMethod = (typeof NPP_METHODS)[number]
export const KNOWN_REJECTIONS = new Set([
  'ProverRpcError',
  'ProverProtocolError',
  'ProverTimeoutError',
  'ProverCrashedError',
  'ProverNotRunningError'
])

/** Case `index` of the npp surface: the method, a job tag of its own, and a timeout */
export function nppCase(rng: Rng, index: number): { method: NppFuzzMethod; tag: string; timeoutMs: number } {
  return {
    method: rng.pick(NPP_METHODS),
    tag: `fz-${SEED}-${index}`,
    timeoutMs: rng.range(50, 500)
  }
}

export async function nppCall(
  client: NppClient,
  method: NppFuzzMethod,
  tag: string,
  timeoutMs: number
): Promise<unknown> {
  const options = { timeoutMs }
  const input = { path: '/nonexistent/input', offset: 0 }
  const segment = { index: 0, startBlock: 0, blockCount: 1, inputOffset: 0, inputLength: 1 }
  const common = { job: tag, program: PROGRAM, inputSize: 1 }
  switch (method) {
    case 'hello':
      return client.call('hello', { protocol: 1, client: tag }, options)
    case 'plan':
      return client.call('plan', { job: tag, program: PROGRAM, input, workers: [] }, options)
    case 'contribute':
      return client.call('contribute', { ...common, segment, input }, options)
    case 'prove':
      return client.call(
        'prove',
        { ...common, segment, input, challenge: '00', out: '/nonexistent/out' },
        options
      )
    case 'aggregate':
      return client.call(
        'aggregate',
        { ...common, challenge: '00', contributions: [], proofs: [], out: '/nonexistent/out' },
        options
      )
    case 'verify':
      return client.call('verify', { program: PROGRAM, proof: '/nonexistent/proof', job: tag }, options)
    default:
      return client.call('cancel', { job: tag }, options)
  }
}

/** A full garbage collection, so that heap figures compare; node --test does not expose gc */
export function collectGarbage(): void {
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  gc()
}

/**
 * Runs `body` with `onError` as the only 'uncaughtException' listener: node:test's own would end the test at the
 * first exception thrown out of the client, before the fuzzer can tell which case caused it
 */
export async function catchingUncaught<T>(onError: (err: Error) => void, body: () => Promise<T>): Promise<T> {
  const others = process.listeners('uncaughtException')
  process.removeAllListeners('uncaughtException')
  process.on('uncaughtException', onError)
  try {
    return await body()
  } finally {
    process.off('uncaughtException', onError)
    for (const listener of others) process.on('uncaughtException', listener)
  }
}

/** What the garbage prover writes for one request, write by write */
async function garbageWrites(tag: string, method: string): Promise<Buffer[]> {
  const { stdout } = await exec(process.execPath, [GARBAGE_PROVER, '--dump', tag, method, '1'], {
    maxBuffer: 64 * 1024 * 1024
  })
  return (JSON.parse(stdout) as Array<{ data: string }>).map(({ data }) =>
    data.startsWith('base64:') ? Buffer.from(data.slice(7), 'base64') : Buffer.from(data)
  )
}

const quiet = createLogger({
  level: 'debug',
  format: 'json',
  destination: new Writable({ write: (_chunk, _encoding, callback) => callback() })
})

/** The clients a suite starts on the garbage prover, kept so that they all stop at the end */
export class GarbageClients {
  private readonly clients: NppClient[] = []

  async start(replay?: Buffer): Promise<NppClient> {
    const client = new NppClient({
      command: [process.execPath, GARBAGE_PROVER],
      logger: quiet,
      maxLineBytes: NPP_MAX_LINE_BYTES,
      ...(replay === undefined ? {} : { env: { ...process.env, GARBAGE_REPLAY: replay.toString('base64') } })
    })
    this.clients.push(client)
    // listeners as the supervisor has them, so that a notification's detail is handed on
    client.addEventListener('progress', (event) => void event.detail.job)
    client.addEventListener('log', (event) => void event.detail.message)
    await client.start()
    return client
  }

  /** Whether one call, answered with the case's own writes (or only `replay`), throws out of a fresh client */
  async throwsAlone(method: NppFuzzMethod, tag: string, replay?: Buffer): Promise<boolean> {
    const alone = await this.start(replay)
    const caught: Error[] = []
    await catchingUncaught(
      (err) => caught.push(err),
      async () => {
        await nppCall(alone, method, tag, 300).catch(() => undefined)
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    )
    alone.markClosing()
    alone.kill('SIGKILL')
    return caught.length > 0
  }

  async stopAll(): Promise<void> {
    for (const client of this.clients.splice(0)) {
      client.markClosing()
      client.kill('SIGKILL')
      await client.waitForExit(2_000)
    }
  }
}

/**
 * An exception thrown out of the client, with the npp cases in flight each time: the first of them that causes it
 * alone, then the one line of its garbage that does
 */
export async function findCulprit(clients: GarbageClients, suspects: number[]): Promise<string> {
  for (const index of suspects) {
    const { method, tag } = nppCase(caseRng('npp', index), index)
    if (!(await clients.throwsAlone(method, tag))) continue
    const writes = await garbageWrites(tag, method)
    let line = `one of ${writes.length} writes, none alone`
    for (const write of writes) {
      if (await clients.throwsAlone(method, tag, write)) {
        line = `this one alone: ${JSON.stringify(write.toString('utf8'))}`
        break
      }
    }
    return (
      `case ${index} (${method}, job "${tag}") does it alone (its writes: node ` +
      `test/fixtures/prover/garbage-prover.mjs --dump ${tag} ${method} 1); the line: ${line}`
    )
  }
  return 'no single case reproduces it alone'
}
