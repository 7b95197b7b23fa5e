/**
 * Checks what a prover answers against the shapes of protocols/native-prover.md before anything else reads it: a
 * reply of another shape is the prover's protocol error, named by method and field ("the reply to 'prove' has
 * result.sha256 = "xyz": expected 64 lower-case hex digits"), not an error far away ("Non-base16 character").
 */
import { ProverProtocolError } from './errors.js'
import type { NppMethod, PlanResult, PlanV1Result } from './types.js'

type Check = (value: unknown) => string | undefined

const HEX = /^(?:[0-9a-f]{2})*$/
const SHA256 = /^[0-9a-f]{64}$/

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

const string: Check = (value) => (typeof value === 'string' ? undefined : 'a string')
const boolean: Check = (value) => (typeof value === 'boolean' ? undefined : 'true or false')
/** Integers stay below 2^53 (the spec's conventions) */
const count: Check = (value) =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? undefined : 'an integer ≥ 0'
const hex: Check = (value) =>
  typeof value === 'string' && HEX.test(value) ? undefined : 'lower-case hex (an even number of digits)'
const sha256: Check = (value) =>
  typeof value === 'string' && SHA256.test(value) ? undefined : '64 lower-case hex digits'

interface Shape {
  [field: string]: Check | Shape | [Check | Shape] | { optional: Check | Shape }
}

function optional(check: Check | Shape): { optional: Check | Shape } {
  return { optional: check }
}

const SEGMENT: Shape = {
  index: count,
  startBlock: count,
  blockCount: count,
  inputOffset: count,
  inputLength: count
}

const RESULTS: Record<NppMethod, Shape> = {
  hello: {
    name: string,
    version: string,
    protocol: count,
    programs: [
      { id: string, description: string, segmented: boolean, blockBytes: count, maxSegmentBlocks: count }
    ],
    gpus: [{ index: count, name: string, memoryMiB: count }]
  },
  plan: {
    program: string,
    inputSize: count,
    totalBlocks: count,
    initialState: hex,
    hints: optional({ path: string, size: count }),
    digest: optional(hex)
  },
  contribute: { segment: count, contribution: hex },
  prove: { segment: count, size: count, sha256, millis: count },
  aggregate: { digest: hex, size: count, sha256, segments: count },
  verify: {
    valid: boolean,
    digest: optional(hex),
    inputSize: optional(count),
    job: optional(string),
    segments: optional(count),
    reason: optional(string)
  },
  cancel: { cancelled: count },
  shutdown: {},
  ping: {}
}

function isShape(check: Check | Shape): check is Shape {
  return typeof check !== 'function'
}

/** The first field that does not fit, as [path, what was expected, what came] */
function mismatch(value: unknown, shape: Check | Shape, path: string): [string, string, unknown] | undefined {
  if (!isShape(shape)) {
    const expected = shape(value)
    return expected === undefined ? undefined : [path, expected, value]
  }
  if (!isObject(value)) return [path, 'an object', value]
  for (const [field, rule] of Object.entries(shape)) {
    const at = `${path}.${field}`
    const item = value[field]
    if (Array.isArray(rule)) {
      if (!Array.isArray(item)) return [at, 'an array', item]
      for (const [i, element] of item.entries()) {
        const found = mismatch(element, rule[0], `${at}[${i}]`)
        if (found !== undefined) return found
      }
    } else if ('optional' in rule && (typeof rule.optional === 'function' || isObject(rule.optional))) {
      if (item !== undefined) {
        const found = mismatch(item, rule.optional, at)
        if (found !== undefined) return found
      }
    } else {
      if (item === undefined) return [at, 'present', item]
      const found = mismatch(item, rule, at)
      if (found !== undefined) return found
    }
  }
  return undefined
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing'
  const text = JSON.stringify(value)
  return text.length > 80 ? `${text.slice(0, 80)}…` : text
}

/** What NPP v1's `plan` answers on top of v2's */
const V1_PLAN: Shape = { segments: [{ ...SEGMENT, worker: string }] }

function checkShape(method: NppMethod, shape: Shape, result: unknown): void {
  const found = mismatch(result, shape, 'result')
  if (found === undefined) return
  const [path, expected, got] = found
  throw new ProverProtocolError(`the reply to '${method}' has ${path} = ${show(got)}: expected ${expected}`)
}

/** Throws ProverProtocolError naming the method and the first field that breaks the spec's shape */
export function checkResult(method: NppMethod, result: unknown): void {
  checkShape(method, RESULTS[method], result)
}

/** A v1 prover's `plan` answer (already checked as v2's) with its segments checked too */
export function checkV1Plan(result: PlanResult): PlanV1Result {
  checkShape('plan', V1_PLAN, result)
  return result as PlanV1Result
}
