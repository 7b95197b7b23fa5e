/**
 * What a fuzz run is: its cases per surface, its seed and its surfaces (from FUZZ_CASES, FUZZ_SEED and
 * FUZZ_SURFACES), and the fixed limits every case runs under. Read once, when the suite loads, so that a bad
 * setting fails the run before any daemon starts, and the seed is printed first.
 */
import { randomInt } from 'node:crypto'

export const CASES = Number(process.env.FUZZ_CASES ?? 10_000)
export const SEED = process.env.FUZZ_SEED === undefined ? randomInt(2 ** 32) : Number(process.env.FUZZ_SEED)
export const ALL_SURFACES = ['job', 'inputs', 'hints', 'proof', 'status', 'gossip', 'http', 'npp'] as const
export type SurfaceName = (typeof ALL_SURFACES)[number]
export const SURFACES = new Set(
  (process.env.FUZZ_SURFACES ?? ALL_SURFACES.join(',')).split(',').map((s) => s.trim())
)
export const DAEMON_SURFACES = ALL_SURFACES.filter((name) => name !== 'npp' && SURFACES.has(name))

/** A stream case: write, then read what comes back for at most this long */
export const CASE_DEADLINE_MS = 2_000
/** A case that keeps its stream open without closing it gives up after this long */
export const HOLD_MS = 1_000
/** An HTTP request gets this long to be answered */
export const HTTP_DEADLINE_MS = 1_000
/** A stream still open past the deadline gets this much longer to be closed or reset by the daemon */
export const LATE_MS = 10_000
/** Past its own deadline and LATE_MS, a case that has still not ended is counted as stuck */
export const STUCK_MS = LATE_MS + 5_000
/** What the fuzzer reads of a reply at most */
export const MAX_REPLY_BYTES = 256 * 1024
/** The program the daemon's native prover runs, and its block size (protocols/native-prover.md) */
export const PROGRAM = 'rescue-sponge'
export const BLOCK_BYTES = 56

if (!Number.isInteger(CASES) || CASES < 1) throw new Error(`FUZZ_CASES must be a positive integer`)
if (!Number.isInteger(SEED) || SEED < 0 || SEED >= 2 ** 32)
  throw new Error('FUZZ_SEED must be an integer in [0, 2^32)')
process.stderr.write(
  `fuzz: seed ${SEED} (replay with FUZZ_SEED=${SEED}), ${CASES} cases per surface: ${[...SURFACES].join(', ')}\n`
)
