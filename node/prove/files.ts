/** `proofmesh prove`: the local files it reads or writes, checked before the job is submitted */
import { access, constants, stat } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import type { JobRequestBody } from '../../src/job/request.js'
import { CliError, usage } from '../errors.js'

/** What the submitter will read itself: a data-mode input and a hints file must be readable, regular, and there */
export async function checkProveFiles(body: JobRequestBody): Promise<void> {
  if (body.inputMode === 'data') await checkReadableFile('--inputs', body.input, true)
  if (body.hints?.kind === 'file') await checkReadableFile('--hints', body.hints.path, false)
}

/** A file this machine must read: there, a regular file, readable, and (nonEmpty) not empty */
export async function checkReadableFile(flag: string, path: string, nonEmpty: boolean): Promise<void> {
  let size: number
  try {
    const stats = await stat(path)
    if (!stats.isFile()) throw usage(`${flag} ${path} is not a regular file`)
    size = stats.size
    await access(path, constants.R_OK)
  } catch (err) {
    if (err instanceof CliError) throw err
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw usage(`${flag} ${path}: no such file`)
    if (code === 'EACCES') throw usage(`${flag} ${path}: not readable`)
    throw usage(`${flag} ${path}: ${(err as Error).message}`)
  }
  if (nonEmpty && size === 0) throw usage(`${flag} ${path} is empty`)
}

/** --out FILE: its folder exists and is writable */
export async function checkOutDir(out: string): Promise<void> {
  const dir = dirname(resolve(out))
  try {
    if (!(await stat(dir)).isDirectory()) throw usage(`--out ${out}: ${dir} is not a folder`)
    await access(dir, constants.W_OK)
  } catch (err) {
    if (err instanceof CliError) throw err
    throw usage(`--out ${out}: cannot write into ${dir}`)
  }
}
