import type { CommandModule } from 'yargs'
import { Daemon } from '../../src/daemon/daemon.js'
import { explainStartError } from '../../src/daemon/start-errors.js'
import { createLogger } from '../../src/log/index.js'
import { configFromArgs, type DaemonArgs, daemonOptions, prepareDataDir } from '../options.js'
import { onShutdownSignals } from '../shutdown.js'

export const daemonCommand: CommandModule<object, DaemonArgs> = {
  command: 'daemon',
  describe:
    'Start a node: join the network, advertise this machine\u2019s proving capacity, serve the local API',
  builder: (yargs) =>
    yargs.options(daemonOptions).example([
      ['$0 daemon', 'a node on port 4001 with the data dir ~/.proofmesh'],
      ['$0 daemon --bootstrap /ip4/10.0.0.5/tcp/4001/p2p/12D3KooW...', 'join an existing network'],
      ['$0 daemon --swarm-key ~/.proofmesh/swarm.key', 'join a private network']
    ]),
  handler: async (args) => {
    const config = await configFromArgs(args)
    prepareDataDir(config.dataDir)
    const logger = createLogger({
      level: config.log.level,
      format: config.log.format,
      file: config.log.file || undefined
    })
    const daemon = new Daemon({ config, logger })
    try {
      await daemon.start()
    } catch (err) {
      // one line naming the cause and the key to change; the error itself, stack and all, at debug
      logger.debug({ err }, 'the daemon could not start')
      const reason = await explainStartError(err, config)
      await daemon.stop().catch(() => undefined)
      console.error(`proofmesh: ${reason}`)
      process.exit(1)
    }
    onShutdownSignals(logger, () => daemon.stop())
  }
}
