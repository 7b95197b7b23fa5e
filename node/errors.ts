/** A failure the user can act on: printed as one line, no stack, with its exit code */
export class CliError extends Error {
  readonly exitCode: number

  constructor(message: string, exitCode = 1) {
    super(message)
    this.name = 'CliError'
    this.exitCode = exitCode
  }
}

/** The exit code of a command called wrong: a bad flag value, an id the daemon has no job of */
export const USAGE_EXIT_CODE = 2

/** A usage error: the command was called wrong (exit 2) */
export function usage(message: string): CliError {
  return new CliError(message, USAGE_EXIT_CODE)
}
