import { copyFile, mkdtemp, rename, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { loadConfig } from '../../src/config/index.js'
import { Daemon } from '../../src/daemon/daemon.js'
import { JobRefusedError, JobRequestError } from '../../src/job/request.js'
import type { JobService } from '../../src/job/service.js'
import { followJobEvents } from '../../src/jobs-model/follow.js'
import type { JobRecord } from '../../src/jobs-model/types.js'
import { createLogger } from '../../src/log/index.js'
import { CliError } from '../errors.js'
import type { JobSession } from './session.js'

/** `proofmesh prove --ephemeral`: a submitter that lives for one job, with no daemon */
export interface EphemeralOptions {
  bootstrap: string[]
  swarmKey?: string
  dataDir?: string
  out?: string
  saveProof: boolean
  json: boolean
  wait: true
}

/**
 * Runs `request` (the POST /v1/jobs body) on a short-lived node joined through `options.bootstrap`: it offers no
 * units of its own, plans and verifies on its own prover, coordinates the job like any daemon, saves the proof
 * (to --out, or `<job id>.proof` here when it has no data dir to keep it in) and leaves.
 */
export async function runEphemeralProve(
  request: Record<string, unknown>,
  options: EphemeralOptions,
  follow: (session: JobSession) => Promise<number>
): Promise<number> {
  const scratch =
    options.dataDir === undefined ? await mkdtemp(join(tmpdir(), 'proofmesh-ephemeral-')) : undefined
  const config = await loadConfig({
    overrides: {
      dataDir: options.dataDir ?? scratch,
      net: {
        listen: ['/ip4/0.0.0.0/tcp/0'],
        bootstrap: options.bootstrap,
        ...(options.swarmKey === undefined ? {} : { swarmKey: options.swarmKey })
      },
      capacity: { offer: false },
      log: { level: process.env.PROOFMESH_LOG_LEVEL === undefined ? 'error' : 'info' }
    }
  })
  const logger = createLogger({ level: config.log.level, format: 'json' })
  const daemon = new Daemon({ config, logger, api: false })
  const stopDaemon = async (): Promise<void> => {
    await daemon.stop().catch(() => undefined)
    if (scratch !== undefined) await rm(scratch, { recursive: true, force: true })
  }
  try {
    await daemon.start()
  } catch (err) {
    await stopDaemon()
    throw new CliError(`the ephemeral peer did not start: ${(err as Error).message}`)
  }
  const onSignal = (): void => {
    process.stderr.write('\ninterrupted: cancelling the job and leaving the network\n')
    void stopDaemon().finally(() => process.exit(130))
  }
  process.once('SIGINT', onSignal)
  try {
    const jobs = daemon.jobs as JobService
    let record: JobRecord
    try {
      record = await jobs.submit(request)
    } catch (err) {
      if (err instanceof JobRequestError) throw new CliError(err.message, 2)
      if (err instanceof JobRefusedError) throw new CliError(err.message, err.status === 400 ? 2 : 1)
      throw err
    }
    const session: JobSession = {
      events: () => followJobEvents(jobs, record.id),
      job: async () => jobs.get(record.id) ?? record,
      downloadProof: async (file) => {
        const path = jobs.proofPath(record.id)
        if (path === undefined) throw new CliError(`job ${record.id} has no proof`)
        const temporary = `${file}.tmp-${process.pid}`
        await copyFile(path, temporary)
        await rename(temporary, file)
      },
      close: stopDaemon
    }
    const code = await follow(session)
    // With no --out and a throwaway data dir, the proof would leave with the peer: keep it here
    if (code === 0 && options.out === undefined && scratch !== undefined) {
      const file = resolve(`${record.id}.proof`)
      await session.downloadProof(file)
      process.stderr.write(`proof saved to ${file}\n`)
    }
    return code
  } finally {
    process.off('SIGINT', onSignal)
    await stopDaemon()
  }
}
