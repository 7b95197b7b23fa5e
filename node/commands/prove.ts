import type { CommandModule } from 'yargs'
import type { JobRecord } from '../../src/jobs-model/types.js'
import { connectDaemon } from '../api-client.js'
import { usage } from '../errors.js'
import { baseOptions, integerOption } from '../options.js'
import { runEphemeralProve } from '../prove/ephemeral.js'
import { ephemeralOptions } from '../prove/ephemeral-options.js'
import { checkOutDir, checkProveFiles } from '../prove/files.js'
import { followJob } from '../prove/follow.js'
import { buildProveRequest, PROVE_INTEGER_FLAGS, type ProveArgs } from '../prove/request.js'
import { daemonSession, type JobSession } from '../prove/session.js'

/** The whole command; resolves with its exit code */
export async function runProve(args: ProveArgs): Promise<number> {
  const body = buildProveRequest(args)
  const ephemeral = args.ephemeral === true
  if (!ephemeral && (args.bootstrap !== undefined || args['swarm-key'] !== undefined)) {
    throw usage('--bootstrap and --swarm-key go with --ephemeral; a daemon uses its own network')
  }
  await checkProveFiles(body)
  if (args.out !== undefined) await checkOutDir(args.out)
  const json = args.json === true
  const follow = (session: JobSession): Promise<number> =>
    followJob(session, {
      json,
      out: args.out,
      tty: process.stderr.isTTY,
      columns: process.stderr.columns,
      stdout: process.stdout,
      stderr: process.stderr
    })
  if (ephemeral) {
    const options = await ephemeralOptions(args, body)
    return runEphemeralProve({ ...body }, options, follow)
  }
  if (args.out !== undefined && body.saveProof === false) {
    throw usage('--out downloads the proof the daemon saves: drop --no-save-proofs')
  }
  const client = await connectDaemon(args)
  const record = await client.post<JobRecord>('/v1/jobs', body)
  if (args.wait !== true && args.out === undefined) {
    console.log(json ? JSON.stringify(record, null, 2) : record.id)
    return 0
  }
  const onSignal = (): void => {
    process.stderr.write(
      `\njob ${record.id} goes on in the daemon; \`proofmesh cancel ${record.id}\` stops it\n`
    )
    process.exit(130)
  }
  process.once('SIGINT', onSignal)
  try {
    return await follow(daemonSession(client, record.id))
  } finally {
    process.off('SIGINT', onSignal)
  }
}

export const proveCommand: CommandModule<object, ProveArgs> = {
  command: 'prove',
  describe: 'Submit a proving job to the network through the local daemon (or an ephemeral node)',
  builder: (yargs) =>
    yargs
      .options({
        ...baseOptions,
        inputs: {
          type: 'string',
          alias: 'i',
          describe:
            'The input: a name inside every peer\u2019s inputs folder, or with --direct-inputs a local file'
        },
        'direct-inputs': {
          type: 'boolean',
          alias: 'x',
          describe:
            'Send the bytes of --inputs FILE from this machine instead of naming a file the peers hold'
        },
        hints: {
          type: 'string',
          describe: 'Precomputed hints: a FILE, or unix:///path.sock with --stream-hints'
        },
        'stream-hints': {
          type: 'boolean',
          describe: 'Read the hints from the --hints unix socket until EOF'
        },
        'compute-capacity': integerOption('--compute-capacity', PROVE_INTEGER_FLAGS['compute-capacity'], {
          alias: 'c',
          describe: 'Compute units the job needs (required)'
        }),
        'minimal-compute-capacity': integerOption(
          '--minimal-compute-capacity',
          PROVE_INTEGER_FLAGS['minimal-compute-capacity'],
          {
            alias: 'm',
            describe: 'Start with this many units when no more are free [default: --compute-capacity]'
          }
        ),
        priority: integerOption('--priority', PROVE_INTEGER_FLAGS.priority, {
          describe: 'Higher runs first, -1000..1000 [default: 0]'
        }),
        program: { type: 'string', describe: 'Program to prove [default: rescue-sponge]' },
        'data-id': {
          type: 'string',
          describe: 'Your label for the job [default: the input\u2019s file name]'
        },
        timeout: {
          type: 'string',
          describe: 'Time the whole job may take, queueing included, e.g. 10m [default: jobs.default_timeout]'
        },
        'webhook-url': {
          type: 'string',
          describe: 'URL POSTed when the job ends [default: jobs.webhook_url]'
        },
        'save-proofs': {
          type: 'boolean',
          describe:
            'Keep the final proof in the daemon\u2019s proofs_dir (--no-save-proofs: do not) [default: true]'
        },
        wait: { type: 'boolean', describe: 'Follow the job until it ends and print a summary' },
        out: { type: 'string', alias: 'o', describe: 'Download the final proof to FILE (implies --wait)' },
        json: { type: 'boolean', describe: 'Print the job record as JSON' },
        ephemeral: {
          type: 'boolean',
          describe: 'No daemon: join the network for this one job through --bootstrap (implies --wait)'
        },
        bootstrap: {
          type: 'string',
          array: true,
          describe: 'With --ephemeral: a peer to join through (multiaddr with /p2p/<peer id>), repeatable'
        },
        'swarm-key': { type: 'string', describe: 'With --ephemeral: the private network\u2019s key file' }
      })
      .example([
        ['$0 prove --inputs block-1.bin -c 10', 'prove block-1.bin from every peer\u2019s inputs folder'],
        ['$0 prove -x --inputs ./block-1.bin -c 10 --wait', 'send a local file and follow the job'],
        [
          '$0 prove -x -i input.bin -c 8 -m 4 --out final.proof',
          'start with 4 units if 8 are not free; save the proof'
        ],
        [
          '$0 prove -i in.bin -c 10 --hints unix:///tmp/hints.sock --stream-hints',
          'stream hints from a socket'
        ],
        [
          '$0 prove -x -i in.bin -c 4 --ephemeral --bootstrap /ip4/10.0.0.5/tcp/4001/p2p/12D3KooW...',
          'no daemon: join, prove, leave'
        ]
      ]),
  handler: async (args) => {
    process.exitCode = await runProve(args)
  }
}
