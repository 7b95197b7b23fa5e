import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterEach, describe, it } from 'node:test'
import { FailCode, RefuseCode } from '../../protocols/job/pb/job.js'
import { CapacityShortError, RestartJobError } from '../../src/job/errors.js'
import type { JobEvent, JobEventKind } from '../../src/jobs-model/types.js'
import {
  contributeLie,
  firstAssign,
  type HarnessOptions,
  type HarnessResult,
  honestContribute,
  honestFetch,
  honestProve,
  honestServeFinal,
  JobHarness,
  type PeerBehaviour,
  type ScriptedPeer
} from '../helpers/job-harness.js'
import { TRANSFER_LIMIT_DEFAULTS } from '../../src/net/transfer-deadline.js'
import { Rng } from '../helpers/rng.js'

// Every test: a real JobRun against scripted peers in memory (test/helpers/job-harness.ts), with the scripted
// prover for plan and verify (the final proof must be the one honest peers build from the job's contributions)

let harness: JobHarness
afterEach(() => harness.close())

const kinds = (result: HarnessResult, kind: JobEventKind): JobEvent[] =>
  result.events.filter((event) => event.kind === kind)

/** The story of the run, for the message of a failed assertion */
const story = (result: HarnessResult): string =>
  [
    `error: ${result.error?.message ?? '-'}`,
    ...result.events
      .filter((event) => event.kind !== 'progress')
      .map((event) => `${event.kind} ${'peer' in event ? (event.peer ?? '') : ''} ${event.message ?? ''}`)
  ].join('\n')

function assertSucceeded(result: HarnessResult): void {
  assert.equal(result.error, undefined, story(result))
  assert.equal(result.record.state, 'succeeded', story(result))
  assert.ok(result.record.proof !== undefined, story(result))
}

/** The lie was in the challenge already: the job starts again, and only 'liar' is penalised */
function assertRestartedBlamingLiar(result: HarnessResult): void {
  assert.ok(result.error instanceof RestartJobError, story(result))
  assert.equal(result.error.code, 'CONTRIBUTION_MISMATCH')
  assert.deepEqual(
    result.penalties.map((penalty) => penalty.peerId),
    ['liar'],
    JSON.stringify(result.penalties)
  )
}

/** Which of `peer`'s segments one of `others` was assigned as well (its check), once one was */
async function checkedSegment(peer: ScriptedPeer, others: string[]): Promise<number> {
  const until = Date.now() + 30_000
  for (;;) {
    const own = firstAssign(peer)
    const assigned = others.flatMap((id) =>
      (harness.peer(id)?.received ?? []).flatMap((frame) => frame.assign?.segments ?? [])
    )
    const checked = assigned.find((spec) => own.includes(spec.index))
    if (checked !== undefined) return checked.index
    if (Date.now() > until) throw new Error(`no check of ${peer.peerId}'s segments was assigned in 30 s`)
    await sleep(10)
  }
}

/** The lie was caught before the challenge: the job proved in its first run, only 'liar' failed and penalised */
function assertCaughtBeforeChallenge(result: HarnessResult): void {
  assertSucceeded(result)
  assert.equal(result.record.restarts ?? 0, 0, story(result))
  assert.deepEqual(failedPeers(result), ['liar'], story(result))
  assert.ok(result.penalties.length > 0, story(result))
  assert.ok(
    result.penalties.every((penalty) => penalty.peerId === 'liar'),
    JSON.stringify(result.penalties)
  )
  assert.ok(
    result.record.segments.every((segment) => segment.peerId !== 'liar' && segment.contributor !== 'liar'),
    story(result)
  )
}

const failedPeers = (result: HarnessResult): string[] =>
  kinds(result, 'peer-failed').map((event) => (event.kind === 'peer-failed' ? event.peer : ''))

/** `peerId` alone failed in the job, with `code` and a message that says `says` */
function assertOnlyFailed(result: HarnessResult, peerId: string, code: string, says: string): void {
  assert.deepEqual(failedPeers(result), [peerId], story(result))
  const failed = kinds(result, 'peer-failed')[0]
  assert.ok(
    failed?.kind === 'peer-failed' && failed.failure.code === code && failed.failure.message.includes(says),
    story(result)
  )
}

