import { readdirSync } from 'node:fs'
import { getPriority, setPriority } from 'node:os'

/** The largest nice value there is: the lowest priority a process can have */
export const MAX_NICE = 19

/**
 * How many times the thread list is read again for threads started while the others were lowered: a prover
 * that keeps starting threads faster than this gives up the last few (they keep the daemon's priority)
 */
const ROUNDS = 8

/** The threads of a process: /proc/PID/task on Linux; elsewhere the process as a whole */
function threadsOf(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).map(Number)
  } catch {
    return [pid]
  }
}

/**
 * Puts a child process `steps` nice levels below this one (capped at 19), so that the daemon's event loop
 * (keep-alives, frames, the API) runs before the prover's threads whenever both want a core. Measured with
 * three peers proving an 8 MiB job on 2 cores, the provers alone on the cores: the daemons' time waiting for a
 * core fell from 30 to 14 s (15 to 10 s in a second run), the job took as long. The cost: other work at normal
 * priority on the host now comes first; beside two busy loops the same job took 2 to 4 times longer.
 *
 * Linux keeps the nice value per thread and a new thread takes its creator's: every thread the child has now
 * is lowered, and the threads it starts later inherit it. Called before the first request reaches the child,
 * its proving threads (and the processes they fork) all start lowered. Returns the nice value set, or
 * undefined when the system refused (the child then runs at the daemon's priority).
 */
export function lowerPriority(pid: number, steps: number): number | undefined {
  if (steps <= 0) return undefined
  const nice = Math.min(MAX_NICE, getPriority() + steps)
  const lowered = new Set<number>()
  for (let round = 0; round < ROUNDS; round++) {
    const fresh = threadsOf(pid).filter((tid) => !lowered.has(tid))
    if (fresh.length === 0) break
    for (const tid of fresh) {
      lowered.add(tid)
      try {
        setPriority(tid, nice)
      } catch {
        // a thread that ended meanwhile; the main thread's refusal is seen below
      }
    }
  }
  try {
    return getPriority(pid) === nice ? nice : undefined
  } catch {
    return undefined
  }
}
