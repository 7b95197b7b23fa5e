import { readFile, writeFile } from 'node:fs/promises'
import { generateKey } from '@libp2p/pnet'

const SWARM_KEY_HEADER = '/key/swarm/psk/1.0.0/'
const SWARM_KEY_LENGTH = 95

export class SwarmKeyError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'SwarmKeyError'
  }
}

/** A new pre-shared key in the go-ipfs/libp2p swarm.key format (header, encoding, 64 hex chars) */
export function createSwarmKey(): Uint8Array {
  const key = new Uint8Array(SWARM_KEY_LENGTH)
  generateKey(key)
  return key
}

export async function writeSwarmKey(path: string): Promise<void> {
  await writeFile(path, createSwarmKey(), { mode: 0o600, flag: 'wx' })
}

/**
 * Reads and checks a swarm key file. pnet itself only fails at the first connection, with a
 * message about nonces; checking here names the file and what is wrong with it.
 */
export async function readSwarmKey(path: string): Promise<Uint8Array> {
  let bytes: Buffer
  try {
    bytes = await readFile(path)
  } catch (err) {
    throw new SwarmKeyError(`cannot read the swarm key ${path}: ${(err as Error).message}`)
  }
  const lines = bytes.toString('utf8').trim().split(/\r?\n/)
  if (
    lines.length !== 3 ||
    lines[0] !== SWARM_KEY_HEADER ||
    lines[1] !== '/base16/' ||
    !/^[0-9a-fA-F]{64}$/.test(lines[2] ?? '')
  ) {
    throw new SwarmKeyError(
      `${path} is not a swarm key: expected "${SWARM_KEY_HEADER}", "/base16/" and 64 hex digits on three lines (make one with \`proofmesh swarm-key\`)`
    )
  }
  return new TextEncoder().encode(`${lines.join('\n')}`)
}
