/** `prove --wait`: follows a job to its end, showing its progress, then fetches and checks the proof */
import { resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { isTerminal } from '../../src/jobs-model/states.js'
import { sha256File } from '../../src/sha256-file.js'
import { CliError } from '../errors.js'
import { formatEventLine } from './event-line.js'
import { formatJobEnd, formatJobSummary } from './outcome.js'
import { JobProgress } from './progress-view.js'
import type { JobSession } from './session.js'
import { redrawText } from './terminal.js'

/** Where followJob writes: process.stdout and process.stderr, or anything with a write(text) */
export interface TextOutput {
  write(text: string): unknown
}

export interface FollowOptions {
  json: boolean
  /** Download the final proof here */
  out?: string
  /** Draw the live view (stderr is a terminal) instead of one line per event */
  tty: boolean
  columns?: number
  stdout: TextOutput
  stderr: TextOutput
  /** How often the live view redraws and refreshes the record */
  redrawMs?: number
}

/**
 * `prove --wait` over any JobSession: shows the job's progress on stderr until it ends, then downloads the proof
 * (with --out) and prints the outcome on stdout. Resolves with the exit code: 0 succeeded, 1 failed or cancelled.
 */
export async function followJob(session: JobSession, options: FollowOptions): Promise<number> {
  const first = await session.job()
  const view = new JobProgress(first.id)
  view.update(first)
  let drawn = 0
  let timer: NodeJS.Timeout | undefined
  let lastRefresh = 0
  let refreshing = false
  const draw = (): void => {
    const lines = view.lines(Date.now(), options.columns)
    options.stderr.write(redrawText(drawn, lines))
    drawn = lines.length
  }
  const refresh = (force = false): void => {
    const now = Date.now()
    if (refreshing || (!force && now - lastRefresh < (options.redrawMs ?? 1000) / 2)) return
    refreshing = true
    lastRefresh = now
    session.job().then(
      (record) => {
        refreshing = false
        view.update(record)
        draw()
      },
      () => {
        refreshing = false
      }
    )
  }
  if (options.tty) {
    draw()
    timer = setInterval(() => refresh(true), options.redrawMs ?? 1000)
  }
  try {
    for await (const event of session.events()) {
      if (!options.tty) {
        options.stderr.write(`${formatEventLine(event, first.createdAt)}\n`)
        continue
      }
      view.apply(event)
      draw()
      if (event.kind !== 'progress' && event.kind !== 'log') refresh()
    }
  } finally {
    clearInterval(timer)
  }
  let record = await session.job()
  // The stream ends once the job is over; a record a moment behind it is waited for, not trusted
  for (let tries = 0; !isTerminal(record.state) && tries < 30; tries++) {
    await sleep(500)
    record = await session.job()
  }
  if (options.tty) {
    view.update(record)
    draw()
  }
  if (record.state !== 'succeeded') {
    if (options.json) options.stdout.write(`${JSON.stringify(record, null, 2)}\n`)
    options.stderr.write(`${formatJobEnd(record)}\n`)
    return 1
  }
  let savedTo: string | undefined
  if (options.out !== undefined) {
    savedTo = resolve(options.out)
    await session.downloadProof(savedTo)
    if (record.proof !== undefined && (await sha256File(savedTo)) !== record.proof.sha256) {
      throw new CliError(
        `the proof saved to ${savedTo} does not match the job's sha256 ${record.proof.sha256}`
      )
    }
  }
  options.stdout.write(
    options.json ? `${JSON.stringify(record, null, 2)}\n` : `${formatJobSummary(record, savedTo)}\n`
  )
  return 0
}