/** Two honest peers and `odd` behaving as it does: the job proves on the honest ones, `odd` alone is dropped */
async function dropsOnly(
  behaviour: PeerBehaviour,
  settings: HarnessOptions['settings'],
  code: string,
  says = ''
): Promise<HarnessResult> {
  harness = new JobHarness()
  harness.add('a', 2)
  harness.add('b', 2)
  harness.add('odd', 2, behaviour)
  const result = await harness.run({ settings })
  assertSucceeded(result)
  assertOnlyFailed(result, 'odd', code, says)
  assert.ok(
    result.record.segments.every((segment) => segment.peerId !== 'odd'),
    story(result)
  )
  return result
}

describe('JobRun against scripted peers', () => {
  it('proves a job over honest peers, and says so in kinds', async () => {
    harness = new JobHarness()
    for (const id of ['a', 'b', 'c']) harness.add(id, 2)
    const result = await harness.run()
    assertSucceeded(result)
    assert.equal(kinds(result, 'leased').length, 3)
    assert.equal(kinds(result, 'contributed').length, result.record.segments.length)
    assert.equal(kinds(result, 'proved').length, result.record.segments.length)
    assert.equal(kinds(result, 'aggregator').length, 1)
    assert.equal(kinds(result, 'final').length, 1)
    assert.deepEqual(failedPeers(result), [])
    assert.deepEqual(result.penalties, [])
  })

  it('leases elsewhere when a peer refuses, and reports the refusal for the back-off', async () => {
    harness = new JobHarness()
    harness.add('a', 2)
    harness.add('b', 2)
    harness.add('grumpy', 8, {
      reserve: (peer) => peer.send({ refused: { code: RefuseCode.BUSY, message: 'not today', freeUnits: 8 } })
    })
    const result = await harness.run({ computeCapacity: 4 })
    assertSucceeded(result)
    assert.ok(
      kinds(result, 'refused').some((event) => 'peer' in event && event.peer === 'grumpy'),
      story(result)
    )
    assert.ok(harness.refusals.includes('grumpy'))
    assert.ok(result.record.segments.every((segment) => segment.peerId !== 'grumpy'))
  })

  it('counts a Reserved with more units than asked as what was asked', async () => {
    harness = new JobHarness()
    harness.add('a', 2)
    harness.add('liar', 2, {
      reserve: (peer) =>
        peer.send({ reserved: { leaseId: 'l', units: 1_000_000, leaseMs: 60_000, submitterCap: 0 } })
    })
    const result = await harness.run({ computeCapacity: 4 })
    assertSucceeded(result)
    const liar = result.record.peers.find((peer) => peer.peerId === 'liar')
    const asked = harness.peer('liar')?.received.find((frame) => frame.reserve !== undefined)?.reserve?.units
    assert.ok(asked !== undefined && asked <= 4)
    assert.equal(liar?.units, asked, story(result))
    const blocks = (peerId: string): number =>
      result.record.segments
        .filter((segment) => segment.peerId === peerId)
        .reduce((sum, segment) => sum + segment.blockCount, 0)
    assert.ok(blocks('liar') <= blocks('a') * 2, `the liar got ${blocks('liar')} blocks, a ${blocks('a')}`)
  })

  it('says that peers capped the grant when the units leased fall short', async () => {
    harness = new JobHarness()
    for (const peerId of ['a', 'b'])
      harness.add(peerId, 2, {
        reserve: (peer) =>
          peer.send({ reserved: { leaseId: `l-${peerId}`, units: 1, leaseMs: 60_000, submitterCap: 1 } })
      })
    const result = await harness.run({ computeCapacity: 4, minimalComputeCapacity: 4 })
    assert.ok(result.error instanceof CapacityShortError, story(result))
    assert.equal(
      result.error.message,
      'needs 4 units, 2 could be leased: 2 of the 2 peers that granted units capped the grant at what they let one submitter hold (their security.max_units_per_submitter)'
    )
    assert.equal(harness.caps.limit('a', 2), 1, 'the cap stated is kept for the scheduler')
  })

  it('moves the segments of a peer that closes its job stream', async () => {
    const result = await dropsOnly({ contribute: (peer) => peer.hangUp() }, {}, 'LOST')
    assert.ok(kinds(result, 'takes-over').length > 0, story(result))
  })

  it('fails a silent peer after peer_timeout and carries on', async () => {
    await dropsOnly({ keepAliveMs: 0, contribute: () => undefined }, { peerTimeoutMs: 600 }, 'TIMEOUT')
  })

  it('takes the segments from a peer that sends keep-alives but never progresses, after progress_timeout', async () => {
    await dropsOnly(
      { prove: () => undefined },
      { progressTimeoutMs: 700 },
      'TIMEOUT',
      'jobs.progress_timeout'
    )
  })

  it('fails a peer that takes no input byte for transfer_idle_timeout', async () => {
    const hole: PeerBehaviour = {
      receiveSlice: async (_peer, _header, signal) => {
        await sleep(60_000, undefined, { signal }).catch(() => undefined)
        throw new Error('aborted')
      }
    }
    await dropsOnly(
      hole,
      { transferLimits: { ...TRANSFER_LIMIT_DEFAULTS, idleMs: 400 } },
      'TRANSFER',
      'transfer_idle_timeout'
    )
  })

  it('fails a peer that takes its input a byte at a time inside the idle timeout (the rate floor)', async () => {
    const trickle: PeerBehaviour = {
      receiveSlice: async (_peer, _header, signal, onSent) => {
        while (!signal.aborted) {
          onSent(1)
          await sleep(100, undefined, { signal }).catch(() => undefined)
        }
        throw new Error('aborted')
      }
    }
    const transferLimits = { idleMs: 400, minBytesPerSecond: 10_000, rateWindowMs: 500 }
    await dropsOnly(trickle, { transferLimits }, 'TRANSFER', 'jobs.transfer_min_rate')
  })

  it('fails an aggregator that trickles its final proof inside the idle timeout, and another aggregates', async () => {
    harness = new JobHarness()
    let first: string | undefined
    const behaviour: PeerBehaviour = {
      serveFinal: async (peer, dest, signal, onReceived) => {
        first ??= peer.peerId
        if (peer.peerId !== first) return honestServeFinal(peer, dest, signal, onReceived)
        while (!signal.aborted) {
          onReceived(1)
          await sleep(100, undefined, { signal }).catch(() => undefined)
        }
        throw new Error('aborted')
      }
    }
    for (const id of ['a', 'b', 'c']) harness.add(id, 2, behaviour)
    const transferLimits = { idleMs: 400, minBytesPerSecond: 10_000, rateWindowMs: 500 }
    const result = await harness.run({ settings: { transferLimits } })
    assertSucceeded(result)
    assertOnlyFailed(result, first as string, 'TRANSFER', 'jobs.transfer_min_rate')
    assert.deepEqual(result.penalties, [], 'a slow transfer shows no lie: nobody is penalised')
  })

  it('fails a peer that reports a segment that is not its own (garbage), not the job', async () => {
    const garbage: PeerBehaviour = {
      contribute: (peer) => peer.send({ contribution: { segment: 999, contribution: new Uint8Array(32) } })
    }
    await dropsOnly(garbage, {}, 'PROTOCOL', 'not its own')
  })

  it('penalises the maker of a partial proof the aggregator shows invalid, and moves its segments', async () => {
    harness = new JobHarness()
    const accuse = {
      fetch: (peer: ScriptedPeer, segment: number, from: string, sha256: Uint8Array<ArrayBuffer>) => {
        if (from !== 'forger') return honestFetch(peer, segment, from, sha256)
        peer.send({
          failed: { code: FailCode.PROOF_INVALID, message: 'bad FRI layer', segment, proofSha256: sha256 }
        })
      }
    }
    harness.add('a', 2, accuse)
    harness.add('b', 2, accuse)
    harness.add('forger', 2, { ...accuse, aggregate: () => undefined })
    const result = await harness.run()
    assertSucceeded(result)
    assert.ok(failedPeers(result).includes('forger'), story(result))
    assert.ok(!failedPeers(result).includes('a') && !failedPeers(result).includes('b'), story(result))
    assert.ok(result.penalties.some((penalty) => penalty.peerId === 'forger'))
    assert.ok(
      result.penalties.every((penalty) => penalty.peerId === 'forger'),
      JSON.stringify(result.penalties)
    )
  })

  it('fetches again when a proof pull fails once: nobody is blamed (issue 15: the cascade)', async () => {
    harness = new JobHarness()
    const flaky = new Set<string>()
    const once = {
      fetch: (peer: ScriptedPeer, segment: number, from: string, sha256: Uint8Array<ArrayBuffer>) => {
        const key = `${peer.peerId}/${segment}`
        if (flaky.has(key) || from === peer.peerId) return honestFetch(peer, segment, from, sha256)
        flaky.add(key)
        peer.send({
          failed: {
            code: FailCode.TRANSFER,
            message: 'Remote closed connection during opening',
            segment,
            proofSha256: sha256
          }
        })
      }
    }
    for (const id of ['a', 'b', 'c']) harness.add(id, 2, once)
    const result = await harness.run()
    assertSucceeded(result)
    assert.ok(flaky.size > 0, 'the pulls failed once')
    assert.deepEqual(failedPeers(result), [], story(result))
    assert.deepEqual(result.penalties, [])
  })

  it('relieves an aggregator that can reach no owner: another aggregates, nobody is failed or blamed', async () => {
    harness = new JobHarness()
    let cutOff: string | undefined
    const behaviour = {
      aggregate: (peer: ScriptedPeer) => {
        cutOff ??= peer.peerId
      },
      fetch: (peer: ScriptedPeer, segment: number, from: string, sha256: Uint8Array<ArrayBuffer>) => {
        if (peer.peerId !== cutOff || from === peer.peerId) return honestFetch(peer, segment, from, sha256)
        peer.send({
          failed: { code: FailCode.TRANSFER, message: 'connection refused', segment, proofSha256: sha256 }
        })
      }
    }
    for (const id of ['a', 'b', 'c', 'd']) harness.add(id, 2, behaviour)
    const result = await harness.run()
    assertSucceeded(result)
    assert.ok(cutOff !== undefined)
    assert.deepEqual(failedPeers(result), [], story(result))
    assert.deepEqual(result.penalties, [])
    const aggregators = kinds(result, 'aggregator').map((event) => ('peer' in event ? event.peer : ''))
    assert.equal(aggregators[0], cutOff, story(result))
    assert.ok(aggregators.length >= 2 && !aggregators.slice(1).includes(cutOff), story(result))
    assert.ok(result.record.aggregator !== cutOff)
  })

  it('drops the contribution of a peer lost before the challenge: its replacement computes the one recorded', async () => {
    harness = new JobHarness()
    // the others contribute only once the liar is gone, so that the challenge is not fixed before it is
    const gone = Promise.withResolvers<void>()
    const afterLiar = {
      contribute: async (peer: ScriptedPeer, segment: number) => {
        await gone.promise
        await honestContribute(peer, segment)
      }
    }
    for (const id of ['a', 'b', 'c']) harness.add(id, 2, afterLiar)
    harness.add('liar', 2, {
      contribute: (peer, segment) => {
        peer.send({ contribution: { segment, contribution: new Uint8Array(32).fill(7) } })
        peer.hangUp()
        setTimeout(() => gone.resolve(), 100)
      }
    })
    const result = await harness.run()
    assertSucceeded(result)
    assert.deepEqual(failedPeers(result), ['liar'], story(result))
    assert.ok(
      result.record.segments.every((segment) => segment.contributor !== 'liar'),
      story(result)
    )
  })

  it('catches a lie before the challenge: a second peer checks it, a third settles it, only the liar is dropped', async () => {
    harness = new JobHarness()
    for (const id of ['a', 'b', 'c']) harness.add(id, 2)
    harness.add('liar', 2, { contribute: contributeLie })
    const result = await harness.run()
    assertCaughtBeforeChallenge(result)
  })

  it('drops only the liar whatever order the contributions come in (a liar first, checking peers that have not delivered)', async () => {
    // CI (a busy machine) once ran the test above with the liar delivering first and checking c: the job waited
    // on its phase 2 deadline. Seeded delays play such orders on purpose; each run must end as the one above.
    const rng = new Rng(0x5eed)
    const lies: Array<'everywhere' | 'in checks' | 'in its own'> = ['everywhere', 'in checks', 'in its own']
    for (let run = 0; run < 24; run++) {
      const lie = lies[run % lies.length] as (typeof lies)[number]
      const honest = ['a', 'b', 'c', 'd'].slice(0, rng.range(2, 4))
      const delay = (): number => rng.int(40)
      harness = new JobHarness()
      for (const id of honest) {
        const ms = delay()
        harness.add(id, rng.range(1, 3), {
          contribute: async (peer, segment) => {
            await sleep(ms)
            await honestContribute(peer, segment)
          }
        })
      }
      const ms = delay()
      harness.add('liar', rng.range(1, 3), {
        contribute: async (peer, segment) => {
          await sleep(ms)
          const own = firstAssign(peer).includes(segment)
          if (lie === 'everywhere' || (lie === 'in checks') !== own) contributeLie(peer, segment)
          else await honestContribute(peer, segment)
        }
      })
      const result = await harness.run({ settings: { phase1TimeoutMs: 10_000, phase2TimeoutMs: 10_000 } })
      const what = `run ${run}: ${honest.length} honest peers, a liar lying ${lie}\n${story(result)}`
      assert.equal(result.error, undefined, what)
      assert.equal(result.record.state, 'succeeded', what)
      assert.equal(result.record.restarts ?? 0, 0, what)
      assert.ok(
        failedPeers(result).every((peerId) => peerId === 'liar'),
        what
      )
      assert.ok(
        result.penalties.every((penalty) => penalty.peerId === 'liar'),
        what
      )
      harness.close()
    }
  })

  it('leases a checker and a referee from the table when the liar held the whole job', async () => {
    harness = new JobHarness()
    // more units than the job asks: the liar alone is leased; a and b stay in the table
    harness.add('liar', 4, { contribute: contributeLie })
    for (const id of ['a', 'b']) harness.add(id, 1)
    const result = await harness.run({ computeCapacity: 4 })
    assertCaughtBeforeChallenge(result)
  })

  it('drops a checker that lies about the segment it checks; the owner keeps it', async () => {
    harness = new JobHarness()
    // a and b-liar share the job and check each other; c stays in the table and referees
    harness.add('a', 2)
    const own = new Set<number>()
    harness.add('b-liar', 2, {
      contribute: async (peer, segment) => {
        // its own segments come in its first Assign; what it is asked to check comes later
        if (own.size === 0) for (const spec of firstAssign(peer)) own.add(spec)
        if (own.has(segment)) await honestContribute(peer, segment)
        else contributeLie(peer, segment)
      }
    })
    harness.add('c', 2)
    const result = await harness.run({ computeCapacity: 4 })
    assertSucceeded(result)
    assert.deepEqual(failedPeers(result), ['b-liar'], story(result))
    assert.deepEqual(
      [...new Set(result.penalties.map((penalty) => penalty.peerId))],
      ['b-liar'],
      JSON.stringify(result.penalties)
    )
    assert.ok(
      result.record.segments.some((segment) => segment.peerId === 'a'),
      `a kept its segments: ${story(result)}`
    )
  })

  it('starts the job again when a lie escaped the check and reached the challenge', async () => {
    harness = new JobHarness()
    for (const id of ['a', 'b', 'c']) harness.add(id, 2)
    // a liar with more than one segment that knows which one is checked (the worst case: it cannot see that in the
    // protocol) tells the truth there, and in the checks it is asked to make, and lies in another of its own; it
    // hangs up once the challenge is fixed from its lie, and its replacement computes the truth
    harness.add('liar', 4, {
      contribute: async (peer, segment) => {
        const checked = await checkedSegment(peer, ['a', 'b', 'c'])
        if (segment === checked || !firstAssign(peer).includes(segment)) await honestContribute(peer, segment)
        else contributeLie(peer, segment)
      },
      prove: (peer) => peer.hangUp()
    })
    const result = await harness.run({ computeCapacity: 10 })
    assert.ok(firstAssign(harness.peer('liar') as ScriptedPeer).length > 1, 'the liar held two segments')
    assertRestartedBlamingLiar(result)
  })

  it('settles a replacement that lies about a contribution after the challenge: the referee takes the segment', async () => {
    harness = new JobHarness()
    for (const id of ['a', 'b']) harness.add(id, 2)
    harness.add('c', 2, { prove: (peer) => peer.hangUp() })
    // ranked after a, b and c (same units, later id): leased only as c's replacement
    harness.add('z-liar', 2, {
      contribute: (peer, segment) =>
        peer.send({ contribution: { segment, contribution: new Uint8Array(32).fill(9) } })
    })
    const result = await harness.run({ computeCapacity: 6 })
    assertSucceeded(result)
    assert.deepEqual(failedPeers(result).sort(), ['c', 'z-liar'], story(result))
    assert.ok(
      result.penalties.every((penalty) => penalty.peerId === 'z-liar'),
      JSON.stringify(result.penalties)
    )
    assert.ok(result.penalties.length > 0, story(result))
  })

  it('proves a segment that max_retries + 1 peers falsely said their prover refuses, on this daemon, with the default max_retries', async () => {
    harness = new JobHarness()
    // each liar says its prover refuses the lowest segment it was given: the same one, as it moves from liar to
    // liar (a replacement takes the segments in order); ranked after a-self, the liars after l1 are spares
    const refuseLowest: PeerBehaviour = {
      contribute: (peer) => {
        if (peer.ended) return
        const segment = Math.min(...peer.segments.keys())
        peer.send({
          failed: {
            code: FailCode.PROVER,
            message: 'INVALID_SEGMENT',
            segment,
            proofSha256: new Uint8Array()
          }
        })
      }
    }
    harness.add('a-self', 4, { local: true })
    for (const id of ['l1', 'l2', 'l3']) harness.add(id, 4, refuseLowest)
    const result = await harness.run({ computeCapacity: 8 })
    assertSucceeded(result)
    assert.deepEqual(failedPeers(result).sort(), ['l1', 'l2', 'l3'], story(result))
    const refused = kinds(result, 'peer-failed').map((event) =>
      event.kind === 'peer-failed' ? event.failure.segment : undefined
    )
    assert.equal(new Set(refused).size, 1, `the liars named one segment: ${story(result)}`)
    assert.equal(result.record.segments[refused[0] as number]?.peerId, 'a-self', story(result))
    assert.deepEqual(result.penalties, [], 'a refusal shows no lie: nobody is penalised')
  })

  it('fails an aggregator that announces a final proof before every segment is proved, and another aggregates', async () => {
    harness = new JobHarness()
    // hasty proves at once and is named aggregator first; it announces a final proof before slow proved its own
    harness.add('hasty', 2, {
      aggregate: (peer, contributions) =>
        peer.send({
          final: {
            digest: new Uint8Array(32),
            size: 6n,
            sha256: new Uint8Array(32),
            segments: contributions.length
          }
        })
    })
    harness.add('slow', 2, {
      prove: async (peer, segment) => {
        await sleep(300)
        await honestProve(peer, segment)
      }
    })
    const result = await harness.run({ computeCapacity: 4 })
    assertSucceeded(result)
    assertOnlyFailed(result, 'hasty', 'PROTOCOL', 'not proved yet')
  })

  it('penalises an aggregator whose final proof is invalid, and another aggregates', async () => {
    harness = new JobHarness()
    let first: string | undefined
    const behaviour = {
      serveFinal: async (peer: ScriptedPeer, dest: string) => {
        first ??= peer.peerId
        const bytes = peer.peerId === first ? new TextEncoder().encode('forged') : (peer.final as Uint8Array)
        await writeFile(dest, bytes)
        return { size: bytes.byteLength, sha256: new Uint8Array(createHash('sha256').update(bytes).digest()) }
      }
    }
    for (const id of ['a', 'b', 'c']) harness.add(id, 2, behaviour)
    const result = await harness.run()
    // the forged bytes are not the ones the aggregator announced: that alone fails it
    assertSucceeded(result)
    assert.deepEqual(failedPeers(result), [first], story(result))
    assert.ok(result.penalties.some((penalty) => penalty.peerId === first))
  })
})
