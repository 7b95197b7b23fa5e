import type { Logger } from '../src/log/index.js'

/**
 * Graceful shutdown on SIGINT/SIGTERM: the first signal stops cleanly (leases released, API address removed),
 * a second one forces the exit for an operator who will not wait.
 */
export function onShutdownSignals(logger: Logger, stop: () => Promise<void>): void {
  let stopping = false
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now')
      process.exit(130)
    }
    stopping = true
    logger.info({ signal }, 'shutting down (send the signal again to force)')
    stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed')
        process.exit(1)
      }
    )
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
}
