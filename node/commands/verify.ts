import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { CommandModule } from 'yargs'
import { loadConfig } from '../../src/config/index.js'
import { jobRequestLimits } from '../../src/job/request.js'
import { createLogger } from '../../src/log/index.js'
import { createProverBackend } from '../../src/prover/index.js'
import { ProverSupervisor } from '../../src/prover/supervisor.js'
import type { ProverBackend, VerifyResult } from '../../src/prover/types.js'
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

/** The statement of `input` under `program`, as the prover's plan computes it */
async function digestOf(prover: ProverBackend, program: string, input: string): Promise<string> {
  if (!(prover instanceof ProverSupervisor)) {
    throw new CliError(`the ${prover.kind} prover backend cannot compute digests: pass --digest`, 2)
  }
  const dir = await mkdtemp(join(tmpdir(), 'proofmesh-verify-'))
  try {
    const result = await prover.plan({
      job: 'verify',
      program,
      input: { path: input, offset: 0 },
      workers: [{ id: 'local', units: 1 }],
      hintsOut: join(dir, 'hints')
    })
    if (result.digest === undefined) {
      throw new CliError(`the prover cannot compute digests of ${program} inputs: pass --digest`, 2)
    }
    return result.digest
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
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

function formatVerdict(result: VerifyResult, expected: { digest?: string; job?: string }): string {
  if (!result.valid) return `invalid: ${result.reason ?? 'the prover gave no reason'}`
  const digest = result.digest ?? expected.digest ?? 'digest not reported'
  const segments =
    result.segments === undefined
      ? '? segments'
      : `${result.segments} segment${result.segments === 1 ? '' : 's'}`
  return `valid: ${digest} (${segments}, job ${result.job ?? expected.job ?? '?'})`
}

export const verifyCommand: CommandModule<object, VerifyArgs> = {
  command: 'verify <proof>',
  describe: 'Check a final proof with the local prover (no daemon needed)',
  builder: (yargs) =>
    yargs
      .positional('proof', { type: 'string', demandOption: true, describe: 'The final proof file' })
      .options({
        ...baseOptions,
        input: {
          type: 'string',
          describe: 'The input the proof must be about: its digest is computed and checked'
        },
        digest: { type: 'string', describe: 'The statement the proof must show (hex)' },
        program: { type: 'string', describe: 'The proof\u2019s program [default: rescue-sponge]' },
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
    const program = args.program ?? jobRequestLimits.defaultProgram
    if (!jobRequestLimits.programPattern.test(program)) {
      throw new CliError(`--program ${program}: expected a program id like rescue-sponge`, 2)
    }
    const digest = args.digest === undefined ? undefined : parseDigestFlag(args.digest, program)
    if (args.job !== undefined && !JOB_ID_PATTERN.test(args.job)) {
      throw new CliError(`--job ${args.job}: not a job id`, 2)
    }
    const config = await loadConfig({
      configPath: args.config,
      overrides: args['data-dir'] === undefined ? {} : { dataDir: args['data-dir'] }
    })
    const { prover: settings } = config
    const prover = createProverBackend(
      {
        backend: settings.backend,
        command: settings.command,
        cli:
          settings.backend === 'cli' ? { prove: settings.cliProve, verify: settings.cliVerify } : undefined,
        callTimeoutMs: settings.callTimeoutMs
      },
      { logger: createLogger({ level: 'error' }) }
    )
    try {
      try {
        await prover.start()
      } catch (err) {
        throw new CliError(
          `the prover did not start (${(err as Error).message}); build it with \`npm run build:native\` or set prover.command`
        )
      }
      const expected = input === undefined ? digest : await digestOf(prover, program, input)
      const result = await prover.verify({
        program,
        proof,
        ...(expected === undefined ? {} : { digest: expected }),
        ...(args.job === undefined ? {} : { job: args.job })
      })
      console.log(
        args.json === true
          ? JSON.stringify(result, null, 2)
          : formatVerdict(result, { digest: expected, job: args.job })
      )
      process.exitCode = result.valid ? 0 : 1
    } finally {
      await Promise.resolve(prover.stop()).catch(() => undefined)
    }
  }
}
