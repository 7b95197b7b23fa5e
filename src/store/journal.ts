import { writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import { makeDirectory } from '../config/directories.js'
import type { LeaseRecord } from '../jobs-model/lease.js'
import type { JobState } from '../jobs-model/states.js'
import { readJobEvent } from '../jobs-model/events.js'
import type { JobEvent, JobRecord, NewJobEvent } from '../jobs-model/types.js'

/** The schema this code writes; `PRAGMA user_version` holds the version of a file */
export const SCHEMA_VERSION = 2

/** How long a statement waits for another connection's lock before failing with SQLITE_BUSY */
export const BUSY_TIMEOUT_MS = 5000

/** listJobs returns at most this many records unless told otherwise */
export const DEFAULT_LIST_LIMIT = 1000

/** The journal file could not be opened or is not one this code can use; the message is one line naming the file */
export class JournalError extends Error {
  readonly path: string

  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'JournalError'
    this.path = path
  }
}

/**
 * One entry per schema version: entry i takes a file from version i to i + 1. Append, never edit: a file
 * already at version n never runs entries below n again.
 */
const MIGRATIONS: readonly string[] = [
  // 1: jobs as JSON with the columns that are filtered and sorted on; events per job; the worker's leases.
  `
  CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    record TEXT NOT NULL
  ) STRICT;
  CREATE INDEX jobs_by_created ON jobs (created_at);
  CREATE INDEX jobs_by_state ON jobs (state, created_at);

  CREATE TABLE events (
    job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    at INTEGER NOT NULL,
    event TEXT NOT NULL,
    PRIMARY KEY (job_id, seq)
  ) STRICT, WITHOUT ROWID;

  -- Leases name jobs of other submitters, which are not in this journal's jobs table: no foreign key.
  CREATE TABLE leases (
    lease_id TEXT PRIMARY KEY,
    job_id TEXT NOT NULL,
    submitter TEXT NOT NULL,
    units INTEGER NOT NULL,
    granted_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    ended_at INTEGER,
    end_reason TEXT
  ) STRICT;
  CREATE INDEX leases_by_job ON leases (job_id, granted_at);
  CREATE INDEX leases_open ON leases (granted_at) WHERE ended_at IS NULL;
  `,
  // 2: penalties of peers that sent bad work, as a submitter saw them; they decay (see Journal.penalty)
  `
  CREATE TABLE penalties (
    peer_id TEXT PRIMARY KEY,
    points REAL NOT NULL,
    updated_at INTEGER NOT NULL,
    reason TEXT NOT NULL
  ) STRICT;
  `
]

/** A penalty loses half its points every this long: a peer that misbehaved once is trusted again later */
export const PENALTY_HALF_LIFE_MS = 30 * 60_000

/** Points `points` worth at `updatedAt`, decayed to `now` */
export function decayedPenalty(points: number, updatedAt: number, now: number): number {
  return points * 0.5 ** (Math.max(0, now - updatedAt) / PENALTY_HALF_LIFE_MS)
}

/** Brings the file to SCHEMA_VERSION, every step in one transaction with its user_version */
function migrate(db: Database.Database): void {
  // IMMEDIATE takes the write lock before user_version is read, so two processes opening a new file at
  // once do not both create the tables.
  db.transaction(() => {
    const current = db.pragma('user_version', { simple: true }) as number
    if (current > MIGRATIONS.length) {
      throw new Error(
        `schema version ${current} is newer than this proofmesh knows (${MIGRATIONS.length}); upgrade proofmesh`
      )
    }
    for (let version = current; version < MIGRATIONS.length; version++) {
      db.exec(MIGRATIONS[version] ?? '')
      db.pragma(`user_version = ${version + 1}`)
    }
  }).immediate()
}

interface JobRow {
  record: string
}

interface EventRow {
  job_id: string
  seq: number
  event: string
}

interface LeaseRow {
  lease_id: string
  job_id: string
  submitter: string
  units: number
  granted_at: number
  expires_at: number
  ended_at: number | null
  end_reason: string | null
}

/** JSON.parse that answers undefined for anything but a JSON object (a corrupt row is skipped, not thrown) */
function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text)
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined
  } catch {
    return undefined
  }
}

