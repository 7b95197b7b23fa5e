import type { CommandModule } from 'yargs'
import { type CheckVerdict, kitDefaults, runProverKit } from '../../src/prover/kit/index.js'
import { CliError, usage } from '../errors.js'

interface CheckArgs {
  prover?: string[]
  json?: boolean
  timeout?: string
}

const SPEC = 'protocols/native-prover.md'

function parseTimeout(text: string | undefined): number {
  if (text === undefined) return kitDefaults.checkTimeoutMs
  const seconds = Number(text)
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 86_400) {
    throw usage(`--timeout ${text}: expected seconds, more than 0 and at most 86400`)
  }
  return Math.round(seconds * 1000)
}

function row(verdict: CheckVerdict): string {
  const status = verdict.status.toUpperCase().padEnd(4)
  const head = `${status}  ${verdict.name.padEnd(52)} § ${verdict.section}`
  return verdict.detail === undefined ? head : `${head}\n      ${verdict.detail}`
}

const checkCommand: CommandModule<object, CheckArgs> = {
  command: 'check [prover..]',
  describe: `Run an NPP prover through every method and notification of ${SPEC}`,
  builder: (yargs) =>
    yargs
      .usage(
        `$0 prover check [--json] [--timeout S] -- COMMAND [ARGS…]\n\n` +
          `Starts COMMAND (no shell) as the daemon would start prover.command and checks it against the spec: ` +
          `hello and versions, plan (segmented and not, the empty input), contribute, prove, aggregate, verify of a ` +
          `good and of tampered proofs, cancel mid-call, concurrent calls, ping, unknown methods, malformed ` +
          `requests, notifications, shutdown and the exit within the spec's timing. Inputs are generated in a ` +
          `temporary folder, removed at the end. Each check has a deadline; a prover that passes it is killed and ` +
          `the check fails. A failure names the spec section (§) it breaks.\n\n` +
          `Exit code: 0 every check passed (or does not apply: SKIP), 1 a check failed, 2 usage.`
      )
      .positional('prover', {
        type: 'string',
        array: true,
        describe: 'The prover command and its arguments, after --'
      })
      .option('json', { type: 'boolean', describe: 'Print the verdicts as one JSON object' })
      .option('timeout', {
        type: 'string',
        describe: `Seconds one check (and each call in it) may take (default ${kitDefaults.checkTimeoutMs / 1000})`
      })
      .example('$0 prover check -- native/target/release/proofmesh-prover serve', 'the reference prover')
      .example('$0 prover check -- python3 examples/python-prover/prover.py', 'the Python example'),
  handler: async (args) => {
    const command = [...(args.prover ?? []), ...((args as { _?: unknown[] })._ ?? []).slice(2).map(String)]
    if (command.length === 0)
      throw usage('name the prover to check: proofmesh prover check -- COMMAND [ARGS…]')
    const checkTimeoutMs = parseTimeout(args.timeout)
    const verdicts = await runProverKit({
      command,
      checkTimeoutMs,
      onVerdict: args.json === true ? undefined : (verdict) => console.log(row(verdict))
    })
    const failed = verdicts.filter((verdict) => verdict.status === 'fail')
    const passed = verdicts.filter((verdict) => verdict.status === 'pass').length
    const skipped = verdicts.length - passed - failed.length
    if (args.json === true) {
      console.log(
        JSON.stringify({ command, spec: SPEC, passed, failed: failed.length, skipped, checks: verdicts })
      )
    } else {
      console.log(`\n${passed} passed, ${failed.length} failed, ${skipped} skipped (${SPEC})`)
    }
    if (failed.length > 0)
      throw new CliError(`${failed.length} check(s) failed: ${failed.map((v) => v.name).join(', ')}`)
  }
}

export const proverCommand: CommandModule = {
  command: 'prover <command>',
  describe: 'Tools for prover authors (check: the NPP conformance kit)',
  builder: (yargs) => yargs.command(checkCommand).demandCommand(1, 'Name a prover command: check'),
  handler: () => {}
}
