import type { CommandModule } from 'yargs'
import type { PeerRow } from '../../src/daemon/daemon.js'
import { ApiClient } from '../api-client.js'
import { formatPeers } from '../format/status.js'
import { baseConfig, baseOptions } from '../options.js'

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
    const config = await baseConfig(args)
    const peers = await (await ApiClient.fromDataDir(config.dataDir)).get<PeerRow[]>('/v1/peers')
    console.log(args.json === true ? JSON.stringify(peers, null, 2) : formatPeers(peers))
  }
}
