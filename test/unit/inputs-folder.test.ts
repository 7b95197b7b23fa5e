import assert from 'node:assert/strict'
import { chmod, mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import {
  type InputPathErrorCode,
  InputPathError,
  localInputMessage,
  resolveInputName
} from '../../src/files/inputs-folder.js'

describe('resolveInputName', () => {
  let root: string
  let folder: string
  let outside: string

  before(async () => {
    root = await realpath(await mkdtemp(join(tmpdir(), 'pm-inputs-')))
    folder = join(root, 'inputs')
    outside = join(root, 'secret')
    await mkdir(join(folder, 'nested', 'deeper'), { recursive: true })
    await writeFile(join(folder, 'a.bin'), 'hello')
    await writeFile(join(folder, '..dots'), 'x')
    await writeFile(join(folder, 'nested', 'deeper', 'b.bin'), 'nested bytes')
    await writeFile(join(folder, 'empty'), '')
    await writeFile(outside, 'do not read')
    await symlink(outside, join(folder, 'out-link'))
    await symlink(root, join(folder, 'out-dir'))
    await symlink(join(folder, 'a.bin'), join(folder, 'in-link'))
    await symlink('nested', join(folder, 'in-dir'))
    await symlink(join(root, 'nowhere'), join(folder, 'dangling'))
  })

  after(async () => {
    await rm(root, { recursive: true, force: true })
  })

  async function refused(name: string, code: InputPathErrorCode): Promise<InputPathError> {
    const err = await resolveInputName(folder, name).then(
      () => assert.fail(`${JSON.stringify(name)} was accepted`),
      (e: unknown) => e
    )
    assert.ok(err instanceof InputPathError, `${String(err)}`)
    assert.equal(err.name, 'InputPathError')
    assert.equal(err.code, code, err.message)
    assert.ok(!err.message.includes('\n'), 'one line')
    assert.ok(!err.message.includes(folder), `keeps where the folder is to itself: ${err.message}`)
    assert.equal(err.folder, folder)
    return err
  }

  it('resolves a file in the folder to its real path and size', async () => {
    assert.deepEqual(await resolveInputName(folder, 'a.bin'), { path: join(folder, 'a.bin'), size: 5 })
    assert.deepEqual(await resolveInputName(folder, '..dots'), { path: join(folder, '..dots'), size: 1 })
  })

  it('resolves a nested file', async () => {
    const file = join(folder, 'nested', 'deeper', 'b.bin')
    assert.deepEqual(await resolveInputName(folder, 'nested/deeper/b.bin'), { path: file, size: 12 })
    assert.deepEqual(await resolveInputName(folder, 'nested/../nested/deeper/b.bin'), {
      path: file,
      size: 12
    })
  })

  it('follows a symlink that stays inside the folder', async () => {
    assert.deepEqual(await resolveInputName(folder, 'in-link'), { path: join(folder, 'a.bin'), size: 5 })
    assert.deepEqual(await resolveInputName(folder, 'in-dir/deeper/b.bin'), {
      path: join(folder, 'nested', 'deeper', 'b.bin'),
      size: 12
    })
  })

  it('refuses ../ escapes and absolute paths', async () => {
    const err = await refused('../secret', 'OUTSIDE_FOLDER')
    // the message goes to the submitter, another machine: it names the input, not where this folder is
    assert.equal(err.message, 'input "../secret" is outside the inputs folder')
    assert.equal(err.folder, folder)
    assert.equal(localInputMessage(err), `input "../secret" is outside the inputs folder (${folder})`)
    await refused('../x', 'OUTSIDE_FOLDER')
    await refused('nested/../../secret', 'OUTSIDE_FOLDER')
    await refused('..', 'OUTSIDE_FOLDER')
    await refused('/etc/passwd', 'OUTSIDE_FOLDER')
    await refused(outside, 'OUTSIDE_FOLDER')
  })

  it('refuses a symlink anywhere on the path that leads outside', async () => {
    await refused('out-link', 'OUTSIDE_FOLDER')
    await refused('out-dir/secret', 'OUTSIDE_FOLDER')
  })

  it('refuses a directory, a missing file and an empty file', async () => {
    await refused('nested', 'NOT_A_FILE')
    await refused('.', 'NOT_A_FILE')
    await refused('missing.bin', 'NOT_FOUND')
    await refused('a.bin/x', 'NOT_FOUND')
    await refused('dangling', 'NOT_FOUND')
    await refused('empty', 'EMPTY')
  })

  it('refuses NUL bytes, empty names and names over 255 bytes', async () => {
    await refused('a.bin\0.txt', 'BAD_NAME')
    await refused('', 'BAD_NAME')
    await refused('x'.repeat(256), 'BAD_NAME')
    // 128 two-byte characters: 256 bytes
    await refused('é'.repeat(128), 'BAD_NAME')
    await refused('x'.repeat(255), 'NOT_FOUND')
  })

  it(
    'refuses a file it cannot read',
    { skip: process.getuid?.() === 0 ? 'root reads anything' : false },
    async () => {
      const file = join(folder, 'locked')
      await writeFile(file, 'locked')
      await chmod(file, 0o000)
      try {
        await refused('locked', 'UNREADABLE')
      } finally {
        await chmod(file, 0o600)
      }
    }
  )
})
