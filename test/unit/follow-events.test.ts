import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { followJobEvents, type JobEventSource } from '../../src/jobs-model/follow.js'
import type { JobState } from '../../src/jobs-model/states.js'
import type { JobEvent, JobRecord, NewJobEvent } from '../../src/jobs-model/types.js'

const ID = 'job-1'

/**
 * One job's journal and live events as the job service keeps them: an event is appended, the record moves, then
 * the listeners hear it, all in one turn
 */
class Journaled implements JobEventSource {
  readonly log: JobEvent[] = []
  state: JobState = 'queued'
  readonly listeners = new Set<(event: JobEvent) => void>()
  /** Runs inside the next subscribe call, before it returns: an event that lands between subscribe and replay */
  onSubscribe?: () => void

  get(id: string): JobRecord | undefined {
    if (id !== ID) return undefined
    return { id, state: this.state } as JobRecord
  }

  events(id: string, afterSeq: number): JobEvent[] {
    return id === ID ? this.log.filter((event) => event.seq > afterSeq) : []
  }

  subscribe(id: string, listener: (event: JobEvent) => void): () => void {
    const own = (event: JobEvent): void => {
      if (event.jobId === id) listener(event)
    }
    this.listeners.add(own)
    const hook = this.onSubscribe
    this.onSubscribe = undefined
    hook?.()
    return () => this.listeners.delete(own)
  }

  emit(fields: NewJobEvent): void {
    const event: JobEvent = { jobId: ID, seq: this.log.length + 1, at: 1_000 + this.log.length, ...fields }
    this.log.push(event)
    if (event.kind === 'state') this.state = event.state
    for (const listener of this.listeners) listener(event)
  }
}

async function collect(
  events: AsyncIterable<JobEvent>,
  onEach?: (event: JobEvent) => void
): Promise<number[]> {
  const seqs: number[] = []
  for await (const event of events) {
    seqs.push(event.seq)
    onEach?.(event)
  }
  return seqs
}

describe('followJobEvents', () => {
  it('replays the journaled events, then yields the live ones, and ends with the terminal one', async () => {
    const job = new Journaled()
    job.emit({ kind: 'state', state: 'queued' })
    job.emit({ kind: 'state', state: 'reserving' })
    const seqs = await collect(followJobEvents(job, ID), (event) => {
      // each event the follower reads makes the job go on, the last one ends it
      if (event.seq === 2) setImmediate(() => job.emit({ kind: 'log', message: 'planned' }))
      if (event.seq === 3) setImmediate(() => job.emit({ kind: 'state', state: 'succeeded' }))
    })
    assert.deepEqual(seqs, [1, 2, 3, 4])
    assert.equal(job.listeners.size, 0, 'it unsubscribed')
  })

  it('yields an event that lands between subscribing and the replay once', async () => {
    const job = new Journaled()
    job.emit({ kind: 'state', state: 'queued' })
    job.onSubscribe = () => job.emit({ kind: 'log', message: 'in between' })
    const seqs = await collect(followJobEvents(job, ID), (event) => {
      if (event.seq === 2) setImmediate(() => job.emit({ kind: 'state', state: 'failed' }))
    })
    assert.deepEqual(seqs, [1, 2, 3])
  })

  it('starts after the sequence number it is given', async () => {
    const job = new Journaled()
    for (const state of ['queued', 'reserving', 'cancelled'] as const) job.emit({ kind: 'state', state })
    assert.deepEqual(await collect(followJobEvents(job, ID, 1)), [2, 3])
  })

  it('ends at once for a job that is over or unknown', async () => {
    const job = new Journaled()
    job.emit({ kind: 'state', state: 'succeeded' })
    assert.deepEqual(await collect(followJobEvents(job, ID, 1)), [])
    assert.deepEqual(await collect(followJobEvents(job, 'job-unknown')), [])
    assert.equal(job.listeners.size, 0)
  })

  it('ends when its signal aborts while it waits, and unsubscribes', async () => {
    const job = new Journaled()
    job.emit({ kind: 'state', state: 'proving' })
    const controller = new AbortController()
    const seqs = await collect(followJobEvents(job, ID, 0, controller.signal), () =>
      setImmediate(() => controller.abort())
    )
    assert.deepEqual(seqs, [1])
    assert.equal(job.listeners.size, 0)
  })
})
