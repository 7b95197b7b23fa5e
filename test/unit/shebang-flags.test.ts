import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { findPackageRoot } from '../../src/config/paths.js'
import { shebangNodeFlags } from '../../src/testnet/shebang-flags.js'

describe('shebangNodeFlags', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'proofmesh-shebang-'))
  after(() => rm(dir, { recursive: true, force: true }))

  async function flagsOf(text: string): Promise<string[]> {
    const file = join(dir, 'entry.js')
    await writeFile(file, text)
    return shebangNodeFlags(file)
  }

  it('reads the flags after node on an env -S line', async () => {
    assert.deepEqual(await flagsOf('#!/usr/bin/env -S node --single-threaded-gc --v8-pool-size=1\nrun()\n'), [
      '--single-threaded-gc',
      '--v8-pool-size=1'
    ])
  })

  it('finds none on a plain node line, a line that is not a shebang, or an empty file', async () => {
    assert.deepEqual(await flagsOf('#!/usr/bin/env node\nrun()\n'), [])
    assert.deepEqual(await flagsOf('// --single-threaded-gc node\n'), [])
    assert.deepEqual(await flagsOf(''), [])
  })

  it("finds this build's own entry's flags", () => {
    assert.deepEqual(shebangNodeFlags(join(findPackageRoot(), 'dist', 'node', 'cli.js')), [
      '--single-threaded-gc'
    ])
  })
})
