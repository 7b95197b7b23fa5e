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
 * pino-pretty pipes its output into the destination (pump), which adds close, finish, error, end and unpipe
 * listeners to that destination for as long as it lives: a pretty stream per logger piled them on stderr (eleven
 * loggers in one process, as the job-run tests make, tripped Node's MaxListenersExceeded warning). One pretty stream
 * per destination, shared by every logger that writes there, adds them once.
 */
const prettyStreams = new WeakMap<NodeJS.WritableStream, DestinationStream>()

function prettyStream(destination: NodeJS.WritableStream): DestinationStream {
  let stream = prettyStreams.get(destination)
  if (stream === undefined) {
    stream = pretty({
      destination,
      colorize: false,
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname',
      sync: true
    })
    prettyStreams.set(destination, stream)
  }
  return stream
}

/**
 * The process-wide root logger. Components take a child with `{ component }` and add
 * `{ job, peer, phase }` context per call site.
 */
export function createLogger(init: LoggerInit = {}): Logger {
  const level = init.level ?? loggerDefaults.level
  const format = init.format ?? loggerDefaults.format
  const destination = init.destination ?? process.stderr
  const console: DestinationStream = format === 'pretty' ? prettyStream(destination) : destination
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
