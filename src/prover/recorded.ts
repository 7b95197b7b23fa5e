import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { makeDirectory } from '../config/directories.js'
import type { ProverConfig } from '../config/index.js'
import { writePrivateFile } from '../rpc/http/credentials.js'

/** In the data dir: the prover settings the daemon last started with */
export const PROVER_SETTINGS_FILE = 'prover.json'

/**
 * Records the prover settings a daemon runs with, so that `proofmesh verify --data-dir` checks proofs with the
 * prover that made them even when the daemon was configured by a file or variables the CLI does not see
 */
export async function recordProverSettings(dataDir: string, settings: ProverConfig): Promise<void> {
  // the daemon may get here before its peer key made the folder
  makeDirectory(dataDir, 0o700)
  await writePrivateFile(join(dataDir, PROVER_SETTINGS_FILE), `${JSON.stringify(settings)}\n`)
}

/**
 * The settings a daemon of this data dir recorded, unchecked (the caller passes them to loadConfig as overrides,
 * which checks every field); undefined when no daemon has run here
 */
export async function readRecordedProverSettings(dataDir: string): Promise<unknown> {
  const path = join(dataDir, PROVER_SETTINGS_FILE)
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
  try {
    return JSON.parse(text) as unknown
  } catch {
    throw new Error(`${path} is not JSON; remove it or pass --config`)
  }
}
