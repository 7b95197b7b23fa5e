/**
 * Seeded randomness: a small PRNG, one per case (seeded by the run's seed, the surface and the case number, so
 * that a case replays alone whatever the concurrency), and the random strings and JSON the generators share.
 */
import { Rng } from '../../helpers/rng.js'
import { SEED } from './settings.js'

export { Rng }

function hash32(text: string): number {
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0
  return hash
}

/** murmur3's finaliser over two words */
function mix(a: number, b: number): number {
  let h = (a ^ Math.imul(b + 0x9e3779b9, 0x85ebca6b)) >>> 0
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}

export function caseRng(surface: string, index: number): Rng {
  return new Rng(mix(mix(SEED, hash32(surface)), index))
}

const PRINTABLE = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:%?=&+ '
const ODD_STRINGS = ['', '\u0000', '\ud800', '\u202e', '..', '../..', '%00', '%s%n', '\r\n', 'é', '\uffff']

export function randomString(rng: Rng, max = 24): string {
  if (rng.bool(0.2)) return rng.pick(ODD_STRINGS)
  const length = rng.int(max + 1)
  let text = ''
  for (let i = 0; i < length; i++) {
    text += rng.bool(0.9)
      ? PRINTABLE.charAt(rng.int(PRINTABLE.length))
      : String.fromCharCode(rng.int(0x10000))
  }
  return text
}

/** Keys of random JSON objects: the job request's fields, and names that have bitten JavaScript before */
export const JSON_KEYS = [
  'program',
  'inputMode',
  'input',
  'hints',
  'kind',
  'path',
  'computeCapacity',
  'minimalComputeCapacity',
  'priority',
  'dataId',
  'timeoutMs',
  'webhookUrl',
  'saveProof',
  '__proto__',
  'constructor',
  'toString',
  'valueOf',
  'then',
  'length',
  ''
]

export function randomJson(rng: Rng, depth = 0): unknown {
  switch (rng.int(depth > 4 ? 4 : 7)) {
    case 0:
      return null
    case 1:
      return rng.bool()
    case 2:
      return rng.pick([0, -1, 1, 1.5, 2 ** 31, 2 ** 53, 2 ** 53 + 2, 1e308, -1e308, 5e-324, rng.int(1000)])
    case 3:
      return randomString(rng)
    case 4:
    case 5: {
      const object: Record<string, unknown> = {}
      const count = rng.int(6)
      for (let i = 0; i < count; i++) {
        const key = rng.bool(0.8) ? rng.pick(JSON_KEYS) : randomString(rng)
        // an own "__proto__" key, as JSON.parse makes it
        Object.defineProperty(object, key, {
          value: randomJson(rng, depth + 1),
          enumerable: true,
          writable: true,
          configurable: true
        })
      }
      return object
    }
    default:
      return Array.from({ length: rng.int(5) }, () => randomJson(rng, depth + 1))
  }
}
