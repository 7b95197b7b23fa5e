import { spawn } from 'node:child_process'
import { mkdtemp } from 'node:fs/promises'
import { constants, tmpdir } from 'node:os'
import { join } from 'node:path'
import type { CommandModule } from 'yargs'
import { findPackageRoot } from '../../src/config/paths.js'
import { LocalNetwork } from '../../src/testnet/local-network.js'
import { CliError } from '../errors.js'
import { formatPeers } from '../format/status.js'
import { integerFlag, numberOption } from '../options.js'

interface TestnetArgs {
  nodes: number
  'advert-interval': string
  keep?: boolean
  dir?: string
  netns?: boolean
  'cut-link'?: number
  down?: number
  size?: number
}

/** The namespace testnet is a shell script (ip netns, veths, a bridge) in the checkout's docker/ */
const NETNS_SCRIPT = join(findPackageRoot(), 'docker', 'netns-testnet.sh')

/**
 * Runs docker/netns-testnet.sh in the foreground and exits with its status. It validates its arguments and
 * checks for root itself; Ctrl-C and SIGTERM are passed on, and the script tears everything down on either.
 */
async function runNetnsTestnet(args: TestnetArgs): Promise<void> {
  const argv = [NETNS_SCRIPT, String(args.nodes)]
  if (args['cut-link'] !== undefined) argv.push('--cut-link', String(args['cut-link']))
  if (args.down !== undefined) argv.push('--down', String(args.down))
  if (args.size !== undefined) argv.push('--size', String(args.size))
  const child = spawn('bash', argv, {
    stdio: 'inherit',
    env: { ...process.env, ...(args.keep === true ? { KEEP: '1' } : {}) }
  })
  const forward = (signal: NodeJS.Signals): void => {
    child.kill(signal)
  }
  process.on('SIGINT', forward)
  process.on('SIGTERM', forward)
  try {
    const code = await new Promise<number>((resolve, reject) => {
      child.once('error', reject)
      child.once('exit', (status, signal) =>
        resolve(status ?? 128 + (signal === null ? 0 : constants.signals[signal]))
      )
    })
    if (code !== 0)
      throw new CliError(`the namespace testnet failed (exit ${code}); its output is above`, code)
  } finally {
    process.off('SIGINT', forward)
    process.off('SIGTERM', forward)
  }
}

/** How to reach the nodes of a kept testnet: every command finds a daemon's API and token from its data dir */
export function formatKeepHelp(dataDirs: string[]): string {
  const first = dataDirs[0] ?? '<data dir>'
  return [
    'Each node is addressed by its data dir: pass it as --data-dir to any proofmesh command.',
    ...dataDirs.map((dir, i) => `  node ${i}  --data-dir ${dir}`),
    'For example:',
    `  proofmesh status --data-dir ${first}`,
    `  proofmesh prove --data-dir ${first} -x --inputs FILE -c 2 --wait`,
    `  proofmesh ui --data-dir ${first}`
  ].join('\n')
}

export const testnetCommand: CommandModule<object, TestnetArgs> = {
  command: 'testnet',
  describe:
    'Start a local network of daemon processes on 127.0.0.1 and print each node\u2019s peer table; with --netns, ' +
    'hosts in Linux network namespaces that prove a job across them',
  builder: (yargs) =>
    yargs.options({
      nodes: numberOption('--nodes', 'a number of daemons', {
        default: 3,
        describe: 'How many daemons (2..32; with --netns 2..200)'
      }),
      'advert-interval': { type: 'string', default: '1s', describe: 'Advert interval of every node' },
      keep: { type: 'boolean', describe: 'Keep the network running until Ctrl-C (data dirs are printed)' },
      dir: {
        type: 'string',
        describe: 'Parent folder of the nodes\u2019 data dirs [default: a new temporary folder]'
      },
      netns: {
        type: 'boolean',
        describe:
          'Each node a host in its own network namespace (10.77.0.0/24, a bridge of its own): fill the peer ' +
          'tables, prove a generated input across every host and verify it, then tear down (root, iproute2; ' +
          'runs docker/netns-testnet.sh; 2..200 nodes)'
      },
      'cut-link': numberOption('--cut-link', 'a host number', {
        describe: 'With --netns: prove a second input while this host (1..nodes-1) is cut off mid-job'
      }),
      down: numberOption('--down', 'a number of seconds', {
        describe: 'With --netns --cut-link: seconds the link stays down [default: 6]'
      }),
      size: numberOption('--size', 'a number of bytes', {
        describe: 'With --netns: bytes of each generated input [default: 2 MiB]'
      })
    }),
  handler: async (args) => {
    if (args.netns === true) {
      await runNetnsTestnet(args)
      return
    }
    if (args['cut-link'] !== undefined || args.down !== undefined || args.size !== undefined) {
      throw new CliError('--cut-link, --down and --size go with --netns', 2)
    }
    integerFlag('--nodes', args.nodes, 2, 32)
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
      console.log(formatKeepHelp(network.nodes.map((node) => node.dataDir)))
      console.error('running; Ctrl-C stops every node')
      await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()))
    }
    await cleanUp()
  }
}
