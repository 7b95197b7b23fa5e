import { stat } from 'node:fs/promises'
import type { CommandModule } from 'yargs'
import { join, resolve } from 'node:path'
import { type ConfigOverrides, loadConfig, type ProverConfig } from '../../src/config/index.js'
import { PROVER_SETTINGS_FILE, readRecordedProverSettings } from '../../src/prover/recorded.js'
import { jobRequestLimits } from '../../src/job/request.js'
import { createLogger } from '../../src/log/index.js'
import { createProverBackend } from '../../src/prover/index.js'
import { ProverSupervisor } from '../../src/prover/supervisor.js'
import type { VerifyResult } from '../../src/prover/types.js'
import { JOB_ID_PATTERN } from '../../src/jobs-model/job-id.js'
import { CliError } from '../errors.js'
import { baseOptions } from '../options.js'

interface VerifyArgs {
  config?: string
  'data-dir'?: string
  proof: string
  input?: string
  digest?: string
  program?: string
  job?: string
  json?: boolean
}

async function regularFile(flag: string, path: string): Promise<string> {
  const absolute = resolve(path)
  try {
    if (!(await stat(absolute)).isFile()) throw new CliError(`${flag} ${path} is not a regular file`, 2)
  } catch (err) {
    if (err instanceof CliError) throw err
    throw new CliError(`${flag} ${path}: no such file`, 2)
  }
  return absolute
}

/** Digest sizes of the programs whose statements this CLI knows; another program's digest is any whole bytes */
const DIGEST_BYTES: Readonly<Record<string, number>> = { [jobRequestLimits.defaultProgram]: 32 }

/**
 * --digest as the prover takes it (lower-case hex, no 0x), or a usage error: a statement that cannot be the
 * program's (not hex, odd digits, the wrong size) is a typing mistake, not an invalid proof
 */
export function parseDigestFlag(text: string, program: string): string {
  const digest = text.trim().toLowerCase().replace(/^0x/, '')
  const bytes = DIGEST_BYTES[program]
  if (!/^(?:[0-9a-f]{2}){1,512}$/.test(digest)) {
    throw new CliError(
      `--digest ${text}: expected hex bytes${bytes === undefined ? '' : ` (${bytes * 2} digits)`}`,
      2
    )
  }
  if (bytes !== undefined && digest.length !== bytes * 2) {
    throw new CliError(
      `--digest ${text}: a ${program} digest is ${bytes} bytes (${bytes * 2} hex digits), this is ${digest.length / 2}`,
      2
    )
  }
  return digest
}

/**
 * The verdict in words: what the proof proves (or, from a prover that reports less, what it was checked against)
 * and nothing else; an invalid proof only its reason
 */
function formatVerdict(result: VerifyResult, checked: { digest?: string; job?: string }): string {
  if (!result.valid) return `invalid: ${result.reason ?? 'the prover gave no reason'}`
  const facts: string[] = []
  if (result.segments !== undefined)
    facts.push(`${result.segments} segment${result.segments === 1 ? '' : 's'}`)
  if (result.inputSize !== undefined) facts.push(`${result.inputSize} input bytes`)
  const job = result.job ?? checked.job
  if (job !== undefined) facts.push(`job ${job}`)
  const digest = result.digest ?? checked.digest
  return `valid: ${digest ?? 'digest not reported'}${facts.length === 0 ? '' : ` (${facts.join(', ')})`}`
}

/**
 * The prover to verify with, found the way the daemon runs it: --config (or PROOFMESH_CONFIG) when given, else
 * the settings the daemon of the data dir recorded when it started, else the defaults (the reference prover)
 */
async function proverSettings(args: VerifyArgs): Promise<ProverConfig> {
  const dataDir = args['data-dir']
  const named = args.config !== undefined || (process.env.PROOFMESH_CONFIG ?? '') !== ''
  const base = await loadConfig({
    configPath: args.config,
    overrides: dataDir === undefined ? {} : { dataDir }
  })
  if (named) return base.prover
  let recorded: unknown
  try {
    recorded = await readRecordedProverSettings(base.dataDir)
  } catch (err) {
    throw new CliError((err as Error).message, 2)
  }
  if (recorded === undefined) return base.prover
  const config = await loadConfig({
    overrides: { dataDir: base.dataDir, prover: recorded as ConfigOverrides['prover'] }
  }).catch((err: unknown) => {
    throw new CliError(`${join(base.dataDir, PROVER_SETTINGS_FILE)}: ${(err as Error).message}`, 2)
  })
  return config.prover
}

