import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

export const CLI = fileURLToPath(new URL('../../node/cli.js', import.meta.url))
const exec = promisify(execFile)

export interface Run {
  code: number
  stdout: string
  stderr: string
}

/** Runs the proofmesh CLI as a user would, with no config file from the environment */
export async function proofmesh(args: string[], timeoutMs = 60_000): Promise<Run> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [CLI, ...args], {
      timeout: timeoutMs,
      env: { ...process.env, PROOFMESH_CONFIG: '' },
      maxBuffer: 16 * 1024 * 1024
    })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const failed = err as { code?: number; stdout?: string; stderr?: string }
    return {
      code: typeof failed.code === 'number' ? failed.code : -1,
      stdout: failed.stdout ?? '',
      stderr: failed.stderr ?? ''
    }
  }
}
