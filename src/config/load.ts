import { readFile, stat } from 'node:fs/promises'
import { homedir } from 'node:os'
import { dirname } from 'node:path'
import { parse, TomlError } from 'smol-toml'
import { resolveDefaults, setField } from './defaults.js'
import { ConfigError, type ConfigSource, InvalidValueError } from './errors.js'
import {
  ENV_CONFIG_PATH,
  ENV_PREFIX,
  ENV_RESERVED_PREFIX,
  type SchemaEntry,
  type SectionName,
  schemaEntries,
  sectionNames
} from './schema.js'
import type { ConfigOverrides, ProofmeshConfig } from './types.js'
import { expandPath, type ParseContext, type ValueType } from './values.js'

export interface LoadConfigOptions {
  /** From CLI flags; win over everything else */
  overrides?: ConfigOverrides
  /** TOML file to read; defaults to $PROOFMESH_CONFIG; a missing file is an error */
  configPath?: string
  /** Defaults to process.env */
  env?: NodeJS.ProcessEnv
}

/** Config files are a few KiB; refuse anything that is clearly not one */
const MAX_CONFIG_FILE_BYTES = 1024 * 1024

const byDotted = new Map(schemaEntries.map((e) => [e.dotted, e]))
const byEnvVar = new Map(schemaEntries.map((e) => [e.envVar, e]))
const sectionSet = new Set<string>(sectionNames)

/**
 * Resolves the configuration: defaults, then PROOFMESH_* variables, then the TOML file,
 * then overrides. Throws ConfigError on an unknown key, a bad value or an unreadable file.
 */
export async function loadConfig(opts: LoadConfigOptions = {}): Promise<ProofmeshConfig> {
  const env = opts.env ?? process.env
  const home = env.HOME !== undefined && env.HOME !== '' ? env.HOME : homedir()
  const cwdCtx: ParseContext = { baseDir: process.cwd(), home }

  const config = resolveDefaults(cwdCtx)
  applyEnv(config, env, cwdCtx)

  const envPath = env[ENV_CONFIG_PATH]
  const configPath = opts.configPath ?? (envPath !== undefined && envPath !== '' ? envPath : undefined)
  if (configPath !== undefined) {
    const path = expandPath(configPath, cwdCtx)
    const table = await readToml(path)
    applyFile(config, table, path, { baseDir: dirname(path), home })
  }

  if (opts.overrides !== undefined) {
    applyOverrides(config, opts.overrides, cwdCtx)
  }
  checkResolved(config)
  return config
}

function parseWith(
  entry: SchemaEntry,
  source: ConfigSource,
  parse: (type: ValueType<unknown>) => unknown
): unknown {
  try {
    return parse(entry.def.type)
  } catch (err) {
    if (err instanceof InvalidValueError) {
      throw new ConfigError({ key: entry.dotted, expected: err.expected, got: err.got, source })
    }
    throw err
  }
}

function applyEnv(config: ProofmeshConfig, env: NodeJS.ProcessEnv, ctx: ParseContext): void {
  for (const [variable, text] of Object.entries(env)) {
    if (
      !variable.startsWith(ENV_PREFIX) ||
      variable.startsWith(ENV_RESERVED_PREFIX) ||
      variable === ENV_CONFIG_PATH ||
      text === undefined
    ) {
      continue
    }
    const source: ConfigSource = { kind: 'env', variable }
    const entry = byEnvVar.get(variable)
    if (entry === undefined) {
      throw unknownKey(variable, source, [...byEnvVar.keys(), ENV_CONFIG_PATH], 'PROOFMESH_* variables')
    }
    setField(
      config,
      entry,
      parseWith(entry, source, (type) => type.fromEnv(text, ctx))
    )
  }
}

async function readToml(path: string): Promise<Record<string, unknown>> {
  const source: ConfigSource = { kind: 'file', path }
  const expected = 'a readable TOML file'
  let text: string
  try {
    const info = await stat(path)
    if (!info.isFile() || info.size > MAX_CONFIG_FILE_BYTES) {
      throw new ConfigError({
        key: 'config',
        expected,
        source,
        detail: info.isFile()
          ? `config file larger than ${MAX_CONFIG_FILE_BYTES} bytes`
          : 'not a regular file'
      })
    }
    text = await readFile(path, 'utf8')
  } catch (err) {
    if (err instanceof ConfigError) throw err
    const code = (err as NodeJS.ErrnoException).code ?? String(err)
    const detail = code === 'ENOENT' ? 'config file not found' : `cannot read the config file (${code})`
    throw new ConfigError({ key: 'config', expected, source, detail, cause: err })
  }
  try {
    return parse(text, { unsafeKeyBehaviour: 'throw' })
  } catch (err) {
    if (err instanceof TomlError) {
      const reason = err.message.split('\n')[0] ?? 'invalid TOML'
      throw new ConfigError({
        key: 'config',
        expected,
        source,
        detail: `invalid TOML at line ${err.line}, column ${err.column}: ${reason}`,
        cause: err
      })
    }
    throw err
  }
}

