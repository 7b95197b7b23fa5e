import type { CommandModule } from 'yargs'
import { loadConfig } from '../../src/config/index.js'
import { readApiToken } from '../../src/rpc/http/credentials.js'
import { ApiClient } from '../api-client.js'
import { CliError } from '../errors.js'
import { baseOptions } from '../options.js'

interface UiArgs {
  config?: string
  'data-dir'?: string
}

export const uiCommand: CommandModule<object, UiArgs> = {
  command: 'ui',
  describe:
    'Print the address of the local daemon\u2019s web page (peers, jobs, a live view of a running job)',
  builder: (yargs) =>
    yargs
      .options(baseOptions)
      .example([['$0 ui --data-dir /var/lib/proofmesh', 'the page of the daemon using that data dir']]),
  handler: async (args) => {
    const config = await loadConfig({
      configPath: args.config,
      overrides: args['data-dir'] === undefined ? {} : { dataDir: args['data-dir'] }
    })
    const client = await ApiClient.fromDataDir(config.dataDir)
    // a daemon killed without cleaning up leaves its address file behind: only print a page that answers
    await client.get('/v1/health')
    const token = await readApiToken(config.dataDir).catch(() => {
      throw new CliError(`cannot read the API token in ${config.dataDir}`)
    })
    const url = new URL('/ui', client.url)
    // the token rides in the fragment, which the browser keeps to itself: the page reads it, the server never does
    url.hash = `token=${encodeURIComponent(token)}`
    console.log(url.toString())
    console.error(
      'Open it in a browser; the link holds the API token, so share it only as you would the token.'
    )
  }
}
