import { randomBytes } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { KEY_BYTES } from './private-network.js'

/** The go-ipfs/libp2p swarm.key format: this header, the encoding, then the key */
const SWARM_KEY_HEADER = '/key/swarm/psk/1.0.0/'
const SWARM_KEY_ENCODING = '/base16/'

export class SwarmKeyError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'SwarmKeyError'
  }
}

/** A new pre-shared key in the swarm.key format (header, encoding, 64 hex digits) */
export function createSwarmKey(): Uint8Array {
  const hex = randomBytes(KEY_BYTES).toString('hex')
  return new TextEncoder().encode(`${SWARM_KEY_HEADER}\n${SWARM_KEY_ENCODING}\n${hex}`)
}

export async function writeSwarmKey(path: string): Promise<void> {
  await writeFile(path, createSwarmKey(), { mode: 0o600, flag: 'wx' })
}

/**
 * Reads and checks a swarm key file and returns its 32-byte key. A bad key would only show at the first
 * connection, as a failed handshake; checking here names the file and what is wrong with it.
 */
export async function readSwarmKey(path: string): Promise<Uint8Array> {
  let bytes: Buffer
  try {
    bytes = await readFile(path)
  } catch (err) {
    throw new SwarmKeyError(`cannot read the swarm key ${path}: ${(err as Error).message}`)
  }
  const lines = bytes.toString('utf8').trim().split(/\r?\n/)
  const hex = lines[2] ?? ''
  if (
    lines.length !== 3 ||
    lines[0] !== SWARM_KEY_HEADER ||
    lines[1] !== SWARM_KEY_ENCODING ||
    !new RegExp(`^[0-9a-fA-F]{${2 * KEY_BYTES}}$`).test(hex)
  ) {
    throw new SwarmKeyError(
      `${path} is not a swarm key: expected "${SWARM_KEY_HEADER}", "${SWARM_KEY_ENCODING}" and ${2 * KEY_BYTES} hex digits on three lines (make one with \`proofmesh swarm-key\`)`
    )
  }
  return new Uint8Array(Buffer.from(hex, 'hex'))
}
