import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const PACKAGE_NAME = 'proofmesh'

/**
 * The proofmesh package root, found by walking up from this module to the package.json named
 * "proofmesh". Works from src/config/ (ts runners), dist/src/config/ (tsc output) and
 * node_modules/proofmesh/dist/src/config/ (installed).
 */
export function findPackageRoot(moduleUrl: string = import.meta.url): string {
  const start = dirname(fileURLToPath(moduleUrl))
  let dir = start
  for (;;) {
    const manifest = join(dir, 'package.json')
    if (existsSync(manifest) && readPackageName(manifest) === PACKAGE_NAME) {
      return dir
    }
    const parent = dirname(dir)
    if (parent === dir) {
      // No manifest found (a bundled copy?): assume the tsc layout dist/src/config/
      return resolve(start, '..', '..', '..')
    }
    dir = parent
  }
}

function readPackageName(manifest: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(readFileSync(manifest, 'utf8'))
    if (
      typeof parsed === 'object' &&
      parsed !== null &&
      'name' in parsed &&
      typeof parsed.name === 'string'
    ) {
      return parsed.name
    }
  } catch {
    // unreadable or not JSON: keep walking
  }
  return undefined
}

/** The native prover built by `cargo build --release` in native/ */
export function defaultProverBinary(root: string = findPackageRoot()): string {
  return join(root, 'native', 'target', 'release', 'proofmesh-prover')
}
