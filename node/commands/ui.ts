import { join } from 'node:path'
import type { CommandModule } from 'yargs'
import { API_TOKEN_FILE, readApiToken } from '../../src/rpc/http/credentials.js'
import { ApiClient } from '../api-client.js'
import { CliError } from '../errors.js'
import { baseConfig, baseOptions } from '../options.js'

interface UiArgs {
  config?: string
  'data-dir'?: string
  'show-token'?: boolean
}

export const uiCommand: CommandModule<object, UiArgs> = {
  command: 'ui',
  describe:
    'Print the address of the local daemon\u2019s web page (peers, jobs, a live view of a running job)',
  builder: (yargs) =>
    yargs
      .options({
        ...baseOptions,
        'show-token': {
          type: 'boolean',
          describe:
            'Print a link that carries the API token, which the page then needs no typing of (the token is a ' +
            'secret: it lands in the terminal\u2019s scrollback and the browser\u2019s history)'
        }
      })
      .example([
        ['$0 ui', 'the page of the daemon of ~/.proofmesh; it asks for the API token'],
        ['$0 ui --show-token', 'a link that opens the page with the token'],
        ['$0 ui --data-dir /var/lib/proofmesh', 'the page of the daemon using that data dir']
      ]),
  handler: async (args) => {
    const config = await baseConfig(args)
    const client = await ApiClient.fromDataDir(config.dataDir)
    // a daemon killed without cleaning up leaves its address file behind: only print a page that answers
    await client.get('/v1/health')
    const url = new URL('/ui', client.url)
    if (args['show-token'] !== true) {
      console.log(url.toString())
      console.error(
        `The page asks for the API token: the one in ${join(config.dataDir, API_TOKEN_FILE)}, or run ` +
          '`proofmesh ui --show-token` for a link that carries it.'
      )
      return
    }
    const token = await readApiToken(config.dataDir).catch(() => {
      throw new CliError(`cannot read the API token in ${config.dataDir}`)
    })
    // the token rides in the fragment, which the browser keeps to itself: the page reads it, the server never does
    url.hash = `token=${encodeURIComponent(token)}`
    console.log(url.toString())
    console.error(
      'The link holds the API token: share it only as you would the token (`proofmesh token rotate` replaces it).'
    )
  }
}
