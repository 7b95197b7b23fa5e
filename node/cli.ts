#!/usr/bin/env node
import '../src/polyfill.js'
import yargs, { type Argv } from 'yargs'
import { hideBin } from 'yargs/helpers'
import { PROOFMESH_VERSION } from '../src/version.js'
import { benchCommand } from './commands/bench.js'
import { configCommand } from './commands/config.js'
import { daemonCommand } from './commands/daemon.js'
import { demoCommand } from './commands/demo.js'
import { cancelCommand, jobCommand, jobsCommand } from './commands/jobs.js'
import { peersCommand } from './commands/peers.js'
import { proveCommand } from './commands/prove.js'
import { proverCommand } from './commands/prover.js'
import { statusCommand } from './commands/status.js'
import { swarmKeyCommand } from './commands/swarm-key.js'
import { testnetCommand } from './commands/testnet.js'
import { tokenCommand } from './commands/token.js'
import { uiCommand } from './commands/ui.js'
import { verifyCommand } from './commands/verify.js'
import { CliError } from './errors.js'

/**
 * yargs renders a command's whole help text (cliui, string-width over every option) each time it runs the command,
 * in case a later failure shows it: 25-80 ms of CPU in every daemon's start-up, longer than the rest of its
 * parsing. Ours never shows it: usage errors fail before a handler runs, and the fail handler below prints a
 * handler's errors without help. `--help` still renders help, when asked. The method is internal to yargs (as
 * Angular's CLI does the same, see angular-cli#34087); if it moves, this does nothing.
 */
function skipHelpRenderingOnRun(instance: Argv): Argv {
  const internal = instance as unknown as {
    getInternalMethods?: () => { getUsageInstance?: () => { cacheHelpMessage?: () => void } }
  }
  const usage = internal.getInternalMethods?.().getUsageInstance?.()
  if (typeof usage?.cacheHelpMessage === 'function') usage.cacheHelpMessage = () => undefined
  return instance
}

await skipHelpRenderingOnRun(yargs(hideBin(process.argv)))
  .scriptName('proofmesh')
  .usage(
    '$0 <command> [options]\n\nA peer-to-peer network that proves across many machines, with no fixed coordinator.'
  )
  .command(daemonCommand)
  .command(statusCommand)
  .command(peersCommand)
  .command(proveCommand)
  .command(jobsCommand)
  .command(jobCommand)
  .command(cancelCommand)
  .command(verifyCommand)
  .command(proverCommand)
  .command(configCommand)
  .command(swarmKeyCommand)
  .command(testnetCommand)
  .command(demoCommand)
  .command(uiCommand)
  .command(tokenCommand)
  .command(benchCommand)
  .demandCommand(1, 'Name a command; `proofmesh --help` lists them.')
  .strict()
  // numeric flags parse their own text (numberOption), so that a bad one is named as typed
  .parserConfiguration({ 'parse-numbers': false, 'parse-positional-numbers': false })
  .version(PROOFMESH_VERSION)
  .alias('h', 'help')
  .wrap(Math.min(110, process.stdout.columns ?? 110))
  .fail((message, err, argv) => {
    if (err instanceof CliError) {
      console.error(`proofmesh: ${err.message}`)
      process.exit(err.exitCode)
    }
    // yargs' own errors are about the command line (a flag's coerce rejecting its value arrives as one)
    if (err?.name === 'YError') {
      console.error(`proofmesh: ${err.message}`)
      process.exit(2)
    }
    if (err !== undefined && err !== null) {
      console.error(`proofmesh: ${err.message}`)
      process.exit(1)
    }
    argv.showHelp((text: string) => console.error(text))
    console.error(`\nproofmesh: ${message}`)
    process.exit(2)
  })
  .parseAsync()
