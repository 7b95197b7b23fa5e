import { createHash } from 'node:crypto'

/** Domain separation, so that this hash cannot collide with any other SHA-256 use in the protocol */
const CHALLENGE_DOMAIN = 'proofmesh/challenge/1'

const HEX = /^(?:[0-9a-f]{2})*$/

function u32be(value: number): Buffer {
  const bytes = Buffer.alloc(4)
  bytes.writeUInt32BE(value)
  return bytes
}

/**
 * The global challenge of NPP v1, fixed once every contribution is in:
 * SHA-256("proofmesh/challenge/1" ‖ u32be(len(job)) ‖ utf8(job) ‖ for each segment: u32be(len(c_i)) ‖ c_i).
 * `contributions` are lower-case hex in segment order; the result is lower-case hex.
 */
export function computeChallenge(job: string, contributions: string[]): string {
  const hash = createHash('sha256')
  const jobBytes = Buffer.from(job, 'utf8')
  hash.update(CHALLENGE_DOMAIN)
  hash.update(u32be(jobBytes.length))
  hash.update(jobBytes)
  for (const contribution of contributions) {
    // Buffer.from would silently drop bad hex and give a challenge nobody else computes
    if (!HEX.test(contribution)) {
      throw new TypeError('a contribution is not lower-case hex of whole bytes')
    }
    const bytes = Buffer.from(contribution, 'hex')
    hash.update(u32be(bytes.length))
    hash.update(bytes)
  }
  return hash.digest('hex')
}
