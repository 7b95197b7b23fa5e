import type { CommandModule } from 'yargs'
import { type StatusJson, statusToJson } from '../../src/daemon/status-json.js'
import { createLogger } from '../../src/log/index.js'
import { readSwarmKey } from '../../src/net/swarm-key.js'
import { requestRemoteStatus } from '../../src/rpc/status/remote.js'
import { ApiClient } from '../api-client.js'
import { CliError } from '../errors.js'
import { formatStatus } from '../format/status.js'
import { baseConfig, baseOptions } from '../options.js'

interface StatusArgs {
  config?: string
  'data-dir'?: string
  peer?: string
  'swarm-key'?: string
  json?: boolean
}

export const statusCommand: CommandModule<object, StatusArgs> = {
  command: 'status',
  describe: 'Show a node\u2019s status: the local daemon, or any peer over the status protocol',
  builder: (yargs) =>
    yargs
      .options({
        ...baseOptions,
        peer: {
          type: 'string',
          describe: 'Ask this remote peer (multiaddr with /p2p/<peer id>) instead of the local daemon'
        },
        'swarm-key': { type: 'string', describe: 'Swarm key file, to reach a peer of a private network' },
        json: { type: 'boolean', describe: 'Print JSON instead of a summary' }
      })
      .example([
        ['$0 status', 'the local daemon'],
        ['$0 status --peer /ip4/10.0.0.5/tcp/4001/p2p/12D3KooW... --json', 'a remote peer, as JSON']
      ]),
  handler: async (args) => {
    const config = await baseConfig(args)
    let status: StatusJson
    if (args.peer === undefined) {
      status = await (await ApiClient.fromDataDir(config.dataDir)).get<StatusJson>('/v1/status')
    } else {
      const keyPath = args['swarm-key'] ?? (config.net.swarmKey === '' ? undefined : config.net.swarmKey)
      try {
        status = statusToJson(
          await requestRemoteStatus({
            peer: args.peer,
            swarmKey: keyPath === undefined ? undefined : await readSwarmKey(keyPath),
            logger: createLogger({ level: 'silent' })
          })
        )
      } catch (err) {
        // Across a private network's boundary each side reads the other's bytes as noise, and the error names
        // whatever symptom that gave (a message "too long", a timeout): say what the likely cause is
        const hint =
          keyPath === undefined
            ? 'a peer of a private network answers only with its swarm key (--swarm-key)'
            : `is ${keyPath} the peer's swarm key?`
        throw new CliError(`no status from ${args.peer}: ${(err as Error).message} (${hint})`)
      }
    }
    console.log(args.json === true ? JSON.stringify(status, null, 2) : formatStatus(status))
  }
}
