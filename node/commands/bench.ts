import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { CommandModule } from 'yargs'
import { jobRequestLimits, parseJobRequest } from '../../src/job/request.js'
import { connectDaemon } from '../api-client.js'
import { CliError, usage } from '../errors.js'
import { formatBytes } from '../format/text.js'
import { BENCH_INTEGER_FLAGS, type BenchLoadArgs, benchLoadDefaults, planLoad } from '../load/plan.js'
import { networkUnits, runLoad } from '../load/runner.js'
import { formatLoadSummary, summarizeLoad } from '../load/summary.js'
import { baseOptions, integerOption } from '../options.js'

/** The whole command; resolves with its exit code */
export async function runBenchLoad(args: BenchLoadArgs): Promise<number> {
  const plan = planLoad(args)
  const client = await connectDaemon(args)
  const computeCapacity = plan.computeCapacity ?? (await networkUnits(client, plan.program))
  if (computeCapacity < 1) {
    throw new CliError(
      `the daemon knows no peer offering units for ${plan.program} (yet); pass --compute-capacity N`
    )
  }
  if (plan.minimalComputeCapacity !== undefined && plan.minimalComputeCapacity > computeCapacity) {
    throw usage(
      `--minimal-compute-capacity ${plan.minimalComputeCapacity} is more than the ${computeCapacity} units asked for`
    )
  }
  // The daemon's own checks, on a request shaped like the ones to come
  try {
    parseJobRequest(
      {
        inputMode: 'data',
        input: join(tmpdir(), 'bench.bin'),
        computeCapacity,
        program: plan.program,
        timeoutMs: plan.timeoutMs,
        ...(plan.minimalComputeCapacity === undefined
          ? {}
          : { minimalComputeCapacity: plan.minimalComputeCapacity })
      },
      { timeoutMs: plan.timeoutMs }
    )
  } catch (err) {
    if ((err as Error).name !== 'JobRequestError') throw err
    throw usage((err as Error).message)
  }
  const json = args.json === true
  const keepInputs = args['keep-inputs'] === true
  const dir = await mkdtemp(join(tmpdir(), 'proofmesh-bench-'))
  const controller = new AbortController()
  let signalCode: number | undefined
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalCode !== undefined) process.exit(signalCode)
    signalCode = signal === 'SIGINT' ? 130 : 143
    process.stderr.write(
      `\n${signal}: no more jobs are submitted; cancelling the ones in flight (again to quit at once)\n`
    )
    controller.abort()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  process.stderr.write(
    `${plan.jobs} jobs of ${formatBytes(plan.sizeBytes)} (${plan.sizeBytes} bytes), ${plan.concurrency} in flight, ${computeCapacity} units each, through ${client.url}; inputs in ${dir}\n`
  )
  try {
    const { outcomes, wallMs } = await runLoad(client, { ...plan, computeCapacity }, dir, keepInputs, {
      stderr: process.stderr,
      signal: controller.signal
    })
    const summary = summarizeLoad(outcomes, {
      jobs: plan.jobs,
      concurrency: plan.concurrency,
      sizeBytes: plan.sizeBytes,
      computeCapacity,
      program: plan.program,
      interrupted: signalCode !== undefined,
      wallMs
    })
    process.stdout.write(`${json ? JSON.stringify(summary, null, 2) : formatLoadSummary(summary)}\n`)
    if (signalCode !== undefined) return signalCode
    return summary.completed === plan.jobs ? 0 : 1
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    if (keepInputs) process.stderr.write(`inputs kept in ${dir}\n`)
    else await rm(dir, { recursive: true, force: true })
  }
}

const loadCommand: CommandModule<object, BenchLoadArgs> = {
  command: 'load',
  describe:
    'Submit generated jobs through the local daemon, --concurrency at a time; report throughput, latency, failures',
  builder: (yargs) =>
    yargs
      .options({
        ...baseOptions,
        jobs: integerOption('--jobs', BENCH_INTEGER_FLAGS.jobs, {
          alias: 'n',
          describe: `How many jobs [default: ${benchLoadDefaults.jobs}]`
        }),
        concurrency: integerOption('--concurrency', BENCH_INTEGER_FLAGS.concurrency, {
          describe: `Jobs in flight at once [default: ${benchLoadDefaults.concurrency}]`
        }),
        size: {
          type: 'string',
          describe: 'Input bytes per job, random; 64k, 1m, 2MiB (powers of 1024) [default: 256k]'
        },
        'compute-capacity': integerOption('--compute-capacity', BENCH_INTEGER_FLAGS['compute-capacity'], {
          alias: 'c',
          describe: 'Units each job asks for [default: every unit the daemon sees for --program]'
        }),
        'minimal-compute-capacity': integerOption(
          '--minimal-compute-capacity',
          BENCH_INTEGER_FLAGS['minimal-compute-capacity'],
          {
            alias: 'm',
            describe: 'Start a job with this many units when no more are free [default: --compute-capacity]'
          }
        ),
        program: {
          type: 'string',
          describe: `Program to prove [default: ${jobRequestLimits.defaultProgram}]`
        },
        timeout: {
          type: 'string',
          describe: `Time one job may take, queueing included [default: ${benchLoadDefaults.timeout}]`
        },
        json: {
          type: 'boolean',
          describe: 'Print the summary as JSON (completed, failed, jobsPerMinute, p50Ms, p95Ms, ...)'
        },
        'keep-inputs': { type: 'boolean', describe: 'Keep the generated inputs (their folder is printed)' }
      })
      .example([
        ['$0 bench load', '10 jobs of 256 KiB, 2 at a time, over the whole network'],
        [
          '$0 bench load -n 100 --concurrency 8 --size 1m --json',
          '100 jobs of 1 MiB, 8 at a time; JSON summary'
        ],
        ['$0 bench load -n 20 -c 2 --timeout 2m', 'small jobs of 2 units each']
      ]),
  handler: async (args) => {
    process.exitCode = await runBenchLoad(args)
  }
}

export const benchCommand: CommandModule = {
  command: 'bench <command>',
  describe: 'Measure the network: `bench load` runs many jobs and reports throughput and latency',
  builder: (yargs) => yargs.command(loadCommand).demandCommand(1),
  handler: () => undefined
}
