import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { findPackageRoot } from './config/paths.js'

function readPackageVersion(): string {
  const parsed = JSON.parse(readFileSync(join(findPackageRoot(), 'package.json'), 'utf8')) as {
    version?: unknown
  }
  return typeof parsed.version === 'string' ? parsed.version : '0.0.0'
}

export const PROOFMESH_VERSION = readPackageVersion()
export const AGENT_VERSION = `proofmesh/${PROOFMESH_VERSION}`
