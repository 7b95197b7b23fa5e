import { chmod, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { makeDirectory } from '../config/directories.js'

export const PEER_KEY_FILE = 'peer.key'

/**
 * The node's identity: an Ed25519 key kept in the data dir so the peer id survives restarts
 * (other peers' tables, allow-lists and leases refer to it). Written 0600, atomically.
 */
export async function loadOrCreatePeerKey(dataDir: string): Promise<PrivateKey> {
  const path = join(dataDir, PEER_KEY_FILE)
  try {
    const bytes = await readFile(path)
    return privateKeyFromProtobuf(bytes)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new Error(`cannot read the peer key ${path}: ${(err as Error).message}`)
    }
  }
  makeDirectory(dataDir, 0o700)
  const key = await generateKeyPair('Ed25519')
  const temporary = `${path}.tmp-${process.pid}`
  await writeFile(temporary, privateKeyToProtobuf(key), { mode: 0o600 })
  await chmod(temporary, 0o600)
  await rename(temporary, path)
  return key
}
