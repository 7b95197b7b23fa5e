import { rm } from 'node:fs/promises'
import { FailCode, type PeerFrame, type SubmitterFrame } from '../../../protocols/job/pb/job.js'
import type { Logger } from '../../log/index.js'
import type { FrameDuplex } from '../../net/frame-duplex.js'
import type { Lease } from '../leases.js'
import { Assignments } from './assignment.js'
import { SessionError } from './failure.js'
import { SegmentInputs } from './inputs.js'
import { SessionStream } from './stream.js'

/** What WorkerService gives every job session, a segment one (session.ts) or a whole-job one (../whole-session.ts) */
export interface SessionInit {
  jobId: string
  lease: Lease
  program: string
  inputSize: number
  workDir: string
  inputsFolder: string
  /** How long a slice or the hints wait for the Assign they belong to */
  assignWaitMs: number
  /** The session ends if no Assign comes this long after Reserved (FIRST_ASSIGN_DEADLINE_MS) */
  firstAssignDeadlineMs: number
  channel: FrameDuplex<SubmitterFrame, PeerFrame>
  logger: Logger
  /** Called once, when the session is over, with why */
  onEnd: (reason: string) => void
  /** Any frame from the submitter renews the lease */
  renewLease: () => void
  /** How often this peer sends the submitter a frame (KeepAlive when it has nothing else to say) */
  keepAliveMs: number
}

/** The parts every job session is made of, whatever it does with the frames */
export interface SessionParts {
  /** Aborts when the session ends: every wait and every prover call of the session stops with it */
  signal: AbortSignal
  assignments: Assignments
  inputs: SegmentInputs
  stream: SessionStream
  /**
   * Ends the session once, with why: no more frames out, the signal aborts, `stopWork` stops the session's prover
   * work (before the work folder it writes into goes), the job stream closes, the folder goes, onEnd is told
   */
  end(reason: string, stopWork: () => Promise<unknown>): Promise<void>
}

/**
 * A session's Assignments, SegmentInputs and SessionStream, wired to one another and to the session's life: `log`
 * is its logger, `stop` ends it with why (the session's own stop, which calls `end`).
 */
export function sessionParts(
  init: SessionInit,
  session: { log: Logger; stop: (reason: string) => Promise<void> }
): SessionParts {
  const controller = new AbortController()
  const { signal } = controller
  const ctx = { jobId: init.jobId, inputSize: init.inputSize, workDir: init.workDir, signal }
  const assignments = new Assignments(ctx)
  const inputs = new SegmentInputs(ctx, assignments, init)
  const stream = new SessionStream({ ...init, ...session, signal, assignments })
  const end = async (reason: string, stopWork: () => Promise<unknown>): Promise<void> => {
    if (stream.ended) return
    stream.close()
    session.log.info({ reason }, 'job session ended')
    controller.abort(new SessionError(FailCode.CANCELLED, reason))
    await stopWork().catch(() => undefined)
    await init.channel.close().catch(() => undefined)
    await rm(init.workDir, { recursive: true, force: true }).catch(() => undefined)
    init.onEnd(reason)
  }
  return { signal, assignments, inputs, stream, end }
}
