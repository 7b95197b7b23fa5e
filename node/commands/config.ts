import { writeFile } from 'node:fs/promises'
import type { CommandModule } from 'yargs'
import { renderConfigToml } from '../../src/config/index.js'
import { CliError } from '../errors.js'

interface ConfigInitArgs {
  output?: string
  force?: boolean
}

const configInitCommand: CommandModule<object, ConfigInitArgs> = {
  command: 'init',
  describe: 'Print (or write) a commented TOML config with every key and its default',
  builder: (yargs) =>
    yargs.options({
      output: { type: 'string', alias: 'o', describe: 'Write to this file instead of stdout' },
      force: { type: 'boolean', describe: 'Overwrite the file if it exists' }
    }),
  handler: async (args) => {
    const text = renderConfigToml()
    if (args.output === undefined) {
      process.stdout.write(text)
      return
    }
    try {
      await writeFile(args.output, text, { flag: args.force === true ? 'w' : 'wx' })
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new CliError(`${args.output} exists; pass --force to overwrite it`)
      }
      throw err
    }
    console.error(`wrote ${args.output}`)
  }
}

export const configCommand: CommandModule = {
  command: 'config <command>',
  describe: 'Configuration helpers',
  builder: (yargs) => yargs.command(configInitCommand).demandCommand(1),
  handler: () => undefined
}
