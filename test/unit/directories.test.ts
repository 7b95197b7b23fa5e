import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { DirectoryError, makeDirectory } from '../../src/config/directories.js'

describe('makeDirectory: mkdir -p that fails once instead of looping', () => {
  let root: string

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'proofmesh-dirs-'))
  })

  after(async () => rm(root, { recursive: true, force: true }))

  function refused(path: string): DirectoryError {
    try {
      makeDirectory(path)
    } catch (err) {
      assert.ok(err instanceof DirectoryError, String(err))
      assert.ok(!err.message.includes('\n'))
      return err
    }
    assert.fail(`${path} was made`)
  }

  it('makes every missing folder with the mode given, and takes one that is there', async () => {
    const deep = join(root, 'a', 'b', 'c')
    makeDirectory(deep, 0o700)
    for (const dir of [join(root, 'a'), join(root, 'a', 'b'), deep]) {
      assert.equal((await stat(dir)).mode & 0o777, 0o700, dir)
    }
    makeDirectory(deep, 0o700)
    makeDirectory(root)
  })

  it('names a file in the way', async () => {
    const file = join(root, 'file')
    await writeFile(file, '')
    assert.equal(refused(file).message, `${file} is not a folder`)
    const below = refused(join(file, 'x', 'y'))
    assert.equal(below.message, `${file} is not a folder`)
    assert.equal(below.path, file)
  })

  it('fails at once where the file system takes no new folder (Node\u2019s own loops forever on /proc)', () => {
    if (!existsSync('/proc/self')) return
    const err = refused('/proc/nope/deeper')
    assert.equal(err.message, 'cannot create the folder /proc/nope: /proc takes no new folders')
    assert.equal(err.code, 'ENOENT')
  })
})