/** --program, or the prover's only program (rescue-sponge for the reference prover); one it lacks is a usage error */
export function programOf(programs: ReadonlyArray<{ id: string }>, flag: string | undefined): string {
  const ids = programs.map((program) => program.id)
  const program =
    flag ??
    (ids.length === 1
      ? ids[0]
      : ids.includes(jobRequestLimits.defaultProgram)
        ? jobRequestLimits.defaultProgram
        : undefined)
  if (program === undefined) {
    throw new CliError(`this prover runs ${ids.join(', ') || 'no program'}: pass --program`, 2)
  }
  if (!ids.includes(program)) {
    throw new CliError(`--program ${program}: this prover runs ${ids.join(', ') || 'no program'}`, 2)
  }
  return program
}

export const verifyCommand: CommandModule<object, VerifyArgs> = {
  command: 'verify <proof>',
  describe:
    'Check a final proof with the prover the daemon of --data-dir runs (its recorded settings; --config overrides them); no running daemon needed. Exit 0 valid, 1 invalid, 2 usage',
  builder: (yargs) =>
    yargs
      .positional('proof', { type: 'string', demandOption: true, describe: 'The final proof file' })
      .options({
        ...baseOptions,
        input: {
          type: 'string',
          describe:
            'The input the proof must be about: its size, its digest and every segment\u2019s slice hash are checked'
        },
        digest: { type: 'string', describe: 'The statement the proof must show (hex)' },
        program: {
          type: 'string',
          describe: 'The proof\u2019s program [default: the prover\u2019s only program, or rescue-sponge]'
        },
        job: { type: 'string', describe: 'The job the proof must have been made for' },
        json: { type: 'boolean', describe: 'Print the prover\u2019s answer as JSON' }
      })
      .conflicts('input', 'digest')
      .example([
        ['$0 verify final.proof', 'the proof checks out (whatever its statement)'],
        ['$0 verify final.proof --input block-1.bin', 'and it is about this input'],
        ['$0 verify final.proof --digest 9f2c...e1 --job 7Gq2...', 'and shows this digest, for this job']
      ]),
  handler: async (args) => {
    const proof = await regularFile('proof', args.proof)
    const input = args.input === undefined ? undefined : await regularFile('--input', args.input)
    if (args.program !== undefined && !jobRequestLimits.programPattern.test(args.program)) {
      throw new CliError(`--program ${args.program}: expected a program id like rescue-sponge`, 2)
    }
    if (args.job !== undefined && !JOB_ID_PATTERN.test(args.job)) {
      throw new CliError(`--job ${args.job}: not a job id`, 2)
    }
    const settings = await proverSettings(args)
    const prover = createProverBackend(
      {
        backend: settings.backend,
        command: settings.command,
        cli:
          settings.backend === 'cli'
            ? { prove: settings.cliProve, verify: settings.cliVerify, program: settings.cliProgram }
            : undefined,
        callTimeoutMs: settings.callTimeoutMs
      },
      { logger: createLogger({ level: 'error' }) }
    )
    try {
      try {
        await prover.start()
      } catch (err) {
        throw new CliError(
          `the prover did not start (${(err as Error).message}); check prover.command (the reference prover: \`npm run build:native\`)`
        )
      }
      const program = programOf(prover.info.programs, args.program)
      const digest = args.digest === undefined ? undefined : parseDigestFlag(args.digest, program)
      if (input !== undefined && !(prover instanceof ProverSupervisor)) {
        throw new CliError(`the ${prover.kind} prover backend cannot check an input: pass --digest`, 2)
      }
      const result = await prover
        .verify({
          program,
          proof,
          ...(digest === undefined ? {} : { digest }),
          ...(input === undefined ? {} : { input }),
          ...(args.job === undefined ? {} : { job: args.job })
        })
        .catch((err: unknown) => {
          // a cli verify template that names {job} cannot run without one
          if (err instanceof TypeError) throw new CliError(`${err.message}: pass --job`, 2)
          throw err
        })
      console.log(
        args.json === true
          ? JSON.stringify(result, null, 2)
          : formatVerdict(result, { digest, job: args.job })
      )
      process.exitCode = result.valid ? 0 : 1
    } finally {
      await Promise.resolve(prover.stop()).catch(() => undefined)
    }
  }
}
