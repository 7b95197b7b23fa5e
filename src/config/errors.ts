/**
 * Where a configuration value came from, used to name it in error messages.
 * - `file`: the TOML file (path)
 * - `env`: a PROOFMESH_* environment variable (name)
 * - `override`: a value passed by the CLI (dotted camelCase field, e.g. `capacity.advertIntervalMs`)
 */
export type ConfigSource =
  | { kind: 'file'; path: string }
  | { kind: 'env'; variable: string }
  | { kind: 'override'; field: string }
  | { kind: 'resolved' }

export function describeSource(source: ConfigSource): string {
  switch (source.kind) {
    case 'file':
      return source.path
    case 'env':
      return `environment variable ${source.variable}`
    case 'override':
      return `command-line option ${source.field}`
    case 'resolved':
      return 'the merged configuration'
  }
}

export interface ConfigErrorInit {
  /** Dotted TOML key (`capacity.advert_interval`), or the variable name for an unknown PROOFMESH_* variable */
  key: string
  /** The expected form, e.g. `a duration like "5s" or "500ms"` */
  expected: string
  source: ConfigSource
  /** The offending value; left out for unknown keys and unreadable files */
  got?: unknown
  /** Free text replacing the `expected ..., got ...` tail (unknown keys, unreadable files) */
  detail?: string
  cause?: unknown
}

/**
 * Any problem with the configuration: an unknown key, a bad value, an unreadable or malformed file.
 * Callers match on `name === 'ConfigError'` and read `key`/`expected`, never the message.
 */
export class ConfigError extends Error {
  readonly key: string
  readonly expected: string
  readonly source: ConfigSource
  readonly got: unknown

  constructor(init: ConfigErrorInit) {
    const where = describeSource(init.source)
    const tail = init.detail ?? `expected ${init.expected}, got ${showValue(init.got)}`
    super(`${init.key} in ${where}: ${tail}`, init.cause === undefined ? undefined : { cause: init.cause })
    this.name = 'ConfigError'
    this.key = init.key
    this.expected = init.expected
    this.source = init.source
    this.got = init.got
  }
}

/**
 * Thrown by the value parsers, which know the expected form but not the key or the source;
 * the loader turns it into a ConfigError.
 */
export class InvalidValueError extends Error {
  readonly expected: string
  readonly got: unknown

  constructor(expected: string, got: unknown) {
    super(`expected ${expected}, got ${showValue(got)}`)
    this.name = 'InvalidValueError'
    this.expected = expected
    this.got = got
  }
}

/** A short, single-line rendering of a bad value for messages (long values are cut) */
export function showValue(value: unknown): string {
  let text: string
  try {
    text = typeof value === 'bigint' ? value.toString() : (JSON.stringify(value) ?? String(value))
  } catch {
    // a value nested too deep for JSON.stringify (thousands of levels) can overflow String() too
    try {
      text = String(value)
    } catch {
      text = Array.isArray(value) ? '[a deeply nested array]' : `[${typeof value}]`
    }
  }
  return text.length > 120 ? `${text.slice(0, 117)}...` : text
}
