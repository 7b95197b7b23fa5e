/**
 * The NPP conformance kit: runs a prover through every method and notification of protocols/native-prover.md and
 * gives each check a verdict. A check that passes its deadline has its prover killed and fails; the kit goes on
 * with a fresh prover, so a hung one never hangs the kit.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { allChecks } from './checks.js'
import { CheckFailed, CheckSkipped, KitContext } from './context.js'

export type CheckStatus = 'pass' | 'fail' | 'skip'

export interface CheckVerdict {
  name: string
  /** The section of protocols/native-prover.md the check holds the prover to */
  section: string
  status: CheckStatus
  /** Why it failed or was skipped */
  detail?: string
  millis: number
}

export interface KitRunOptions {
  /** The prover's argv, run without a shell */
  command: string[]
  /** Deadline of one check, and of each work call within it */
  checkTimeoutMs?: number
  /** Called with each verdict as it comes, for a live table */
  onVerdict?: (verdict: CheckVerdict) => void
}

export const kitDefaults = {
  /** A segment prove of the reference prover's largest segment takes tens of seconds on a busy machine */
  checkTimeoutMs: 300_000
}

async function verdictOf(
  ctx: KitContext,
  run: () => Promise<void>,
  timeoutMs: number
): Promise<[CheckStatus, string?]> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new CheckFailed(`no verdict within ${timeoutMs} ms: the prover was killed`)),
      timeoutMs
    )
  })
  try {
    await Promise.race([run(), deadline])
    return ['pass']
  } catch (err) {
    if (err instanceof CheckSkipped) return ['skip', err.message]
    // a timed-out or dead prover is not trusted with the next check
    await ctx.killSession()
    return ['fail', err instanceof Error ? err.message : String(err)]
  } finally {
    clearTimeout(timer)
  }
}

/** Runs every check in order; the verdicts, one per check */
export async function runProverKit(options: KitRunOptions): Promise<CheckVerdict[]> {
  const timeoutMs = options.checkTimeoutMs ?? kitDefaults.checkTimeoutMs
  const workDir = await mkdtemp(join(tmpdir(), 'proofmesh-prover-check-'))
  const ctx = new KitContext({ command: options.command, callTimeoutMs: timeoutMs, workDir })
  const verdicts: CheckVerdict[] = []
  try {
    for (const check of allChecks()) {
      const started = Date.now()
      const [status, detail] = await verdictOf(ctx, async () => await check.run(ctx), timeoutMs)
      const verdict: CheckVerdict = {
        name: check.name,
        section: check.section,
        status,
        millis: Date.now() - started
      }
      if (detail !== undefined) verdict.detail = detail
      verdicts.push(verdict)
      options.onVerdict?.(verdict)
    }
  } finally {
    await Promise.all(ctx.sessions.map(async (session) => await session.close(0)))
    await rm(workDir, { recursive: true, force: true })
  }
  return verdicts
}
