import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import Database from 'better-sqlite3'
import type { LeaseRecord } from '../../src/jobs-model/lease.js'
import type { JobState } from '../../src/jobs-model/states.js'
import type { JobRecord } from '../../src/jobs-model/types.js'
import { Journal, JournalError, PENALTY_HALF_LIFE_MS, SCHEMA_VERSION } from '../../src/store/index.js'

function job(id: string, state: JobState, createdAt: number): JobRecord {
  return {
    id,
    request: {
      program: 'rescue-sponge',
      inputMode: 'data',
      input: `/inputs/${id}.bin`,
      computeCapacity: 8,
      minimalComputeCapacity: 4,
      priority: 0,
      dataId: id,
      timeoutMs: 60_000,
      webhookUrl: '',
      saveProof: false
    },
    state,
    submitter: '12D3KooWSubmitter',
    createdAt,
    updatedAt: createdAt,
    peers: [],
    segments: [],
    phases: {},
    bytesOut: 0
  }
}

function lease(leaseId: string, jobId: string, grantedAt: number): LeaseRecord {
  return { leaseId, jobId, submitter: '12D3KooWOther', units: 4, grantedAt, expiresAt: grantedAt + 30_000 }
}

describe('Journal', () => {
  let dir: string
  let count = 0
  const fresh = () => join(dir, `journal-${++count}.sqlite`)

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'proofmesh-journal-'))
  })

  after(() => {
    rmSync(dir, { recursive: true, force: true })
  })

  it('stores jobs whole, upserts them, and lists them newest first with a state filter and a limit', () => {
    const journal = Journal.open(fresh())
    try {
      journal.putJob(job('a', 'queued', 1000))
      journal.putJob(job('b', 'proving', 3000))
      journal.putJob(job('c', 'queued', 2000))
      journal.putJob(job('d', 'succeeded', 2000))

      const updated = {
        ...job('a', 'failed', 1000),
        updatedAt: 5000,
        error: { code: 'TIMEOUT', message: 'late' }
      }
      journal.putJob(updated)
      assert.deepEqual(journal.getJob('a'), updated)
      assert.equal(journal.getJob('missing'), undefined)

      // equal created_at: the later insert first
      assert.deepEqual(
        journal.listJobs().map((j) => j.id),
        ['b', 'd', 'c', 'a']
      )
      assert.deepEqual(
        journal.listJobs({ states: ['queued', 'failed'] }).map((j) => j.id),
        ['c', 'a']
      )
      assert.deepEqual(journal.listJobs({ states: [] }), [])
      assert.deepEqual(
        journal.listJobs({ limit: 2 }).map((j) => j.id),
        ['b', 'd']
      )
      assert.deepEqual(journal.listJobs({ limit: 0 }), [])
      assert.throws(() => journal.listJobs({ limit: -1 }), RangeError)
    } finally {
      journal.close()
    }
  })

  it('numbers events per job from 1 and returns those after a seq in order', () => {
    const journal = Journal.open(fresh())
    try {
      journal.putJob(job('a', 'queued', 1))
      journal.putJob(job('b', 'queued', 2))
      const first = journal.appendEvent({ jobId: 'a', at: 10, kind: 'state', state: 'reserving' })
      assert.deepEqual(first, { jobId: 'a', seq: 1, at: 10, kind: 'state', state: 'reserving' })
      assert.equal(journal.appendEvent({ jobId: 'b', at: 11, kind: 'log', message: 'hello' }).seq, 1)
      assert.equal(journal.appendEvent({ jobId: 'a', at: 12, kind: 'progress', done: 1, total: 4 }).seq, 2)
      assert.equal(journal.appendEvent({ jobId: 'a', at: 13, kind: 'proved', peer: 'p1', segment: 0 }).seq, 3)

      assert.deepEqual(
        journal.events('a').map((e) => e.seq),
        [1, 2, 3]
      )
      assert.deepEqual(journal.events('a')[0], first)
      assert.deepEqual(journal.events('a', 1), [
        { jobId: 'a', seq: 2, at: 12, kind: 'progress', done: 1, total: 4 },
        { jobId: 'a', seq: 3, at: 13, kind: 'proved', peer: 'p1', segment: 0 }
      ])
      assert.deepEqual(journal.events('a', 3), [])
      assert.deepEqual(journal.events('b'), [{ jobId: 'b', seq: 1, at: 11, kind: 'log', message: 'hello' }])
      assert.deepEqual(journal.events('missing'), [])

      // an upsert of the job keeps its events
      journal.putJob(job('a', 'reserving', 1))
      assert.equal(journal.events('a').length, 3)
    } finally {
      journal.close()
    }
  })

  it('loads the events a previous version journaled without a kind, and kinds it does not know, as notes', () => {
    const file = fresh()
    const journal = Journal.open(file)
    try {
      journal.putJob(job('a', 'proving', 1))
      journal.appendEvent({ jobId: 'a', at: 10, kind: 'state', state: 'proving' })
    } finally {
      journal.close()
    }
    const db = new Database(file)
    try {
      const insert = db.prepare('INSERT INTO events (job_id, seq, at, event) VALUES (?, ?, ?, ?)')
      insert.run('a', 2, 11, JSON.stringify({ at: 11, type: 'peer', peer: 'p1', message: 'leased 4 units' }))
      insert.run('a', 3, 12, JSON.stringify({ at: 12, type: 'state', state: 'aggregating' }))
      insert.run('a', 4, 13, JSON.stringify({ at: 13, kind: 'from-the-future', peer: 'p2', message: 'hm' }))
    } finally {
      db.close()
    }
    const reopened = Journal.open(file)
    try {
      assert.deepEqual(reopened.events('a', 1), [
        { jobId: 'a', seq: 2, at: 11, kind: 'note', peer: 'p1', message: 'leased 4 units' },
        { jobId: 'a', seq: 3, at: 12, kind: 'state', state: 'aggregating' },
        { jobId: 'a', seq: 4, at: 13, kind: 'note', peer: 'p2', message: 'hm' }
      ])
    } finally {
      reopened.close()
    }
  })

  it('refuses an event for a job it has not journaled', () => {
    const journal = Journal.open(fresh())
    try {
      assert.throws(() => journal.appendEvent({ jobId: 'ghost', at: 1, kind: 'log', message: 'x' }))
      assert.deepEqual(journal.events('ghost'), [])
    } finally {
      journal.close()
    }
  })

  it('upserts leases, filters active ones and by job, and ends the open ones', () => {
    const journal = Journal.open(fresh())
    try {
      journal.putLease(lease('l2', 'j1', 200))
      journal.putLease(lease('l1', 'j1', 100))
      journal.putLease(lease('l3', 'j2', 300))
      const ended = { ...lease('l2', 'j1', 200), endedAt: 250, endReason: 'released' }
      journal.putLease(ended)

      assert.deepEqual(
        journal.leases().map((l) => l.leaseId),
        ['l1', 'l2', 'l3']
      )
      assert.deepEqual(journal.leases({ active: true }), [lease('l1', 'j1', 100), lease('l3', 'j2', 300)])
      assert.deepEqual(journal.leases({ active: false }), [ended])
      assert.deepEqual(
        journal.leases({ jobId: 'j1' }).map((l) => l.leaseId),
        ['l1', 'l2']
      )
      assert.deepEqual(
        journal.leases({ jobId: 'j1', active: true }).map((l) => l.leaseId),
        ['l1']
      )

      assert.equal(journal.endOpenLeases('restart', 999), 2)
      assert.deepEqual(journal.leases({ active: true }), [])
      assert.deepEqual(journal.leases({ jobId: 'j2' }), [
        { ...lease('l3', 'j2', 300), endedAt: 999, endReason: 'restart' }
      ])
      // the lease ended before keeps its own end
      assert.deepEqual(journal.leases({ jobId: 'j1' })[1], ended)
      assert.equal(journal.endOpenLeases('restart'), 0)
    } finally {
      journal.close()
    }
  })

  it('runs a transaction as one: a throw rolls back every write in it', () => {
    const journal = Journal.open(fresh())
    try {
      journal.putJob(job('a', 'queued', 1))
      const seq = journal.transaction(() => {
        journal.putJob(job('a', 'reserving', 1))
        return journal.appendEvent({ jobId: 'a', at: 2, kind: 'state', state: 'reserving' }).seq
      })
      assert.equal(seq, 1)
      assert.throws(
        () =>
          journal.transaction(() => {
            journal.putJob(job('a', 'planning', 1))
            journal.appendEvent({ jobId: 'a', at: 3, kind: 'state', state: 'planning' })
            throw new Error('boom')
          }),
        /boom/
      )
      assert.equal(journal.getJob('a')?.state, 'reserving')
      assert.equal(journal.events('a').length, 1)
    } finally {
      journal.close()
    }
  })

  it('keeps everything across close and reopen, in a WAL file of the current schema version created 0600', () => {
    const path = join(dir, 'nested', 'data', 'journal.sqlite')
    const first = Journal.open(path)
    assert.equal(first.path, path)
    first.putJob(job('a', 'proving', 1))
    first.appendEvent({ jobId: 'a', at: 2, kind: 'state', state: 'proving' })
    first.putLease(lease('l1', 'x', 3))
    first.close()
    first.close()

    const raw = new Database(path, { readonly: true })
    try {
      assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal')
      assert.equal(raw.pragma('user_version', { simple: true }), SCHEMA_VERSION)
    } finally {
      raw.close()
    }
    assert.equal(statSync(path).mode & 0o777, 0o600)

    const second = Journal.open(path)
    try {
      assert.deepEqual(second.getJob('a'), job('a', 'proving', 1))
      assert.deepEqual(second.events('a'), [{ jobId: 'a', seq: 1, at: 2, kind: 'state', state: 'proving' }])
      assert.deepEqual(second.leases(), [lease('l1', 'x', 3)])
      assert.equal(second.appendEvent({ jobId: 'a', at: 4, kind: 'log', message: 'again' }).seq, 2)
    } finally {
      second.close()
    }
  })

  it('skips a record or an event that does not parse instead of failing', () => {
    const path = fresh()
    const journal = Journal.open(path)
    journal.putJob(job('a', 'queued', 1))
    journal.putJob(job('b', 'queued', 2))
    journal.putJob(job('c', 'queued', 3))
    journal.appendEvent({ jobId: 'a', at: 1, kind: 'log', message: 'one' })
    journal.appendEvent({ jobId: 'a', at: 2, kind: 'log', message: 'two' })
    journal.close()

    const raw = new Database(path)
    raw.prepare(`UPDATE jobs SET record = '{"id": "b", trunc' WHERE id = 'b'`).run()
    raw.prepare(`UPDATE jobs SET record = 'null' WHERE id = 'c'`).run()
    raw.prepare(`UPDATE events SET event = 'garbage' WHERE job_id = 'a' AND seq = 1`).run()
    raw.close()

    const reopened = Journal.open(path)
    try {
      assert.equal(reopened.getJob('b'), undefined)
      assert.equal(reopened.getJob('c'), undefined)
      assert.deepEqual(
        reopened.listJobs().map((j) => j.id),
        ['a']
      )
      // a skipped record does not count towards the limit
      assert.deepEqual(
        reopened.listJobs({ limit: 1 }).map((j) => j.id),
        ['a']
      )
      assert.deepEqual(
        reopened.events('a').map((e) => e.message),
        ['two']
      )
    } finally {
      reopened.close()
    }
  })

  it('keeps a job and its event written just before the process is SIGKILLed', async () => {
    const path = fresh()
    const script = join(dir, 'writer.mjs')
    const journalModule = new URL('../../src/store/journal.js', import.meta.url).href
    writeFileSync(
      script,
      [
        `import { Journal } from ${JSON.stringify(journalModule)}`,
        `const journal = Journal.open(process.argv[2])`,
        `journal.putJob(JSON.parse(process.argv[3]))`,
        `journal.appendEvent({ jobId: 'killed', at: 5, kind: 'state', state: 'contributing' })`,
        `process.stdout.write('written\\n')`,
        `setInterval(() => {}, 60_000)`
      ].join('\n')
    )
    const record = job('killed', 'contributing', 4)
    const child = spawn(process.execPath, [script, path, JSON.stringify(record)], {
      stdio: ['ignore', 'pipe', 'pipe']
    })
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('exit', (_code, signal) => resolve(signal))
    )
    await new Promise<void>((resolve, reject) => {
      let stdout = ''
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        stdout += chunk
        if (stdout.includes('written\n')) resolve()
      })
      child.on('exit', (code) => reject(new Error(`the writer exited (${code}) before writing: ${stderr}`)))
    })
    child.kill('SIGKILL')
    assert.equal(await exited, 'SIGKILL')

    // never checkpointed: what survived is in the WAL the killed process left behind
    assert.ok(statSync(`${path}-wal`).size > 0)
    const journal = Journal.open(path)
    try {
      assert.deepEqual(journal.getJob('killed'), record)
      assert.deepEqual(journal.events('killed'), [
        { jobId: 'killed', seq: 1, at: 5, kind: 'state', state: 'contributing' }
      ])
    } finally {
      journal.close()
    }
  })

  it('throws a one-line JournalError naming the file when it is not a database', () => {
    const path = join(dir, 'not-a-database.sqlite')
    writeFileSync(
      path,
      'this is a text file, not SQLite, and it is long enough to have a header\n'.repeat(20)
    )
    assert.throws(
      () => Journal.open(path),
      (err: unknown) => {
        assert.ok(err instanceof JournalError)
        assert.equal(err.name, 'JournalError')
        assert.equal(err.path, path)
        assert.ok(err.message.includes(path), err.message)
        assert.ok(!err.message.includes('\n'), err.message)
        return true
      }
    )
  })

  it('throws a JournalError when the folder cannot be created', () => {
    const file = join(dir, 'a-file')
    writeFileSync(file, '')
    const path = join(file, 'journal.sqlite')
    assert.throws(
      () => Journal.open(path),
      (err: unknown) => err instanceof JournalError && err.message.includes(path)
    )
  })

  it('refuses a file written by a newer schema', () => {
    const path = fresh()
    const raw = new Database(path)
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`)
    raw.close()
    assert.throws(
      () => Journal.open(path),
      (err: unknown) =>
        err instanceof JournalError && err.message.includes(`schema version ${SCHEMA_VERSION + 1} is newer`)
    )
  })
})

describe('penalties', () => {
  it('adds points per peer, decays them by half every half-life, and keeps the last reason', () => {
    const journal = Journal.open(':memory:')
    try {
      const start = 1_000_000
      assert.equal(journal.penalty('peer-a', start), 0)
      assert.equal(journal.penalise('peer-a', 1, 'invalid proof of segment 3', start), 1)
      assert.equal(journal.penalise('peer-a', 1, 'invalid final proof', start), 2)
      assert.equal(journal.penalty('peer-b', start), 0)
      assert.ok(Math.abs(journal.penalty('peer-a', start + PENALTY_HALF_LIFE_MS) - 1) < 1e-9)
      assert.ok(Math.abs(journal.penalise('peer-a', 1, 'again', start + PENALTY_HALF_LIFE_MS) - 2) < 1e-9)
      const [row] = journal.penalties(start + PENALTY_HALF_LIFE_MS)
      assert.equal(row?.peerId, 'peer-a')
      assert.equal(row?.reason, 'again')
    } finally {
      journal.close()
    }
  })
})
