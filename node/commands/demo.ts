import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { Writable } from 'node:stream'
import { join } from 'node:path'
import type { CommandModule } from 'yargs'
import { describePeerFailure } from '../../src/jobs-model/peer-failure.js'
import { shortPeerId } from '../../src/jobs-model/peer-id.js'
import { JOB_PHASES } from '../../src/jobs-model/states.js'
import type { JobRecord } from '../../src/jobs-model/types.js'
import { LocalNetwork } from '../../src/testnet/local-network.js'
import { ApiClient } from '../api-client.js'
import { CliError } from '../errors.js'
import { failedPeers } from '../format/job.js'
import { formatDurationShort, formatTable } from '../format/text.js'
import { integerFlag, integerOption } from '../options.js'
import { writeRandomFile } from '../random-file.js'
import { followJob } from '../prove/follow.js'
import { daemonSession } from '../prove/session.js'

interface DemoArgs {
  size: number
  nodes: number
  keep?: boolean
}

const MIB = 1024 * 1024
const DEMO_NODES = { min: 2, max: 8 }
/** Bytes of the generated input: up to 1 GiB */
const DEMO_SIZE = { min: 1, max: 1024 * MIB }

/** What the network did, for a person: who proved what, how long each phase took, what moved where */
export function formatDemoSummary(job: JobRecord, names: Map<string, string>): string {
  const name = (peerId: string): string => names.get(peerId) ?? shortPeerId(peerId)
  const peers = formatTable([
    ['peer', 'state', 'units', 'segments', 'blocks', 'received (bytes)', 'prove time'],
    ...job.peers.map((peer) => {
      const segments = job.segments.filter((segment) => segment.peerId === peer.peerId)
      return [
        `${name(peer.peerId)}${peer.local ? ' (submitter)' : ''}${job.aggregator === peer.peerId ? ' (aggregator)' : ''}`,
        peer.state === 'failed' ? 'failed' : 'ok',
        String(peer.units),
        segments.map((segment) => segment.index).join(',') || '-',
        String(segments.reduce((sum, segment) => sum + segment.blockCount, 0)),
        peer.local ? '0 (has the input)' : String(peer.bytesSent),
        formatDurationShort(segments.reduce((sum, segment) => sum + (segment.proveMillis ?? 0), 0))
      ]
    })
  ])
  const timings = JOB_PHASES.map((phase) => {
    const timing = job.phases[phase]
    return timing?.endedAt === undefined
      ? undefined
      : `${phase} ${formatDurationShort(timing.endedAt - timing.startedAt)}`
  })
    .filter((text) => text !== undefined)
    .join(', ')
  const fill =
    job.fill === undefined
      ? ''
      : ` (${((100 * job.fill.usefulBlocks) / job.fill.paddedBlocks).toFixed(1)}% of proved rows hold input)`
  const failures = failedPeers(job).map(
    (peer) => `failed     ${name(peer.peerId)}: ${describePeerFailure(peer.failure)}`
  )
  return [
    '',
    `input      ${job.inputSize ?? 0} bytes, sha256 ${job.inputSha256 ?? '?'}`,
    `segments   ${job.segments.length} over ${job.peers.length} peers${fill}`,
    peers,
    ...failures,
    `aggregator ${job.aggregator === undefined ? '-' : name(job.aggregator)}`,
    `phases     ${timings}`,
    `total      ${formatDurationShort((job.finishedAt ?? Date.now()) - job.createdAt)}; the submitter uploaded ${job.bytesOut} bytes (${(job.bytesOut / (job.inputSize ?? 1)).toFixed(2)}× the input)`,
    `proof      ${job.proof?.size ?? 0} bytes, sha256 ${job.proof?.sha256 ?? '?'}, verified: digest ${job.digest ?? '?'}`
  ].join('\n')
}

export const demoCommand: CommandModule<object, DemoArgs> = {
  command: 'demo',
  describe:
    'Prove a generated input across 3 daemon processes on 127.0.0.1, show it live, verify it, clean up',
  builder: (yargs) =>
    yargs
      .options({
        size: integerOption('--size', DEMO_SIZE, { default: 8 * MIB, describe: 'Input size in bytes' }),
        nodes: integerOption('--nodes', DEMO_NODES, { default: 3, describe: 'How many daemons (2..8)' }),
        keep: { type: 'boolean', describe: 'Keep the data dirs (logs, journals, proofs) afterwards' }
      })
      .example([['$0 demo', 'an 8 MiB input over 3 local peers']]),
  handler: async (args) => {
    integerFlag('--nodes', args.nodes, DEMO_NODES.min, DEMO_NODES.max)
    integerFlag('--size', args.size, DEMO_SIZE.min, DEMO_SIZE.max)
    const root = await mkdtemp(join(tmpdir(), 'proofmesh-demo-'))
    const network = new LocalNetwork({ nodes: args.nodes, root, advertInterval: '1s' })
    let code = 1
    try {
      console.error(`starting ${args.nodes} daemons on 127.0.0.1 (data under ${root}) ...`)
      await network.start()
      await network.converge()
      const names = new Map(
        network.nodes.map((node) => [
          node.status.peerId,
          `node ${node.index} ${shortPeerId(node.status.peerId)}`
        ])
      )
      for (const node of network.nodes)
        console.error(`  node ${node.index}  ${node.status.peerId}  api ${node.api.url}`)
      const input = join(root, 'input.bin')
      await writeRandomFile(input, args.size)
      const units = network.nodes.reduce((sum, node) => sum + (node.status.capacity?.unitsTotal ?? 0), 0)
      console.error(
        `\nsubmitting ${args.size} random bytes from node 0 in data mode, asking for ${units} units ...\n`
      )
      const client = await ApiClient.fromDataDir(network.nodes[0]?.dataDir ?? '')
      const job = await client.post<JobRecord>('/v1/jobs', {
        inputMode: 'data',
        input,
        computeCapacity: units,
        minimalComputeCapacity: 1
      })
      code = await followJob(daemonSession(client, job.id), {
        json: false,
        tty: process.stderr.isTTY,
        columns: process.stderr.columns,
        // the demo prints its own, fuller summary
        stdout: new Writable({ write: (_chunk, _encoding, done) => done() }),
        stderr: process.stderr
      })
      const done = await client.get<JobRecord>(`/v1/jobs/${job.id}`)
      console.log(formatDemoSummary(done, names))
      console.log(
        code === 0
          ? '\nthe proof verified; stopping the network'
          : `\nthe job did not succeed: ${done.error?.message ?? done.state}`
      )
    } catch (err) {
      throw new CliError(`the demo failed: ${(err as Error).message} (logs: ${root}/node-*/daemon.log)`)
    } finally {
      await network.stop()
      if (args.keep === true) console.error(`data dirs kept under ${root}`)
      else await network.remove()
    }
    if (code !== 0) process.exitCode = code
  }
}
