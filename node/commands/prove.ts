import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { access, constants, stat } from 'node:fs/promises'
import { dirname, isAbsolute, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type { CommandModule } from 'yargs'
import { parseDuration } from '../../src/config/index.js'
import { peerMultiaddrItem } from '../../src/config/values.js'
import { type JobRequestBody, jobRequestLimits, parseJobRequest } from '../../src/job/request.js'
import { isTerminal } from '../../src/jobs-model/states.js'
import type { JobRecord } from '../../src/jobs-model/types.js'
import { type ApiClient, connectDaemon } from '../api-client.js'
import { type EphemeralOptions, type JobSession, runEphemeralProve } from '../ephemeral.js'
import { CliError } from '../errors.js'
import { formatEventLine, formatJobEnd, formatJobSummary, JobProgress } from '../format.js'
import { baseConfig, baseOptions, integerFlag, integerOption, prepareDataDir } from '../options.js'

export interface ProveArgs {
  config?: string
  'data-dir'?: string
  inputs?: string
  'direct-inputs'?: boolean
  hints?: string
  'stream-hints'?: boolean
  'compute-capacity'?: number
  'minimal-compute-capacity'?: number
  priority?: number
  program?: string
  'data-id'?: string
  timeout?: string
  'webhook-url'?: string
  'save-proofs'?: boolean
  wait?: boolean
  out?: string
  json?: boolean
  ephemeral?: boolean
  bootstrap?: string[]
  'swarm-key'?: string
}

const USAGE = 2

function usage(message: string): CliError {
  return new CliError(message, USAGE)
}

/** The integer flags of `prove`, with the range each takes */
const INTEGER_FLAGS = {
  'compute-capacity': { min: 1, max: jobRequestLimits.maxComputeCapacity },
  'minimal-compute-capacity': { min: 1, max: Number.MAX_SAFE_INTEGER },
  priority: { min: jobRequestLimits.minPriority, max: jobRequestLimits.maxPriority }
} as const

const UNIX_PREFIX = 'unix://'

/** The request fields the flags set, named by the flag that sets them (for the daemon's own checks) */
const FLAG_OF_FIELD: Record<string, string> = {
  program: '--program',
  inputMode: '--direct-inputs',
  input: '--inputs',
  hints: '--hints',
  'hints.kind': '--hints',
  'hints.path': '--hints',
  computeCapacity: '--compute-capacity',
  minimalComputeCapacity: '--minimal-compute-capacity',
  priority: '--priority',
  dataId: '--data-id',
  timeoutMs: '--timeout',
  webhookUrl: '--webhook-url',
  saveProof: '--no-save-proofs'
}

/**
 * The flags as the POST /v1/jobs body, exactly what is sent: only the fields the user set, the daemon filling
 * the rest from its config. Paths are made absolute against `cwd`. Throws CliError (exit 2) on a bad flag.
 */
export function buildProveRequest(args: ProveArgs, cwd = process.cwd()): JobRequestBody {
  const inputs = args.inputs ?? ''
  if (inputs === '')
    throw usage(
      '--inputs is required: a file (with --direct-inputs) or a name in the peers\u2019 inputs folder'
    )
  const direct = args['direct-inputs'] === true
  if (!direct && isAbsolute(inputs)) {
    throw usage(
      `--inputs ${inputs}: without --direct-inputs it names a file inside every peer's inputs folder; pass -x to send this file`
    )
  }
  const computeCapacity = integerFlag(
    '--compute-capacity',
    args['compute-capacity'],
    INTEGER_FLAGS['compute-capacity'].min,
    INTEGER_FLAGS['compute-capacity'].max
  )
  if (computeCapacity === undefined)
    throw usage('--compute-capacity is required: how many compute units the job needs')
  const body: JobRequestBody = {
    inputMode: direct ? 'data' : 'path',
    input: direct ? resolve(cwd, inputs) : inputs,
    computeCapacity
  }
  if (args.program !== undefined) {
    if (!jobRequestLimits.programPattern.test(args.program)) {
      throw usage(
        `--program ${args.program}: expected a program id like rescue-sponge (a-z, 0-9, ".", "_", "-")`
      )
    }
    body.program = args.program
  }
  const hints = args.hints
  if (args['stream-hints'] === true) {
    if (hints === undefined) throw usage('--stream-hints needs --hints unix:///path/to/hints.sock')
    const socket = hints.startsWith(UNIX_PREFIX) ? hints.slice(UNIX_PREFIX.length) : hints
    if (socket === '') throw usage(`--hints ${hints}: expected unix:///path/to/hints.sock`)
    body.hints = { kind: 'socket', path: resolve(cwd, socket) }
  } else if (hints !== undefined) {
    if (hints === '') throw usage('--hints needs a file')
    if (hints.startsWith('unix:'))
      throw usage(`--hints ${hints} is a socket: add --stream-hints to read hints from it`)
    body.hints = { kind: 'file', path: resolve(cwd, hints) }
  }
  const minimal = integerFlag(
    '--minimal-compute-capacity',
    args['minimal-compute-capacity'],
    INTEGER_FLAGS['minimal-compute-capacity'].min,
    INTEGER_FLAGS['minimal-compute-capacity'].max
  )
  if (minimal !== undefined) {
    if (minimal > computeCapacity) {
      throw usage(`--minimal-compute-capacity ${minimal} is more than --compute-capacity ${computeCapacity}`)
    }
    body.minimalComputeCapacity = minimal
  }
  const priority = integerFlag(
    '--priority',
    args.priority,
    INTEGER_FLAGS.priority.min,
    INTEGER_FLAGS.priority.max
  )
  if (priority !== undefined) body.priority = priority
  if (args['data-id'] !== undefined) body.dataId = args['data-id']
  if (args.timeout !== undefined) {
    let ms: number
    try {
      ms = parseDuration(args.timeout)
    } catch {
      throw usage(`--timeout ${args.timeout}: expected a duration like 90s, 10m or 1h30m`)
    }
    if (ms < jobRequestLimits.minTimeoutMs) throw usage(`--timeout ${args.timeout}: a job needs at least 1s`)
    body.timeoutMs = ms
  }
  if (args['webhook-url'] !== undefined) body.webhookUrl = args['webhook-url']
  if (args['save-proofs'] === false) body.saveProof = false
  // The daemon's own checks, run here too so a bad flag never costs a round trip
  try {
    parseJobRequest(body, { timeoutMs: jobRequestLimits.minTimeoutMs })
  } catch (err) {
    const error = err as Error & { field?: string }
    if (error.name !== 'JobRequestError') throw err
    const flag = FLAG_OF_FIELD[error.field ?? ''] ?? 'the request'
    throw usage(`${flag}: ${error.message}`)
  }
  return body
}

/** What the submitter will read itself: a data-mode input and a hints file must be readable, regular, and there */
export async function checkProveFiles(body: JobRequestBody): Promise<void> {
  if (body.inputMode === 'data') await checkReadableFile('--inputs', body.input, true)
  if (body.hints?.kind === 'file') await checkReadableFile('--hints', body.hints.path, false)
}

async function checkReadableFile(flag: string, path: string, nonEmpty: boolean): Promise<void> {
  let size: number
  try {
    const stats = await stat(path)
    if (!stats.isFile()) throw usage(`${flag} ${path} is not a regular file`)
    size = stats.size
    await access(path, constants.R_OK)
  } catch (err) {
    if (err instanceof CliError) throw err
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw usage(`${flag} ${path}: no such file`)
    if (code === 'EACCES') throw usage(`${flag} ${path}: not readable`)
    throw usage(`${flag} ${path}: ${(err as Error).message}`)
  }
  if (nonEmpty && size === 0) throw usage(`${flag} ${path} is empty`)
}

/** Moves the cursor back over the previous frame and writes the new one, clearing what it leaves */
export function redrawText(previousLines: number, lines: string[]): string {
  let text = previousLines > 0 ? `\x1b[${previousLines}A\r` : ''
  for (const line of lines) text += `\x1b[2K${line}\n`
  if (lines.length < previousLines) text += '\x1b[J'
  return text
}

/** Where followJob writes: process.stdout and process.stderr, or anything with a write(text) */
export interface TextOutput {
  write(text: string): unknown
}

export interface FollowOptions {
  json: boolean
  /** Download the final proof here */
  out?: string
  /** Draw the live view (stderr is a terminal) instead of one line per event */
  tty: boolean
  columns?: number
  stdout: TextOutput
  stderr: TextOutput
  /** How often the live view redraws and refreshes the record */
  redrawMs?: number
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

/**
 * `prove --wait` over any JobSession: shows the job's progress on stderr until it ends, then downloads the proof
 * (with --out) and prints the outcome on stdout. Resolves with the exit code: 0 succeeded, 1 failed or cancelled.
 */
export async function followJob(session: JobSession, options: FollowOptions): Promise<number> {
  const first = await session.job()
  const view = new JobProgress(first.id)
  view.update(first)
  let drawn = 0
  let timer: NodeJS.Timeout | undefined
  let lastRefresh = 0
  let refreshing = false
  const draw = (): void => {
    const lines = view.lines(Date.now(), options.columns)
    options.stderr.write(redrawText(drawn, lines))
    drawn = lines.length
  }
  const refresh = (force = false): void => {
    const now = Date.now()
    if (refreshing || (!force && now - lastRefresh < (options.redrawMs ?? 1000) / 2)) return
    refreshing = true
    lastRefresh = now
    session.job().then(
      (record) => {
        refreshing = false
        view.update(record)
        draw()
      },
      () => {
        refreshing = false
      }
    )
  }
  if (options.tty) {
    draw()
    timer = setInterval(() => refresh(true), options.redrawMs ?? 1000)
  }
  try {
    for await (const event of session.events()) {
      if (!options.tty) {
        options.stderr.write(`${formatEventLine(event, first.createdAt)}\n`)
        continue
      }
      view.apply(event)
      draw()
      if (event.type !== 'progress' && event.type !== 'log') refresh()
    }
  } finally {
    clearInterval(timer)
  }
  let record = await session.job()
  // The stream ends once the job is over; a record a moment behind it is waited for, not trusted
  for (let tries = 0; !isTerminal(record.state) && tries < 30; tries++) {
    await sleep(500)
    record = await session.job()
  }
  if (options.tty) {
    view.update(record)
    draw()
  }
  if (record.state !== 'succeeded') {
    if (options.json) options.stdout.write(`${JSON.stringify(record, null, 2)}\n`)
    options.stderr.write(`${formatJobEnd(record)}\n`)
    return 1
  }
  let savedTo: string | undefined
  if (options.out !== undefined) {
    savedTo = resolve(options.out)
    await session.downloadProof(savedTo)
    if (record.proof !== undefined && (await sha256File(savedTo)) !== record.proof.sha256) {
      throw new CliError(
        `the proof saved to ${savedTo} does not match the job's sha256 ${record.proof.sha256}`
      )
    }
  }
  options.stdout.write(
    options.json ? `${JSON.stringify(record, null, 2)}\n` : `${formatJobSummary(record, savedTo)}\n`
  )
  return 0
}

/** A job submitted to the local daemon, followed through its HTTP API */
export function daemonSession(client: ApiClient, jobId: string): JobSession {
  const path = `/v1/jobs/${encodeURIComponent(jobId)}`
  return {
    events: () => client.events(jobId),
    job: () => client.get<JobRecord>(path),
    downloadProof: async (file) => {
      await client.download(`${path}/proof`, file)
    },
    close: async () => undefined
  }
}

async function checkOutDir(out: string): Promise<void> {
  const dir = dirname(resolve(out))
  try {
    if (!(await stat(dir)).isDirectory()) throw usage(`--out ${out}: ${dir} is not a folder`)
    await access(dir, constants.W_OK)
  } catch (err) {
    if (err instanceof CliError) throw err
    throw usage(`--out ${out}: cannot write into ${dir}`)
  }
}

/** --ephemeral's flags, checked; the config fills a missing --bootstrap or --swarm-key */
export async function ephemeralOptions(args: ProveArgs, body: JobRequestBody): Promise<EphemeralOptions> {
  const config = await baseConfig(args)
  const bootstrap = args.bootstrap ?? []
  for (const address of bootstrap) {
    if (!peerMultiaddrItem.check(address)) {
      throw usage(`--bootstrap ${address}: expected a multiaddr ending in /p2p/<peer id>`)
    }
  }
  const peers = bootstrap.length > 0 ? bootstrap : config.net.bootstrap
  if (peers.length === 0) {
    throw usage('--ephemeral needs --bootstrap MULTIADDR: a peer of the network, ending in /p2p/<peer id>')
  }
  if (args['data-dir'] !== undefined) prepareDataDir(resolve(args['data-dir']))
  const swarmKey = args['swarm-key'] ?? (config.net.swarmKey === '' ? undefined : config.net.swarmKey)
  if (swarmKey !== undefined) await checkReadableFile('--swarm-key', resolve(swarmKey), true)
  return {
    bootstrap: peers,
    ...(swarmKey === undefined ? {} : { swarmKey: resolve(swarmKey) }),
    ...(args['data-dir'] === undefined ? {} : { dataDir: resolve(args['data-dir']) }),
    ...(args.out === undefined ? {} : { out: resolve(args.out) }),
    saveProof: body.saveProof !== false,
    json: args.json === true,
    wait: true
  }
}

/** The whole command; resolves with its exit code */
export async function runProve(args: ProveArgs): Promise<number> {
  const body = buildProveRequest(args)
  const ephemeral = args.ephemeral === true
  if (!ephemeral && (args.bootstrap !== undefined || args['swarm-key'] !== undefined)) {
    throw usage('--bootstrap and --swarm-key go with --ephemeral; a daemon uses its own network')
  }
  await checkProveFiles(body)
  if (args.out !== undefined) await checkOutDir(args.out)
  const json = args.json === true
  const follow = (session: JobSession): Promise<number> =>
    followJob(session, {
      json,
      out: args.out,
      tty: process.stderr.isTTY,
      columns: process.stderr.columns,
      stdout: process.stdout,
      stderr: process.stderr
    })
  if (ephemeral) {
    const options = await ephemeralOptions(args, body)
    return runEphemeralProve({ ...body }, options, follow)
  }
  if (args.out !== undefined && body.saveProof === false) {
    throw usage('--out downloads the proof the daemon saves: drop --no-save-proofs')
  }
  const client = await connectDaemon(args)
  const record = await client.post<JobRecord>('/v1/jobs', body)
  if (args.wait !== true && args.out === undefined) {
    console.log(json ? JSON.stringify(record, null, 2) : record.id)
    return 0
  }
  const onSignal = (): void => {
    process.stderr.write(
      `\njob ${record.id} goes on in the daemon; \`proofmesh cancel ${record.id}\` stops it\n`
    )
    process.exit(130)
  }
  process.once('SIGINT', onSignal)
  try {
    return await follow(daemonSession(client, record.id))
  } finally {
    process.off('SIGINT', onSignal)
  }
}

export const proveCommand: CommandModule<object, ProveArgs> = {
  command: 'prove',
  describe: 'Submit a proving job to the network through the local daemon (or an ephemeral node)',
  builder: (yargs) =>
    yargs
      .options({
        ...baseOptions,
        inputs: {
          type: 'string',
          alias: 'i',
          describe:
            'The input: a name inside every peer\u2019s inputs folder, or with --direct-inputs a local file'
        },
        'direct-inputs': {
          type: 'boolean',
          alias: 'x',
          describe:
            'Send the bytes of --inputs FILE from this machine instead of naming a file the peers hold'
        },
        hints: {
          type: 'string',
          describe: 'Precomputed hints: a FILE, or unix:///path.sock with --stream-hints'
        },
        'stream-hints': {
          type: 'boolean',
          describe: 'Read the hints from the --hints unix socket until EOF'
        },
        'compute-capacity': integerOption('--compute-capacity', INTEGER_FLAGS['compute-capacity'], {
          alias: 'c',
          describe: 'Compute units the job needs (required)'
        }),
        'minimal-compute-capacity': integerOption(
          '--minimal-compute-capacity',
          INTEGER_FLAGS['minimal-compute-capacity'],
          {
            alias: 'm',
            describe: 'Start with this many units when no more are free [default: --compute-capacity]'
          }
        ),
        priority: integerOption('--priority', INTEGER_FLAGS.priority, {
          describe: 'Higher runs first, -1000..1000 [default: 0]'
        }),
        program: { type: 'string', describe: 'Program to prove [default: rescue-sponge]' },
        'data-id': {
          type: 'string',
          describe: 'Your label for the job [default: the input\u2019s file name]'
        },
        timeout: {
          type: 'string',
          describe: 'Time the whole job may take, queueing included, e.g. 10m [default: jobs.default_timeout]'
        },
        'webhook-url': {
          type: 'string',
          describe: 'URL POSTed when the job ends [default: jobs.webhook_url]'
        },
        'save-proofs': {
          type: 'boolean',
          describe:
            'Keep the final proof in the daemon\u2019s proofs_dir (--no-save-proofs: do not) [default: true]'
        },
        wait: { type: 'boolean', describe: 'Follow the job until it ends and print a summary' },
        out: { type: 'string', alias: 'o', describe: 'Download the final proof to FILE (implies --wait)' },
        json: { type: 'boolean', describe: 'Print the job record as JSON' },
        ephemeral: {
          type: 'boolean',
          describe: 'No daemon: join the network for this one job through --bootstrap (implies --wait)'
        },
        bootstrap: {
          type: 'string',
          array: true,
          describe: 'With --ephemeral: a peer to join through (multiaddr with /p2p/<peer id>), repeatable'
        },
        'swarm-key': { type: 'string', describe: 'With --ephemeral: the private network\u2019s key file' }
      })
      .example([
        ['$0 prove --inputs block-1.bin -c 10', 'prove block-1.bin from every peer\u2019s inputs folder'],
        ['$0 prove -x --inputs ./block-1.bin -c 10 --wait', 'send a local file and follow the job'],
        [
          '$0 prove -x -i input.bin -c 8 -m 4 --out final.proof',
          'start with 4 units if 8 are not free; save the proof'
        ],
        [
          '$0 prove -i in.bin -c 10 --hints unix:///tmp/hints.sock --stream-hints',
          'stream hints from a socket'
        ],
        [
          '$0 prove -x -i in.bin -c 4 --ephemeral --bootstrap /ip4/10.0.0.5/tcp/4001/p2p/12D3KooW...',
          'no daemon: join, prove, leave'
        ]
      ]),
  handler: async (args) => {
    process.exitCode = await runProve(args)
  }
}
