import { mkdirSync, statSync } from 'node:fs'
import { dirname, resolve } from 'node:path'

/** A folder that could not be made or is not a folder; the message names it and the cause in one line */
export class DirectoryError extends Error {
  readonly path: string
  readonly code?: string

  constructor(path: string, message: string, code?: string) {
    super(message)
    this.name = 'DirectoryError'
    this.path = path
    this.code = code
  }
}

function errnoCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : undefined
}

/**
 * `mkdir -p` that fails once, with the folder it could not make, instead of looping. Node's own recursive mkdir
 * spins at full CPU, forever and silently, where the file system refuses a new folder with ENOENT although its
 * parent exists (Node 20 on /proc: `--data-dir /proc/nope` hung the daemon). Each missing folder from the
 * deepest one that exists down is made with `mode`; one made meanwhile by another process is fine.
 */
export function makeDirectory(path: string, mode = 0o777): void {
  const target = resolve(path)
  const missing: string[] = []
  for (let dir = target; ; dir = dirname(dir)) {
    try {
      if (!statSync(dir).isDirectory()) throw new DirectoryError(dir, `${dir} is not a folder`, 'ENOTDIR')
      break
    } catch (err) {
      if (err instanceof DirectoryError) throw err
      // ENOTDIR: a file on the way up, which the next round names
      const code = errnoCode(err)
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || dirname(dir) === dir) {
        throw new DirectoryError(
          dir,
          `cannot reach ${dir} (${errnoCode(err) ?? String(err)})`,
          errnoCode(err)
        )
      }
      missing.unshift(dir)
    }
  }
  for (const dir of missing) {
    try {
      mkdirSync(dir, { mode })
    } catch (err) {
      const code = errnoCode(err)
      if (code === 'EEXIST' && statSync(dir, { throwIfNoEntry: false })?.isDirectory() === true) continue
      const why =
        code === 'EACCES' || code === 'EPERM'
          ? 'permission denied'
          : code === 'ENOENT'
            ? `${dirname(dir)} takes no new folders`
            : code === 'EROFS'
              ? 'read-only file system'
              : (code ?? String(err))
      throw new DirectoryError(dir, `cannot create the folder ${dir}: ${why}`, code)
    }
  }
}
