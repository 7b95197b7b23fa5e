/**
 * A real JobRun (test/helpers/job-harness.ts) against peers whose frames come in random orders: each case draws
 * 3–5 honest peers and a liar (lying everywhere, in checks only, in its own segments only, or not at all), their
 * units, the job's size, a delay per peer before each contribution and each proof, and maybe one honest peer lost
 * (while contributing, while proving, or just after its proofs). The run must prove the job without a restart,
 * and fail and penalise no one but the liar and the lost peer. Hand-written tests pin the orders someone thought
 * of; the six bugs of the job run this fuzzer found at once (disputes, checks, the aggregator's fetches) were
 * each in an order nobody had.
 *
 * `JOB_ORDER_CASES` cases (default 1,000; `npm test` runs 60). Each case is drawn from its own PRNG seeded by
 * `JOB_ORDER_SEED` (printed) and the case number: `JOB_ORDER_SEED=<seed> JOB_ORDER_FROM=<case>` replays from a
 * case. The delays are real time, so a replay takes the same decisions but may not meet the same race.
 */
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, it } from 'node:test'
import {
  contributeLie,
  firstAssign,
  honestContribute,
  honestProve,
  JobHarness
} from '../helpers/job-harness.js'
import { Rng } from '../helpers/rng.js'

const CASES = Number(process.env.JOB_ORDER_CASES ?? 1_000)
const SEED = Number(process.env.JOB_ORDER_SEED ?? Date.now() % 2 ** 31)
const FROM = Number(process.env.JOB_ORDER_FROM ?? 0)

const LIES = ['everywhere', 'in checks', 'in its own', 'nowhere'] as const
const LOSSES = ['while contributing', 'while proving', 'after its proofs'] as const
type Lie = (typeof LIES)[number]
type Loss = (typeof LOSSES)[number]

interface OrderCase {
  honest: Array<{ id: string; units: number; contributeMs: number; proveMs: number }>
  liar: { units: number; contributeMs: number; lie: Lie }
  lost?: { id: string; when: Loss }
  computeCapacity: number
}

const pick = <T>(rng: Rng, list: readonly T[]): T => list[rng.int(list.length)] as T

function drawCase(rng: Rng): OrderCase {
  const honest = ['a', 'b', 'c', 'd', 'e'].slice(0, rng.range(3, 5)).map((id) => ({
    id,
    units: rng.range(1, 3),
    contributeMs: rng.int(40),
    proveMs: rng.int(40)
  }))
  const liar = { units: rng.range(1, 3), contributeMs: rng.int(40), lie: pick(rng, LIES) }
  const lost = rng.bool(0.6) ? { id: pick(rng, honest).id, when: pick(rng, LOSSES) } : undefined
  const units = honest.reduce((sum, peer) => sum + peer.units, liar.units)
  return { honest, liar, lost, computeCapacity: rng.range(2, units) }
}

async function runCase(order: OrderCase): Promise<string | undefined> {
  const harness = new JobHarness()
  try {
    let lost = false
    const loses = (id: string, when: Loss): boolean =>
      !lost && order.lost?.id === id && order.lost.when === when && (lost = true)
    for (const peer of order.honest) {
      harness.add(peer.id, peer.units, {
        contribute: async (scripted, segment) => {
          await sleep(peer.contributeMs)
          if (loses(peer.id, 'while contributing')) scripted.hangUp()
          else await honestContribute(scripted, segment)
        },
        prove: async (scripted, segment) => {
          await sleep(peer.proveMs)
          if (loses(peer.id, 'while proving')) return scripted.hangUp()
          await honestProve(scripted, segment)
          if (loses(peer.id, 'after its proofs')) setTimeout(() => scripted.hangUp(), 5)
        }
      })
    }
    const { lie } = order.liar
    harness.add('liar', order.liar.units, {
      contribute: async (scripted, segment) => {
        await sleep(order.liar.contributeMs)
        const own = firstAssign(scripted).includes(segment)
        if (lie === 'everywhere' || (lie === 'in checks' && !own) || (lie === 'in its own' && own))
          contributeLie(scripted, segment)
        else await honestContribute(scripted, segment)
      }
    })
    const result = await harness.run({
      computeCapacity: order.computeCapacity,
      settings: { phase1TimeoutMs: 20_000, phase2TimeoutMs: 20_000, aggregateTimeoutMs: 20_000 }
    })
    const mayFail = new Set(['liar', ...(order.lost === undefined ? [] : [order.lost.id])])
    const failed = result.events.flatMap((event) => (event.kind === 'peer-failed' ? [event.peer] : []))
    const problems = [
      result.error === undefined ? '' : `the run failed: ${result.error.message}`,
      result.record.state === 'succeeded' ? '' : `it ended ${result.record.state}`,
      (result.record.restarts ?? 0) === 0 ? '' : `it restarted ${result.record.restarts} time(s)`,
      failed.every((peerId) => mayFail.has(peerId)) ? '' : `failed: ${failed.join(', ')}`,
      result.penalties.every((penalty) => penalty.peerId === 'liar')
        ? ''
        : `penalised: ${result.penalties.map((penalty) => penalty.peerId).join(', ')}`
    ].filter((problem) => problem !== '')
    if (problems.length === 0) return undefined
    const story = result.events
      .filter((event) => event.kind !== 'progress' && event.kind !== 'state')
      .map((event) => `  ${event.kind} ${'peer' in event ? (event.peer ?? '') : ''} ${event.message ?? ''}`)
    return [problems.join('; '), JSON.stringify(order), ...story].join('\n')
  } finally {
    harness.close()
  }
}

describe('job runs in random orders (a liar, a lost peer, random delays)', () => {
  it(`proves every job, failing only the liar and the lost peer (${CASES} cases, seed ${SEED})`, async () => {
    const failures: string[] = []
    for (let n = FROM; n < FROM + CASES && failures.length < 3; n++) {
      const failure = await runCase(drawCase(new Rng(SEED ^ Math.imul(n + 1, 0x9e3779b1))))
      if (failure !== undefined)
        failures.push(`case ${n} (JOB_ORDER_SEED=${SEED} JOB_ORDER_FROM=${n}): ${failure}`)
    }
    assert.deepEqual(failures, [], failures.join('\n\n'))
  })
})
