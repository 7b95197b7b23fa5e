import { FailCode, type PeerFrame, type SubmitterFrame } from '../../../protocols/job/pb/job.js'
import { formatDuration } from '../../config/duration.js'
import type { Logger } from '../../log/index.js'
import type { FrameDuplex } from '../../net/frame-duplex.js'
import { toError } from '../../net/framed-stream.js'
import { peerText } from '../../net/peer-text.js'
import type { Assignments } from './assignment.js'
import type { SessionError } from './failure.js'

export interface SessionStreamInit {
  channel: FrameDuplex<SubmitterFrame, PeerFrame>
  /** The session's: aborts when it ends */
  signal: AbortSignal
  log: Logger
  /** How often this peer sends the submitter a frame (KeepAlive when it has nothing else to say) */
  keepAliveMs: number
  /** Any frame from the submitter renews the lease */
  renewLease: () => void
  assignments: Assignments
  /** The session ends if no Assign comes this long after Reserved (FIRST_ASSIGN_DEADLINE_MS) */
  firstAssignDeadlineMs: number
  /** Ends the session, with why */
  stop: (reason: string) => Promise<void>
}

/**
 * One session's job stream to its submitter, whatever the session does with the frames (segments: session.ts; a
 * whole job: ../whole-session.ts): frames out in order, keep-alives, the first-Assign deadline, and the read loop
 * that hands each frame on and ends the session when the stream ends or fails, or on Cancel or Release.
 */
export class SessionStream {
  private readonly init: SessionStreamInit
  private sending: Promise<void> = Promise.resolve()
  private keepAlive?: NodeJS.Timeout
  private closed = false

  constructor(init: SessionStreamInit) {
    this.init = init
  }

  /** Whether the session ended: nothing more goes out */
  get ended(): boolean {
    return this.closed
  }

  /** Settles once every frame sent so far went out (or failed to) */
  get drained(): Promise<void> {
    return this.sending
  }

  /** Reads the submitter's frames into `handle` until it returns false (the session is over) or the stream ends */
  async run(handle: (frame: SubmitterFrame) => boolean): Promise<void> {
    const { init } = this
    // The submitter tells a frozen peer (SIGSTOP, a dead link) from a busy one by these
    this.keepAlive = setInterval(() => this.send({ keepAlive: {} }), init.keepAliveMs)
    this.keepAlive.unref()
    init.assignments.firstWithin(init.firstAssignDeadlineMs).catch(() => {
      // the lease's units go back: a submitter holds them only to work on them
      if (!this.closed)
        void init.stop(`no Assign within ${formatDuration(init.firstAssignDeadlineMs)} of the lease`)
    })
    try {
      for (;;) {
        const frame = await init.channel.read(init.signal)
        if (frame === undefined) {
          await init.stop('the submitter closed the job stream')
          return
        }
        init.renewLease()
        if (!handle(frame)) return
      }
    } catch (err) {
      if (!this.closed) await init.stop(`job stream failed: ${toError(err).message}`)
    }
  }

  /** Whether `frame` is a Cancel or a Release: then it ends the session, and the read loop stops */
  ends(frame: SubmitterFrame): boolean {
    const why =
      frame.cancel !== undefined
        ? `cancelled by the submitter: ${frame.cancel.reason}`
        : frame.release !== undefined
          ? 'released'
          : undefined
    if (why === undefined) return false
    void this.init.stop(why)
    return true
  }

  /** Sends a frame to the submitter, in order with the others */
  send(frame: PeerFrame): void {
    if (this.closed) return
    this.sending = this.sending
      .then(async () => this.init.channel.write(frame, this.init.signal))
      .catch((err: unknown) => {
        if (!this.closed) this.init.log.debug({ err }, 'frame not sent')
      })
  }

  /** Reports a failure of this peer's share to the submitter (Failed); the session goes on */
  failed(error: SessionError): void {
    if (this.closed) return
    this.init.log.warn(
      { code: FailCode[error.code], segment: error.segment, err: error.message },
      'job share failed'
    )
    this.send({
      failed: {
        code: error.code,
        // the prover's and the file system's texts name this machine's files: the submitter is another machine
        message: peerText(error.message),
        segment: error.segment,
        proofSha256: new Uint8Array(error.proofSha256 ?? [])
      }
    })
  }

  /** The session ended: no more keep-alives or frames */
  close(): void {
    this.closed = true
    clearInterval(this.keepAlive)
  }
}
