import type { SchemaEntry } from './schema.js'
import { schemaEntries } from './schema.js'
import type { ProofmeshConfig } from './types.js'
import { defaultParseContext, type ParseContext } from './values.js'

/** Writes one parsed value into a config under construction */
export function setField(config: ProofmeshConfig, entry: SchemaEntry, value: unknown): void {
  const target = (entry.section === null ? config : config[entry.section]) as unknown as Record<
    string,
    unknown
  >
  target[entry.field] = value
}

/**
 * The defaults from the schema table, parsed like a config file would be (so `~` follows ctx.home).
 * A default that fails its own parser is a programming error and throws at import time.
 */
export function resolveDefaults(ctx: ParseContext = defaultParseContext()): ProofmeshConfig {
  const config = {
    dataDir: '',
    net: {},
    capacity: {},
    api: {},
    log: {},
    prover: {},
    jobs: {},
    inputs: {},
    security: {}
  } as unknown as ProofmeshConfig
  for (const entry of schemaEntries) {
    setField(config, entry, entry.def.type.fromToml(entry.def.default, ctx))
  }
  return config
}

/** The configuration with nothing set, for this user's home directory */
export const configDefaults: Readonly<ProofmeshConfig> = deepFreeze(resolveDefaults())

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const inner of Object.values(value)) {
      deepFreeze(inner)
    }
    Object.freeze(value)
  }
  return value
}
