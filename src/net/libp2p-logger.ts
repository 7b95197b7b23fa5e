import { format } from 'node:util'
import type { ComponentLogger, Logger as Libp2pLogger } from '@libp2p/interface'
import type { Logger } from '../log/index.js'

// libp2p formats with debug's extra directives (%p peer id, %a multiaddr, %b/%t bytes, %c cid, %e error);
// each of them prints fine as a string.
function render(formatter: unknown, args: unknown[]): string {
  if (typeof formatter !== 'string') return format(formatter, ...args)
  return format(
    formatter.replace(/%[pabtce]/g, '%s'),
    ...args.map((arg) => (arg instanceof Error ? arg.message : arg))
  )
}

/**
 * Routes libp2p's own debug logging into pino: its ordinary lines at trace, its error lines at debug
 * (libp2p logs every failed dial or reset stream as an error, which is routine on a live network).
 */
export function pinoComponentLogger(root: Logger): ComponentLogger {
  const child = (name: string): Libp2pLogger => {
    const logger = root.child({ libp2p: name })
    const log = ((formatter: unknown, ...args: unknown[]) => {
      if (logger.isLevelEnabled('trace')) logger.trace(render(formatter, args))
    }) as Libp2pLogger
    log.trace = log
    log.error = (formatter: unknown, ...args: unknown[]) => {
      if (logger.isLevelEnabled('debug')) logger.debug(render(formatter, args))
    }
    log.enabled = logger.isLevelEnabled('trace')
    log.newScope = (scope: string) => child(`${name}:${scope}`)
    return log
  }
  return { forComponent: child }
}
