import { readFileSync } from 'node:fs'

// package.json sits two folders above this module both in src/ (tsx) and in dist/src/ (compiled)
function readPackageVersion(): string {
  for (const relative of ['../package.json', '../../package.json']) {
    try {
      const text = readFileSync(new URL(relative, import.meta.url), 'utf8')
      const parsed: unknown = JSON.parse(text)
      if (typeof parsed === 'object' && parsed !== null && 'name' in parsed && parsed.name === 'proofmesh') {
        const version = (parsed as { version?: unknown }).version
        if (typeof version === 'string') return version
      }
    } catch {
      // try the next candidate
    }
  }
  return '0.0.0'
}

export const PROOFMESH_VERSION = readPackageVersion()
export const AGENT_VERSION = `proofmesh/${PROOFMESH_VERSION}`
