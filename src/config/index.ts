export { configDefaults } from './defaults.js'
export { formatDuration, parseDuration } from './duration.js'
export { ConfigError, type ConfigSource, InvalidValueError } from './errors.js'
export { type LoadConfigOptions, loadConfig } from './load.js'
export { defaultProverBinary, findPackageRoot } from './paths.js'
export { renderConfigToml } from './render.js'
export { ENV_CONFIG_PATH, ENV_RESERVED_PREFIX, LOG_FORMATS, LOG_LEVELS, PROVER_BACKENDS } from './schema.js'
export type {
  ApiConfig,
  CapacityConfig,
  ConfigOverrides,
  InputsConfig,
  JobsConfig,
  LogConfig,
  NetConfig,
  ProofmeshConfig,
  ProverBackend,
  ProverConfig
} from './types.js'
