import { closeSync, openSync, readSync } from 'node:fs'

/** Enough for `#!/usr/bin/env -S node` and a few flags */
const SHEBANG_BYTES = 256

/**
 * The Node.js flags an entry point's `#!/usr/bin/env -S node <flags>` line asks for, so that a spawner running
 * `node <entry>` starts it exactly as running the entry itself would. The entry's own first line is the one
 * place those flags are written: node/cli.ts's (--single-threaded-gc, see there) for this build, none for an
 * older build run as "before" by a benchmark.
 */
export function shebangNodeFlags(entry: string): string[] {
  const fd = openSync(entry, 'r')
  const head = Buffer.alloc(SHEBANG_BYTES)
  try {
    readSync(fd, head, 0, SHEBANG_BYTES, 0)
  } finally {
    closeSync(fd)
  }
  const firstLine = head.toString('utf8').split('\n', 1)[0] ?? ''
  if (!firstLine.startsWith('#!')) return []
  const words = firstLine.slice(2).trim().split(/\s+/)
  const node = words.indexOf('node')
  return node === -1 ? [] : words.slice(node + 1)
}