function toLease(row: LeaseRow): LeaseRecord {
  const lease: LeaseRecord = {
    leaseId: row.lease_id,
    jobId: row.job_id,
    submitter: row.submitter,
    units: row.units,
    grantedAt: row.granted_at,
    expiresAt: row.expires_at
  }
  if (row.ended_at !== null) lease.endedAt = row.ended_at
  if (row.end_reason !== null) lease.endReason = row.end_reason
  return lease
}

/**
 * Why the journal did not open, in one line. better-sqlite3 without its native binding (its install script did
 * not run: npm 12 skips dependency scripts package.json's allowScripts does not approve) says so through the
 * `bindings` package, with no error code and a list of every path it tried: the cause and the fix instead.
 */
function openProblem(err: unknown): string {
  if (err instanceof Error && err.message.startsWith('Could not locate the bindings file')) {
    return 'better-sqlite3 has no native binding, its install script did not run (`npm rebuild better-sqlite3` builds it)'
  }
  return oneLine(err)
}

function oneLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err)
  const code = (err as { code?: unknown } | null)?.code
  const text = typeof code === 'string' && !message.includes(code) ? `${message} (${code})` : message
  return text.replace(/\s*\n\s*/g, ' ')
}

/**
 * The job journal: every job and every state change of the job path is written here before it is acted on.
 * A SQLite file (better-sqlite3, synchronous: when a call returns, the change is committed).
 *
 * Durability: WAL mode with `synchronous = NORMAL`. A committed transaction is in the WAL file, i.e. in the
 * OS's page cache, before the call returns, so it survives a crash or SIGKILL of this process; the WAL is
 * fsynced only at checkpoints, so an OS crash or power loss can lose the last transactions (never corrupt
 * the file). FULL would fsync every commit, which the job path does not need.
 *
 * One Journal per file per process; other processes may open the same file (busy_timeout waits for locks).
 */
export class Journal {
  readonly path: string
  private readonly db: Database.Database
  private readonly statements: ReturnType<typeof prepare>

  private constructor(path: string, db: Database.Database) {
    this.path = path
    this.db = db
    this.statements = prepare(db)
  }

