/**
 * What the submitter uploads per byte of input: 5 real daemons on 127.0.0.1, node 0 submitting with
 * --no-offer (so every slice goes over the network) and nodes 1-4 offering one unit each. A 4 MiB data-mode
 * job runs on 1, 2 and 4 peers; the job record's bytesOut (input slices and hints sent to other peers) over
 * inputSize is the ratio. Target: ≤ 1.1×.
 *
 * Inputs and hints all go out in the contribute phase (it ends only once they are delivered), so by default
 * each job is cancelled as soon as it reaches `proving` and the provers' time is saved; `--full` lets every
 * job run to `succeeded` instead (the final proof is a download, not an upload, so bytesOut is the same).
 *
 *   npm run bench:upload
 *   node dist/test/bench/upload-ratio.js --full
 */
import '../../src/polyfill.js'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { JobRecord } from '../../src/jobs-model/types.js'
import { LocalNetwork, type LocalNode } from '../../src/testnet/local-network.js'
import { cancelJob, printTable, submitJob, waitFreePeers, waitJob } from './job-helpers.js'
import { writeRandomFile } from '../../node/random-file.js'

const INPUT_BYTES = 4 * 1024 * 1024
const PEER_COUNTS = [1, 2, 4]
const TARGET = 1.1
const FULL = process.argv.includes('--full')
const AFTER_CONTRIBUTE = ['proving', 'aggregating', 'verifying', 'succeeded']

const root = await mkdtemp(join(tmpdir(), 'proofmesh-bench-upload-'))
const network = new LocalNetwork({
  nodes: 1 + Math.max(...PEER_COUNTS),
  root: join(root, 'net'),
  extraArgs: ['--log-level', 'warn'],
  nodeArgs: (index) => (index === 0 ? ['--no-offer'] : ['--compute-units', '1'])
})
const rows: Array<Array<string | number>> = []
let allMet = true
try {
  const input = join(root, 'input')
  await writeRandomFile(input, INPUT_BYTES)
  await network.start()
  await network.converge()
  const submitter = network.nodes[0] as LocalNode
  for (const peers of PEER_COUNTS) {
    await waitFreePeers(network, Math.max(...PEER_COUNTS))
    const submitted = await submitJob(submitter, {
      inputMode: 'data',
      input,
      computeCapacity: peers,
      minimalComputeCapacity: peers
    })
    let record: JobRecord
    let outcome: string
    if (FULL) {
      record = (await waitJob(submitter, submitted.id)).record
      if (record.state !== 'succeeded') throw new Error(`job ${record.id} ended ${record.state}`)
      outcome = record.state
    } else {
      const reached = await waitJob(submitter, submitted.id, {
        done: (r) => AFTER_CONTRIBUTE.includes(r.state)
      })
      if (reached.record.state !== 'succeeded') await cancelJob(submitter, submitted.id)
      // The record as the job ended: the bytes counted before the cancel, and nothing after
      record = (await waitJob(submitter, submitted.id)).record
      outcome = `${reached.record.state} → ${record.state}`
    }
    const inputSize = record.inputSize ?? 0
    const sliceBytes = record.segments.reduce((sum, segment) => sum + segment.inputLength, 0)
    const ratio = record.bytesOut / inputSize
    allMet &&= ratio <= TARGET
    rows.push([
      peers,
      record.peers.length,
      record.segments.length,
      inputSize,
      record.bytesOut,
      record.bytesOut - sliceBytes,
      record.peers.map((peer) => peer.bytesSent).join('/'),
      ratio.toFixed(4),
      ratio <= TARGET ? 'MET' : 'MISSED',
      outcome
    ])
  }
} finally {
  await network.stop()
  await rm(root, { recursive: true, force: true })
}

printTable(
  [
    'peers',
    'leased',
    'segs',
    'input_B',
    'bytesOut_B',
    'beyond_slices_B',
    'bytesSent_per_peer',
    'ratio',
    `target≤${TARGET}`,
    'job'
  ],
  rows
)
console.log(
  `submitter --no-offer; ratio = bytesOut / inputSize; beyond_slices = bytesOut − Σ segment inputLength (hints, resends); ${allMet ? 'all MET' : 'some MISSED'}`
)
