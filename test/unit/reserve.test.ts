import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { reserveInWaves, type ReserveCandidate } from '../../src/job/reserve.js'

interface Grant {
  peerId: string
  units: number
}

/**
 * Scripted peers: an honest one grants what it is asked (up to its free units) on the next turn, a refusing one
 * answers undefined, a staller answers only when the test lets it (what a tarpit does until its deadline)
 */
function scripted(behaviour: Record<string, 'grant' | 'refuse' | 'stall'>) {
  const asked: Array<{ peerId: string; units: number }> = []
  const stalled = new Map<string, (grant: Grant | undefined) => void>()
  const ask = async (candidate: ReserveCandidate, units: number): Promise<Grant | undefined> => {
    asked.push({ peerId: candidate.peerId, units })
    const how = behaviour[candidate.peerId] ?? 'refuse'
    if (how === 'stall') {
      return new Promise((resolve) => stalled.set(candidate.peerId, resolve))
    }
    await new Promise((resolve) => setImmediate(resolve))
    return how === 'grant' ? { peerId: candidate.peerId, units } : undefined
  }
  return { asked, stalled, ask }
}

/** Reserves `need` units from `candidates` (peer id, free units) through the scripted peers */
async function reserve(
  script: ReturnType<typeof scripted>,
  candidates: Array<[string, number]>,
  need: number,
  options: { maxPeers?: number; hedgeMs?: number; late?: (grant: Grant) => void; signal?: AbortSignal } = {}
): Promise<{ kept: Grant[]; surplus: Grant[] }> {
  return reserveInWaves({
    candidates: candidates.map(([peerId, unitsFree]): ReserveCandidate => ({ peerId, unitsFree })),
    need,
    maxPeers: options.maxPeers ?? 16,
    hedgeMs: options.hedgeMs ?? 60_000,
    ask: script.ask,
    unitsOf: (grant) => grant.units,
    late: options.late ?? (() => undefined),
    signal: options.signal
  })
}

describe('reserve in waves', () => {
  it('asks only the best-ranked peers that cover the need when they answer', async () => {
    const script = scripted({ a: 'grant', b: 'grant', c: 'grant' })
    const late: Grant[] = []
    const outcome = await reserve(
      script,
      [
        ['a', 4],
        ['b', 4],
        ['c', 4]
      ],
      6,
      { late: (grant) => late.push(grant) }
    )
    assert.deepEqual(script.asked, [
      { peerId: 'a', units: 4 },
      { peerId: 'b', units: 2 }
    ])
    assert.deepEqual(
      outcome.kept.map((grant) => grant.peerId),
      ['a', 'b']
    )
    assert.deepEqual(outcome.surplus, [])
    assert.deepEqual(late, [])
  })

  it('replaces a refusal with the next candidate at once', async () => {
    const script = scripted({ a: 'refuse', b: 'grant', c: 'grant' })
    const outcome = await reserve(
      script,
      [
        ['a', 8],
        ['b', 4],
        ['c', 4]
      ],
      8
    )
    assert.deepEqual(
      script.asked.map((entry) => entry.peerId),
      ['a', 'b', 'c']
    )
    assert.equal(
      outcome.kept.reduce((sum, grant) => sum + grant.units, 0),
      8
    )
  })

  it('does not wait for ten stallers ranked first: after the hedge everyone else is asked', async () => {
    const behaviour: Record<string, 'grant' | 'stall'> = { honest1: 'grant', honest2: 'grant' }
    const fakes = Array.from({ length: 10 }, (_, i) => `fake${i}`)
    for (const fake of fakes) behaviour[fake] = 'stall'
    const script = scripted(behaviour)
    const late: Grant[] = []
    const outcome = await reserve(
      script,
      [...fakes.map((fake): [string, number] => [fake, 1_000_000]), ['honest1', 2], ['honest2', 2]],
      4,
      { hedgeMs: 20, late: (grant) => late.push(grant) }
    )
    // the first wave was the first fake alone (it claims to cover everything); the hedge asked all the rest
    assert.equal(script.asked[0]?.peerId, 'fake0')
    assert.deepEqual(
      outcome.kept.map((grant) => grant.peerId),
      ['honest1', 'honest2']
    )
    assert.equal(script.stalled.size, 10, 'every fake was asked, and none had answered when the phase ended')
    // a staller that grants after the phase is handed back to the caller to release
    script.stalled.get('fake3')?.({ peerId: 'fake3', units: 4 })
    await new Promise((resolve) => setImmediate(resolve))
    assert.deepEqual(
      late.map((grant) => grant.peerId),
      ['fake3']
    )
  })

  it('hands back every grant beyond the need, during the phase or after it', async () => {
    const script = scripted({ slow: 'stall', b: 'grant', c: 'grant' })
    const late: Grant[] = []
    const outcome = await reserve(
      script,
      [
        ['slow', 4],
        ['b', 4],
        ['c', 4]
      ],
      4,
      { hedgeMs: 20, late: (grant) => late.push(grant) }
    )
    script.stalled.get('slow')?.({ peerId: 'slow', units: 4 })
    await new Promise((resolve) => setTimeout(resolve, 10))
    const kept = outcome.kept.map((grant) => grant.peerId)
    assert.equal(kept.length, 1, `one grant covers the need: ${kept.join(', ')}`)
    const handedBack = [...outcome.surplus, ...late].map((grant) => grant.peerId).sort()
    assert.deepEqual(
      [...kept, ...handedBack].sort(),
      ['b', 'c', 'slow'],
      'every other grant is handed back, none kept twice'
    )
    assert.ok(handedBack.includes('slow'), 'the staller that answered late is handed back')
  })

  it('keeps to the peer cap and stops when the job ends', async () => {
    const behaviour: Record<string, 'stall'> = {}
    const names = Array.from({ length: 8 }, (_, i) => `p${i}`)
    for (const name of names) behaviour[name] = 'stall'
    const script = scripted(behaviour)
    const controller = new AbortController()
    const pending = reserve(
      script,
      names.map((name): [string, number] => [name, 1]),
      8,
      { maxPeers: 3, hedgeMs: 10, signal: controller.signal }
    )
    await new Promise((resolve) => setTimeout(resolve, 50))
    assert.equal(script.asked.length, 3, 'no more than the cap in play')
    controller.abort()
    const outcome = await pending
    assert.deepEqual(outcome.kept, [])
  })

  it('asks again after the hedge when a peer in play refuses and frees a slot', async () => {
    const script = scripted({ a: 'stall', b: 'refuse', c: 'grant' })
    const outcome = await reserve(
      script,
      [
        ['a', 2],
        ['b', 2],
        ['c', 2]
      ],
      2,
      { maxPeers: 2, hedgeMs: 10 }
    )
    assert.deepEqual(
      script.asked.map((entry) => entry.peerId),
      ['a', 'b', 'c']
    )
    assert.deepEqual(
      outcome.kept.map((grant) => grant.peerId),
      ['c']
    )
  })
})
