import type { CommandModule } from 'yargs'
import { writeSwarmKey } from '../../src/net/swarm-key.js'
import { CliError } from '../errors.js'

interface SwarmKeyArgs {
  file: string
}

export const swarmKeyCommand: CommandModule<object, SwarmKeyArgs> = {
  command: 'swarm-key <file>',
  describe:
    'Write a new pre-shared key for a private network (give the same file to every node, via --swarm-key)',
  builder: (yargs) =>
    yargs.positional('file', {
      type: 'string',
      demandOption: true,
      describe: 'Where to write the key (0600)'
    }),
  handler: async (args) => {
    try {
      await writeSwarmKey(args.file)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST')
        throw new CliError(`${args.file} exists; not overwriting a key`)
      throw err
    }
    console.error(`wrote ${args.file}; nodes started with --swarm-key ${args.file} form a private network`)
  }
}
