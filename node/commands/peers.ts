import type { CommandModule } from 'yargs'
import { loadConfig } from '../../src/config/index.js'
import type { PeerRow } from '../../src/daemon/daemon.js'
import { ApiClient } from '../api-client.js'
import { formatPeers } from '../format.js'
import { baseOptions } from '../options.js'

interface PeersArgs {
  config?: string
  'data-dir'?: string
  json?: boolean
}

export const peersCommand: CommandModule<object, PeersArgs> = {
  command: 'peers',
  describe: 'List the peers the local daemon knows from their capacity adverts',
  builder: (yargs) =>
    yargs.options({ ...baseOptions, json: { type: 'boolean', describe: 'Print JSON instead of a table' } }),
  handler: async (args) => {
    const config = await loadConfig({
      configPath: args.config,
      overrides: args['data-dir'] === undefined ? {} : { dataDir: args['data-dir'] }
    })
    const peers = await (await ApiClient.fromDataDir(config.dataDir)).get<PeerRow[]>('/v1/peers')
    console.log(args.json === true ? JSON.stringify(peers, null, 2) : formatPeers(peers))
  }
}
