/** `proofmesh prove --ephemeral`: its flags, checked; the config fills a missing --bootstrap or --swarm-key */
import { resolve } from 'node:path'
import { peerMultiaddrItem } from '../../src/config/values.js'
import type { JobRequestBody } from '../../src/job/request.js'
import { usage } from '../errors.js'
import { baseConfig, prepareDataDir } from '../options.js'
import type { EphemeralOptions } from './ephemeral.js'
import { checkReadableFile } from './files.js'
import type { ProveArgs } from './request.js'

/** What runEphemeralProve takes, from the flags and the config; a bad flag is a usage error (exit 2) */
export async function ephemeralOptions(args: ProveArgs, body: JobRequestBody): Promise<EphemeralOptions> {
  const config = await baseConfig(args)
  const bootstrap = args.bootstrap ?? []
  for (const address of bootstrap) {
    if (!peerMultiaddrItem.check(address)) {
      throw usage(`--bootstrap ${address}: expected a multiaddr ending in /p2p/<peer id>`)
    }
  }
  const peers = bootstrap.length > 0 ? bootstrap : config.net.bootstrap
  if (peers.length === 0) {
    throw usage('--ephemeral needs --bootstrap MULTIADDR: a peer of the network, ending in /p2p/<peer id>')
  }
  if (args['data-dir'] !== undefined) prepareDataDir(resolve(args['data-dir']))
  const swarmKey = args['swarm-key'] ?? (config.net.swarmKey === '' ? undefined : config.net.swarmKey)
  if (swarmKey !== undefined) await checkReadableFile('--swarm-key', resolve(swarmKey), true)
  return {
    bootstrap: peers,
    ...(swarmKey === undefined ? {} : { swarmKey: resolve(swarmKey) }),
    ...(args['data-dir'] === undefined ? {} : { dataDir: resolve(args['data-dir']) }),
    ...(args.out === undefined ? {} : { out: resolve(args.out) }),
    saveProof: body.saveProof !== false,
    json: args.json === true,
    wait: true
  }
}
