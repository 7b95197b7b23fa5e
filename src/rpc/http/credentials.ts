import { randomBytes, timingSafeEqual } from 'node:crypto'
import { chmod, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { makeDirectory } from '../../config/directories.js'

export const API_TOKEN_FILE = 'api.token'
export const API_ADDRESS_FILE = 'api.json'

/** Where a running daemon's API is; written at start so every CLI command finds it from --data-dir alone */
export interface ApiAddress {
  url: string
  pid: number
  peerId: string
}

/** Atomically, readable by this user only */
export async function writePrivateFile(path: string, contents: string): Promise<void> {
  const temporary = `${path}.tmp-${process.pid}`
  await writeFile(temporary, contents, { mode: 0o600 })
  await chmod(temporary, 0o600)
  await rename(temporary, path)
}

/** The bearer token the local API requires, created on first start (0600 in the data dir) */
export async function loadOrCreateApiToken(dataDir: string): Promise<string> {
  const path = join(dataDir, API_TOKEN_FILE)
  try {
    const token = (await readFile(path, 'utf8')).trim()
    if (token.length >= 32) return token
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  return writeNewApiToken(dataDir)
}

/**
 * A new random token in place of the old one (0600, written atomically: a reader sees the old one or the new
 * one, never half of either). A daemon that runs keeps the token it read at start: rotate it through the API.
 */
export async function writeNewApiToken(dataDir: string): Promise<string> {
  makeDirectory(dataDir, 0o700)
  const token = randomBytes(32).toString('hex')
  await writePrivateFile(join(dataDir, API_TOKEN_FILE), `${token}\n`)
  return token
}

export async function readApiToken(dataDir: string): Promise<string> {
  return (await readFile(join(dataDir, API_TOKEN_FILE), 'utf8')).trim()
}

export async function writeApiAddress(dataDir: string, address: ApiAddress): Promise<void> {
  await writePrivateFile(join(dataDir, API_ADDRESS_FILE), `${JSON.stringify(address)}\n`)
}

export async function removeApiAddress(dataDir: string): Promise<void> {
  await rm(join(dataDir, API_ADDRESS_FILE), { force: true })
}

export async function readApiAddress(dataDir: string): Promise<ApiAddress> {
  const parsed = JSON.parse(await readFile(join(dataDir, API_ADDRESS_FILE), 'utf8')) as Partial<ApiAddress>
  if (typeof parsed.url !== 'string' || typeof parsed.pid !== 'number' || typeof parsed.peerId !== 'string') {
    throw new Error(`${join(dataDir, API_ADDRESS_FILE)} is not a proofmesh API address file`)
  }
  return parsed as ApiAddress
}

/** Compares in constant time so the token cannot be guessed byte by byte from response timings */
export function tokenMatches(expected: string, presented: string): boolean {
  const a = Buffer.from(expected)
  const b = Buffer.from(presented)
  return a.length === b.length && timingSafeEqual(a, b)
}
