export {
  BUSY_TIMEOUT_MS,
  DEFAULT_LIST_LIMIT,
  Journal,
  JournalError,
  SCHEMA_VERSION,
  type LeaseRecord
} from './journal.js'
