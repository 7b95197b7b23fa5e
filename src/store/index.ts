export {
  BUSY_TIMEOUT_MS,
  DEFAULT_LIST_LIMIT,
  Journal,
  JournalError,
  PENALTY_HALF_LIFE_MS,
  SCHEMA_VERSION
} from './journal.js'
