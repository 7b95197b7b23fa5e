import { join } from 'node:path'
import type { CommandModule } from 'yargs'
import { API_TOKEN_FILE, readApiAddress, writeNewApiToken } from '../../src/rpc/http/credentials.js'
import { ApiClient, ApiError } from '../api-client.js'
import { CliError } from '../errors.js'
import { baseConfig, baseOptions, prepareDataDir } from '../options.js'

interface TokenArgs {
  config?: string
  'data-dir'?: string
}

/** Whether a process of this id runs (EPERM: it does, as another user) */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * A new API token. A daemon that runs on the data dir makes it itself (POST /v1/token/rotate), so that it takes
 * effect at once and the old one stops working, open page and event streams included; with no daemon running
 * the file is replaced here, for the next daemon to read at its start.
 */
export async function rotateToken(dataDir: string): Promise<string> {
  const file = join(dataDir, API_TOKEN_FILE)
  const address = await readApiAddress(dataDir).catch(() => undefined)
  if (address === undefined || !running(address.pid)) {
    prepareDataDir(dataDir)
    await writeNewApiToken(dataDir).catch((err: unknown) => {
      throw new CliError(`cannot write ${file}: ${(err as Error).message}`)
    })
    return `a new API token is in ${file}; no daemon runs on ${dataDir}, the next one to start uses it`
  }
  const client = await ApiClient.fromDataDir(dataDir)
  try {
    await client.post('/v1/token/rotate')
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) {
      throw new CliError(
        `the daemon (pid ${address.pid}) cannot change its token while it runs: stop it, run this again, start it`
      )
    }
    throw err
  }
  return (
    `a new API token is in ${file}, and the daemon (pid ${address.pid}) uses it now: the old one no longer ` +
    'opens its API or its page (`proofmesh ui --show-token` prints a link with the new one)'
  )
}

const rotateCommand: CommandModule<object, TokenArgs> = {
  command: 'rotate',
  describe: 'Replace the API token: the running daemon switches to the new one at once',
  builder: (yargs) =>
    yargs.options(baseOptions).example([
      ['$0 token rotate', 'a new token for the daemon of ~/.proofmesh'],
      ['$0 token rotate --data-dir /var/lib/proofmesh', 'for the daemon of that data dir']
    ]),
  handler: async (args) => {
    const config = await baseConfig(args)
    console.log(await rotateToken(config.dataDir))
  }
}

export const tokenCommand: CommandModule = {
  command: 'token <command>',
  describe: 'The local API token: `token rotate` replaces it',
  builder: (yargs) => yargs.command(rotateCommand).demandCommand(1),
  handler: () => undefined
}
