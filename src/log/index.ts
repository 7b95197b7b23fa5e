import { createWriteStream } from 'node:fs'
import { pino, type Logger, type LevelWithSilent, type DestinationStream } from 'pino'
import pretty from 'pino-pretty'

export type { Logger } from 'pino'

export type LogFormat = 'pretty' | 'json'

export interface LoggerInit {
  level?: LevelWithSilent
  format?: LogFormat
  /** Also append JSON lines to this file */
  file?: string
  /** Where pretty or json lines go; defaults to stderr so stdout stays free for command output */
  destination?: NodeJS.WritableStream
}

export const loggerDefaults = {
  level: 'info' as LevelWithSilent,
  format: 'pretty' as LogFormat
}

/**
 * The process-wide root logger. Components take a child with `{ component }` and add
 * `{ job, peer, phase }` context per call site.
 */
export function createLogger(init: LoggerInit = {}): Logger {
  const level = init.level ?? loggerDefaults.level
  const format = init.format ?? loggerDefaults.format
  const destination = init.destination ?? process.stderr
  const console: DestinationStream =
    format === 'pretty'
      ? pretty({
          destination,
          colorize: false,
          translateTime: 'SYS:HH:MM:ss.l',
          ignore: 'pid,hostname',
          sync: true
        })
      : destination
  if (init.file === undefined) {
    return pino({ level, base: undefined }, console)
  }
  const file = createWriteStream(init.file, { flags: 'a' })
  return pino(
    { level, base: undefined },
    pino.multistream([
      { stream: console, level },
      { stream: file, level }
    ])
  )
}