function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date)
}

function applyFile(
  config: ProofmeshConfig,
  table: Record<string, unknown>,
  path: string,
  ctx: ParseContext
): void {
  const source: ConfigSource = { kind: 'file', path }
  for (const [key, value] of Object.entries(table)) {
    if (sectionSet.has(key)) {
      if (!isTable(value)) {
        throw new ConfigError({ key, expected: `a [${key}] table`, got: value, source })
      }
      for (const [inner, innerValue] of Object.entries(value)) {
        const dotted = `${key}.${inner}`
        const entry = byDotted.get(dotted)
        if (entry === undefined) {
          throw unknownFileKey(dotted, key as SectionName, source)
        }
        setField(
          config,
          entry,
          parseWith(entry, source, (type) => type.fromToml(innerValue, ctx))
        )
      }
      continue
    }
    const entry = byDotted.get(key)
    if (entry === undefined || entry.section !== null) {
      throw unknownFileKey(key, null, source)
    }
    setField(
      config,
      entry,
      parseWith(entry, source, (type) => type.fromToml(value, ctx))
    )
  }
}

function unknownFileKey(dotted: string, section: SectionName | null, source: ConfigSource): ConfigError {
  const candidates = schemaEntries.filter((e) => e.section === section).map((e) => e.def.key)
  const name = section === null ? dotted : dotted.slice(section.length + 1)
  if (section === null) {
    candidates.push(...sectionNames.map((s) => `[${s}]`))
  } else if (byDotted.get(name)?.section === null) {
    // `data_dir = ...` written under a [section] lands inside that section in TOML
    return new ConfigError({
      key: dotted,
      expected: `${name} at the top of the file`,
      source,
      detail: `unknown key; ${name} is a top-level key and must come before the first [section]`
    })
  }
  const where = section === null ? 'at the top level' : `in [${section}]`
  return unknownKey(dotted, source, candidates, `keys ${where}`, name)
}

function applyOverrides(config: ProofmeshConfig, overrides: ConfigOverrides, ctx: ParseContext): void {
  const fieldsOf = (section: SectionName | null) => schemaEntries.filter((e) => e.section === section)
  for (const [key, value] of Object.entries(overrides) as [string, unknown][]) {
    if (value === undefined) continue
    if (sectionSet.has(key)) {
      const section = key as SectionName
      if (!isTable(value)) {
        throw new ConfigError({
          key: section,
          expected: 'an object of fields',
          got: value,
          source: { kind: 'override', field: section }
        })
      }
      for (const [field, inner] of Object.entries(value)) {
        if (inner === undefined) continue
        const source: ConfigSource = { kind: 'override', field: `${section}.${field}` }
        const entry = fieldsOf(section).find((e) => e.field === field)
        if (entry === undefined) {
          const names = fieldsOf(section).map((e) => e.field)
          throw unknownKey(`${section}.${field}`, source, names, `fields of ${section}`, field)
        }
        setField(
          config,
          entry,
          parseWith(entry, source, (type) => type.fromOverride(inner, ctx))
        )
      }
      continue
    }
    const source: ConfigSource = { kind: 'override', field: key }
    const entry = fieldsOf(null).find((e) => e.field === key)
    if (entry === undefined) {
      const names = [...fieldsOf(null).map((e) => e.field), ...sectionNames]
      throw unknownKey(key, source, names, 'top-level fields')
    }
    setField(
      config,
      entry,
      parseWith(entry, source, (type) => type.fromOverride(value, ctx))
    )
  }
}

/** Rules that involve more than one key, checked once every source is merged */
function checkResolved(config: ProofmeshConfig): void {
  if (config.prover.backend === 'cli') {
    for (const [key, value] of [
      ['prover.cli_prove', config.prover.cliProve],
      ['prover.cli_verify', config.prover.cliVerify]
    ] as const) {
      if (value.trim() === '') {
        throw new ConfigError({
          key,
          expected: 'a command template when prover.backend = "cli"',
          got: value,
          source: { kind: 'resolved' }
        })
      }
    }
  }
}

function unknownKey(
  key: string,
  source: ConfigSource,
  candidates: readonly string[],
  what: string,
  name: string = key
): ConfigError {
  const guess = closest(name, candidates)
  const unknown = source.kind === 'env' ? 'unknown variable' : 'unknown key'
  const detail =
    guess !== undefined
      ? `${unknown}, did you mean ${guess}?`
      : `${unknown}; expected one of the ${what}: ${candidates.join(', ')}`
  return new ConfigError({ key, expected: `one of the ${what}`, source, detail })
}

/** The candidate within a small edit distance of name, if any */
function closest(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined
  let bestDistance = Math.max(2, Math.floor(name.length / 4)) + 1
  for (const candidate of candidates) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase())
    if (distance < bestDistance) {
      best = candidate
      bestDistance = distance
    }
  }
  return best
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1)
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution)
    }
    previous = current
  }
  return previous[b.length] ?? 0
}
