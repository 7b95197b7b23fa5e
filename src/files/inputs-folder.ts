/**
 * Path-mode inputs: the submitter names a file, and every peer reads that name inside its own inputs folder.
 * The name comes from the network, so nothing it says may reach a file outside the folder.
 */
import { constants } from 'node:fs'
import { access, realpath, stat } from 'node:fs/promises'
import { isAbsolute, relative, resolve, sep } from 'node:path'

export type InputPathErrorCode =
  'OUTSIDE_FOLDER' | 'NOT_FOUND' | 'NOT_A_FILE' | 'UNREADABLE' | 'EMPTY' | 'BAD_NAME'

/**
 * A path-mode input name this peer will not read; callers match on `code`. The message names the input but not
 * where the folder is: it goes to the submitter, another machine. `folder` is for this machine's own messages.
 */
export class InputPathError extends Error {
  override name = 'InputPathError'
  readonly code: InputPathErrorCode
  /** The inputs folder the name was looked up in (absolute) */
  readonly folder: string

  constructor(code: InputPathErrorCode, message: string, folder: string) {
    super(message)
    this.code = code
    this.folder = folder
  }
}

/** The longest name accepted, in UTF-8 bytes (a file name's limit on common file systems) */
export const MAX_INPUT_NAME_BYTES = 255

/** How much of a name goes into a message */
const SHOWN_NAME_CHARS = 80

/** A name as messages show it: quoted and escaped (one line whatever it holds), long ones cut */
function show(name: string): string {
  const cut = name.length > SHOWN_NAME_CHARS ? `${name.slice(0, SHOWN_NAME_CHARS)}…` : name
  return JSON.stringify(cut)
}

/** True when `child` (absolute) is `parent` or lies below it */
function inside(parent: string, child: string): boolean {
  const rel = relative(parent, child)
  // '..foo' is a file inside; '..' and '../x' are not; on Windows another drive gives an absolute path
  return !(rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel))
}

function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string'
    ? err.code
    : undefined
}

/**
 * Resolves a path-mode input name to an absolute file inside `folder`; refuses '../' escapes, absolute paths,
 * a symlink (anywhere on the path) that leads outside the folder, NUL bytes, empty names, names over 255
 * bytes; a directory, a missing or unreadable file, an empty file. Returns the real path (symlinks resolved,
 * so later reads do not follow them again) and its size. Throws InputPathError only.
 */
export async function resolveInputName(
  folder: string,
  name: string
): Promise<{ path: string; size: number }> {
  const where = resolve(folder)
  const fail = (code: InputPathErrorCode, what: string): InputPathError =>
    new InputPathError(code, `input ${show(name)} ${what}`, where)

  if (typeof name !== 'string' || name.length === 0)
    throw fail('BAD_NAME', 'is empty: name a file in the inputs folder')
  if (name.includes('\0')) throw fail('BAD_NAME', 'holds a NUL byte: name a file in the inputs folder')
  if (Buffer.byteLength(name, 'utf8') > MAX_INPUT_NAME_BYTES) {
    throw fail('BAD_NAME', `is longer than ${MAX_INPUT_NAME_BYTES} bytes: name a file in the inputs folder`)
  }
  // Refused before the file system is asked, so that a probe learns nothing about what exists outside
  if (isAbsolute(name) || !inside(where, resolve(where, name)))
    throw fail('OUTSIDE_FOLDER', 'is outside the inputs folder')

  let realFolder: string
  try {
    realFolder = await realpath(where)
  } catch (err) {
    throw new InputPathError(
      'NOT_FOUND',
      `input ${show(name)}: the inputs folder cannot be opened (${errnoCode(err) ?? 'no error code'})`,
      where
    )
  }
  let target: string
  try {
    // Every symlink on the way is followed: only where it finally leads counts
    target = await realpath(resolve(realFolder, name))
  } catch (err) {
    const code = errnoCode(err)
    if (code === 'EACCES' || code === 'EPERM') throw fail('UNREADABLE', 'cannot be read in the inputs folder')
    if (code === 'ELOOP') throw fail('BAD_NAME', 'is a symlink loop in the inputs folder')
    // ENOENT, ENOTDIR (a file used as a folder), a dangling symlink
    throw fail('NOT_FOUND', 'does not exist in the inputs folder')
  }
  if (!inside(realFolder, target))
    throw fail('OUTSIDE_FOLDER', 'leads (through a symlink) outside the inputs folder')

  let size: number
  try {
    const st = await stat(target)
    if (!st.isFile()) {
      throw fail(
        'NOT_A_FILE',
        st.isDirectory() ? 'is a directory in the inputs folder' : 'is not a file in the inputs folder'
      )
    }
    size = st.size
    await access(target, constants.R_OK)
  } catch (err) {
    if (err instanceof InputPathError) throw err
    const code = errnoCode(err)
    if (code === 'ENOENT') throw fail('NOT_FOUND', 'does not exist in the inputs folder')
    throw fail('UNREADABLE', 'cannot be read in the inputs folder')
  }
  if (size === 0) throw fail('EMPTY', 'is an empty file in the inputs folder')
  return { path: target, size }
}

/** A refusal as this machine's own user reads it, the folder named: `… in the inputs folder (/srv/inputs)` */
export function localInputMessage(err: unknown): string {
  if (err instanceof InputPathError) return `${err.message} (${err.folder})`
  return err instanceof Error ? err.message : String(err)
}