  /** Opens (creating the folder and file) <path>; e.g. <data_dir>/journal.sqlite. `:memory:` opens a throwaway one */
  static open(path: string): Journal {
    const memory = path === ':memory:'
    let db: Database.Database | undefined
    try {
      if (!memory) {
        makeDirectory(dirname(path), 0o700)
        // Created 0600 like the other files of the data dir (it holds paths and webhook URLs); SQLite gives
        // the -wal and -shm files the mode of the database file.
        try {
          writeFileSync(path, '', { flag: 'wx', mode: 0o600 })
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
        }
      }
      db = new Database(path, { timeout: BUSY_TIMEOUT_MS })
      // The first statement reads the header: a file that is not a database fails here (SQLITE_NOTADB).
      const mode = db.pragma('journal_mode = WAL', { simple: true })
      if (mode !== 'wal' && !(memory && mode === 'memory')) {
        throw new Error(`the file system does not support WAL mode (journal_mode is ${String(mode)})`)
      }
      // In WAL mode NORMAL is durable against a crash of the process (SIGKILL included): a committed
      // transaction is in the WAL file before the call returns. Only an OS crash or power loss can lose the
      // last transactions, those not yet checkpointed; the file stays consistent either way.
      db.pragma('synchronous = NORMAL')
      db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`)
      db.pragma('foreign_keys = ON')
      migrate(db)
      return new Journal(path, db)
    } catch (err) {
      db?.close()
      throw new JournalError(path, `cannot open the job journal ${path}: ${openProblem(err)}`, { cause: err })
    }
  }

  close(): void {
    if (!this.db.open) return
    try {
      // SQLite's advice for long-lived connections: refresh the query planner's statistics before closing
      this.db.pragma('optimize')
    } catch {
      // only statistics; closing matters more
    }
    this.db.close()
  }

  /** Upsert of the whole record: the JSON plus the indexed columns id, state, created_at, updated_at */
  putJob(job: JobRecord): void {
    this.statements.putJob.run({
      id: job.id,
      state: job.state,
      createdAt: job.createdAt,
      updatedAt: job.updatedAt,
      record: JSON.stringify(job)
    })
  }

  /** undefined when there is no such job, or its stored record does not parse */
  getJob(id: string): JobRecord | undefined {
    const row = this.statements.getJob.get(id)
    return row === undefined ? undefined : (parseObject(row.record) as JobRecord | undefined)
  }

  /**
   * Newest first (created_at desc, then the later insert first); optional filter by states (an empty list
   * matches nothing); limit default 1000. A record that does not parse is skipped and does not count.
   */
  listJobs(filter: { states?: readonly JobState[]; limit?: number } = {}): JobRecord[] {
    const limit = filter.limit ?? DEFAULT_LIST_LIMIT
    if (!Number.isSafeInteger(limit) || limit < 0) {
      throw new RangeError(`listJobs: limit must be a whole number >= 0, not ${limit}`)
    }
    const jobs: JobRecord[] = []
    if (limit === 0) return jobs
    const rows =
      filter.states === undefined
        ? this.statements.listJobs.iterate()
        : this.statements.listJobsInStates.iterate(JSON.stringify(filter.states))
    for (const row of rows) {
      const job = parseObject(row.record)
      if (job === undefined) continue
      jobs.push(job as unknown as JobRecord)
      // leaving the loop early resets the statement
      if (jobs.length >= limit) break
    }
    return jobs
  }

  /**
   * Stores the event with seq = the job's previous highest + 1 (from 1), in one transaction (nested in the
   * caller's when there is one); returns the event as stored. The job must be in the journal already.
   */
  appendEvent(event: NewJobEvent & { jobId: string; at: number }): JobEvent {
    return this.db.transaction(() => {
      const { jobId, ...rest } = event
      // a seq the caller slipped in anyway is not stored: the journal assigns it
      const body = JSON.stringify({ ...rest, seq: undefined })
      const previous = this.statements.lastSeq.get(jobId)?.seq ?? 0
      const seq = previous + 1
      this.statements.insertEvent.run({ jobId, seq, at: event.at, event: body })
      return readJobEvent(JSON.parse(body) as Record<string, unknown>, jobId, seq)
    })()
  }

  /** Events of a job with seq > afterSeq (default 0: all), ascending; an event that does not parse is skipped */
  events(jobId: string, afterSeq = 0): JobEvent[] {
    const events: JobEvent[] = []
    for (const row of this.statements.events.iterate(jobId, afterSeq)) {
      const body = parseObject(row.event)
      if (body === undefined) continue
      events.push(readJobEvent(body, row.job_id, row.seq))
    }
    return events
  }

  /** Upsert by leaseId */
  putLease(lease: LeaseRecord): void {
    this.statements.putLease.run({
      leaseId: lease.leaseId,
      jobId: lease.jobId,
      submitter: lease.submitter,
      units: lease.units,
      grantedAt: lease.grantedAt,
      expiresAt: lease.expiresAt,
      endedAt: lease.endedAt ?? null,
      endReason: lease.endReason ?? null
    })
  }

  /** active: true = endedAt not set, false = ended; ordered by grantedAt (then insert order) */
  leases(filter: { active?: boolean; jobId?: string } = {}): LeaseRecord[] {
    const active = filter.active === undefined ? null : filter.active ? 1 : 0
    return this.statements.leases.all({ active, jobId: filter.jobId ?? null }).map(toLease)
  }

  /** Ends every lease still open (endedAt = now, endReason given): used at start-up after a crash; returns how many */
  endOpenLeases(reason: string, now: number = Date.now()): number {
    return this.statements.endOpenLeases.run({ reason, now }).changes
  }

  /** Adds penalty points to a peer (its old points decayed first); returns the new total */
  penalise(peerId: string, points: number, reason: string, now: number = Date.now()): number {
    return this.transaction(() => {
      const total = this.penalty(peerId, now) + points
      this.statements.putPenalty.run({ peerId, points: total, now, reason })
      return total
    })
  }

  /** A peer's penalty points now (0 for a peer never penalised) */
  penalty(peerId: string, now: number = Date.now()): number {
    const row = this.statements.penalty.get({ peerId })
    return row === undefined ? 0 : decayedPenalty(row.points, row.updated_at, now)
  }

  /** Every penalised peer with its decayed points and last reason */
  penalties(now: number = Date.now()): Array<{ peerId: string; points: number; reason: string }> {
    return this.statements.penalties.all().map((row) => ({
      peerId: row.peer_id,
      points: decayedPenalty(row.points, row.updated_at, now),
      reason: row.reason
    }))
  }

  /** Runs fn in one transaction (a savepoint when nested); fn must be synchronous: a Promise is refused */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)()
  }
}

interface PenaltyRow {
  peer_id: string
  points: number
  updated_at: number
  reason: string
}

function prepare(db: Database.Database) {
  return {
    // ON CONFLICT DO UPDATE, not INSERT OR REPLACE: REPLACE deletes the row first, and the delete would
    // cascade to the job's events.
    putJob: db.prepare<{ id: string; state: string; createdAt: number; updatedAt: number; record: string }>(
      `INSERT INTO jobs (id, state, created_at, updated_at, record)
       VALUES (@id, @state, @createdAt, @updatedAt, @record)
       ON CONFLICT (id) DO UPDATE SET
         state = excluded.state, created_at = excluded.created_at,
         updated_at = excluded.updated_at, record = excluded.record`
    ),
    getJob: db.prepare<[string], JobRow>('SELECT record FROM jobs WHERE id = ?'),
    listJobs: db.prepare<[], JobRow>('SELECT record FROM jobs ORDER BY created_at DESC, rowid DESC'),
    listJobsInStates: db.prepare<[string], JobRow>(
      `SELECT record FROM jobs WHERE state IN (SELECT value FROM json_each(?))
       ORDER BY created_at DESC, rowid DESC`
    ),
    lastSeq: db.prepare<[string], { seq: number }>('SELECT max(seq) AS seq FROM events WHERE job_id = ?'),
    insertEvent: db.prepare<{ jobId: string; seq: number; at: number; event: string }>(
      'INSERT INTO events (job_id, seq, at, event) VALUES (@jobId, @seq, @at, @event)'
    ),
    events: db.prepare<[string, number], EventRow>(
      'SELECT job_id, seq, event FROM events WHERE job_id = ? AND seq > ? ORDER BY seq'
    ),
    putLease: db.prepare<
      Omit<LeaseRecord, 'endedAt' | 'endReason'> & { endedAt: number | null; endReason: string | null }
    >(
      `INSERT INTO leases (lease_id, job_id, submitter, units, granted_at, expires_at, ended_at, end_reason)
       VALUES (@leaseId, @jobId, @submitter, @units, @grantedAt, @expiresAt, @endedAt, @endReason)
       ON CONFLICT (lease_id) DO UPDATE SET
         job_id = excluded.job_id, submitter = excluded.submitter, units = excluded.units,
         granted_at = excluded.granted_at, expires_at = excluded.expires_at,
         ended_at = excluded.ended_at, end_reason = excluded.end_reason`
    ),
    leases: db.prepare<{ active: number | null; jobId: string | null }, LeaseRow>(
      `SELECT * FROM leases
       WHERE (@jobId IS NULL OR job_id = @jobId) AND (@active IS NULL OR (ended_at IS NULL) = @active)
       ORDER BY granted_at, rowid`
    ),
    endOpenLeases: db.prepare<{ reason: string; now: number }>(
      'UPDATE leases SET ended_at = @now, end_reason = @reason WHERE ended_at IS NULL'
    ),
    putPenalty: db.prepare<{ peerId: string; points: number; now: number; reason: string }>(
      `INSERT INTO penalties (peer_id, points, updated_at, reason) VALUES (@peerId, @points, @now, @reason)
       ON CONFLICT (peer_id) DO UPDATE SET points = excluded.points, updated_at = excluded.updated_at,
         reason = excluded.reason`
    ),
    penalty: db.prepare<{ peerId: string }, PenaltyRow>('SELECT * FROM penalties WHERE peer_id = @peerId'),
    penalties: db.prepare<[], PenaltyRow>('SELECT * FROM penalties ORDER BY updated_at DESC')
  }
}
