import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { CommandModule } from 'yargs'
import { LocalNetwork } from '../../src/testnet/local-network.js'
import { CliError } from '../errors.js'
import { formatPeers } from '../format.js'

interface TestnetArgs {
  nodes: number
  'advert-interval': string
  keep?: boolean
  dir?: string
}

export const testnetCommand: CommandModule<object, TestnetArgs> = {
  command: 'testnet',
  describe: 'Start a local network of daemon processes on 127.0.0.1 and print each node\u2019s peer table',
  builder: (yargs) =>
    yargs.options({
      nodes: { type: 'number', default: 3, describe: 'How many daemons (2..32)' },
      'advert-interval': { type: 'string', default: '1s', describe: 'Advert interval of every node' },
      keep: { type: 'boolean', describe: 'Keep the network running until Ctrl-C (data dirs are printed)' },
      dir: {
        type: 'string',
        describe: 'Parent folder of the nodes\u2019 data dirs [default: a new temporary folder]'
      }
    }),
  handler: async (args) => {
    if (!Number.isInteger(args.nodes) || args.nodes < 2 || args.nodes > 32) {
      throw new CliError(`--nodes must be an integer from 2 to 32, got ${args.nodes}`, 2)
    }
    const root = args.dir ?? (await mkdtemp(join(tmpdir(), 'proofmesh-testnet-')))
    const network = new LocalNetwork({ nodes: args.nodes, root, advertInterval: args['advert-interval'] })
    const cleanUp = async (): Promise<void> => {
      await network.stop()
      if (args.dir === undefined && args.keep !== true) await network.remove()
    }
    try {
      console.error(`starting ${args.nodes} daemons under ${root} ...`)
      await network.start()
      const millis = await network.converge()
      console.error(`every peer table lists every other node after ${millis} ms\n`)
      for (const node of network.nodes) {
        console.log(`node ${node.index}  ${node.status.peerId}  api ${node.api.url}  data ${node.dataDir}`)
        console.log(formatPeers(await network.peers(node)))
        console.log('')
      }
    } catch (err) {
      await cleanUp()
      throw new CliError(`the testnet did not come up: ${(err as Error).message}`)
    }
    if (args.keep === true) {
      console.error('running; Ctrl-C stops every node')
      await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()))
    }
    await cleanUp()
  }
}
