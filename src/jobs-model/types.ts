/**
 * The job as the submitter journals it and the local API shows it. Everything here is plain JSON (numbers are
 * milliseconds since the epoch or byte counts), so a record is stored, served and printed as is.
 */
import type { JobPhase, JobState } from './states.js'

/** data: the submitter streams the bytes; path: every peer reads the name inside its own inputs folder */
export type InputMode = 'data' | 'path'

export type HintsSource =
  /** A file on the submitter's machine (absolute path), sent to every peer of the job */
  | { kind: 'file'; path: string }
  /** A unix socket (absolute path) the submitter reads until EOF, relaying chunks as they come */
  | { kind: 'socket'; path: string }

/** What `POST /v1/jobs` takes, once validated (see parseJobRequest) */
export interface JobRequest {
  program: string
  inputMode: InputMode
  /** data: an absolute path on the submitter's machine; path: a name inside every peer's inputs folder */
  input: string
  /** Given instead of computed by the submitter's plan */
  hints?: HintsSource
  computeCapacity: number
  minimalComputeCapacity: number
  /** Higher runs first; equal priorities run in arrival order */
  priority: number
  /** The user's own label for the job (ZisK's --data-id); defaults to the input's file name */
  dataId: string
  /** The whole job, queueing included */
  timeoutMs: number
  /** '' = the daemon's jobs.webhook_url */
  webhookUrl: string
  saveProof: boolean
}

export type SegmentState = 'assigned' | 'contributed' | 'proved' | 'failed'

export interface SegmentRecord {
  index: number
  startBlock: number
  blockCount: number
  inputOffset: number
  inputLength: number
  /** Lower-case hex SHA-256 of the segment's input slice */
  inputSha256: string
  peerId: string
  /** A straggler's backup copy runs here too; the first valid proof wins */
  backupPeerId?: string
  state: SegmentState
  /** Lower-case hex, once phase 1 reported it */
  contribution?: string
  /** The peer whose contribution is recorded (a disagreement is settled by a third: see JobRun) */
  contributor?: string
  proofSize?: number
  proofSha256?: string
  proveMillis?: number
}

export type JobPeerState = 'reserved' | 'assigned' | 'contributed' | 'proved' | 'released' | 'failed'

/**
 * Why a peer was dropped from a job. What a peer said of itself is kept as one line without control characters
 * or file paths (see peerText): it is another machine's text.
 */
export interface PeerFailure {
  /**
   * What the peer reported (INPUT, HINTS, PROVER, PROOF_INVALID, TRANSFER, PROTOCOL, CANCELLED, INTERNAL), or what
   * the submitter found: TIMEOUT (nothing heard for jobs.peer_timeout), LOST (its job stream closed or broke),
   * UNREACHABLE (a frame to it could not be sent)
   */
  code: string
  message: string
  /** The segment the failure was about, when it was about one */
  segment?: number
}

export interface JobPeerRecord {
  peerId: string
  /** The submitter itself, working on its own job */
  local: boolean
  units: number
  leaseId: string
  state: JobPeerState
  /** Bytes of input slices and hints this peer was sent, counted as they go */
  bytesSent: number
  /** Why the peer was dropped from the job (state failed); its segments moved to other peers */
  failure?: PeerFailure
  /**
   * The longest time between two of its frames as they arrived here (a remote peer sends one at least every third
   * of jobs.peer_timeout): how close a busy peer came to being taken for a lost one
   */
  longestGapMs?: number
}

export interface PhaseTiming {
  startedAt: number
  endedAt?: number
}

export interface JobError {
  /** A stable code callers match on, e.g. CAPACITY, INPUT, PEER_FAILED, TIMEOUT, CANCELLED, PROOF_INVALID */
  code: string
  message: string
}

export interface JobRecord {
  id: string
  request: JobRequest
  state: JobState
  /** Peer id of the submitter */
  submitter: string
  createdAt: number
  updatedAt: number
  finishedAt?: number
  /** While queued: what the job waits for, e.g. "needs 8 units, 4 free" */
  waitingFor?: string
  inputSize?: number
  /** Lower-case hex SHA-256 of the whole input */
  inputSha256?: string
  peers: JobPeerRecord[]
  segments: SegmentRecord[]
  /**
   * How full the segment traces are: a trace is padded to a power of two, so a segment of b blocks proves
   * ceilPow2(b) blocks' worth of rows; usefulBlocks / paddedBlocks is the share of proved rows that hold input
   */
  fill?: { usefulBlocks: number; paddedBlocks: number }
  challenge?: string
  aggregator?: string
  phases: Partial<Record<JobPhase, PhaseTiming>>
  /** Bytes the submitter uploaded to other peers (input slices and hints) */
  bytesOut: number
  /** How often the job was started again: after its submitter restarted, or from a challenge fixed from a lie */
  restarts?: number
  /** The statement the submitter's own plan computed from the input; the final proof must show it */
  expectedDigest?: string
  /** The statement the final proof shows (the input's digest for rescue-sponge) */
  digest?: string
  proof?: {
    size: number
    sha256: string
    path?: string
    /**
     * Set when the submitter could not verify the proof itself (it runs no prover for the program; the peer that
     * proved the job whole checked it with its own verify): why. Absent = verified by the submitter's prover.
     */
    unverified?: string
  }
  error?: JobError
}

/** What every job event carries (`GET /v1/jobs/:id/events`, server-sent events, and the journal) */
interface JobEventBase {
  jobId: string
  /** Rises by one per event of the job, from 1 */
  seq: number
  at: number
  /** The line a person reads; programs read `kind` and the fields, never this */
  message?: string
}

/**
 * What happened, one kind per fact a reader acts on (JOB_EVENT_KINDS): the CLI, the page, the journal and the
 * tests switch on `kind`. `note` is a row journaled before events had kinds (a peer or segment line), shown as
 * its message.
 */
export type JobEventBody =
  | { kind: 'state'; state: JobState; phase?: JobPhase }
  | { kind: 'progress'; phase?: JobPhase; peer?: string; segment?: number; done?: number; total?: number }
  | { kind: 'log' }
  /** A lease granted: `units` as many as were asked, whatever the peer answered */
  | { kind: 'leased'; peer: string; units: number }
  | { kind: 'refused'; peer: string }
  /** A lease given back before the job ended: its units were not needed */
  | { kind: 'released'; peer: string }
  | { kind: 'contributed'; peer: string; segment: number }
  | { kind: 'proved'; peer: string; segment: number }
  /** A straggler's segment copied to an idle peer (`peer`); `straggler` is the slow one */
  | { kind: 'backup-started'; peer: string; segment: number; straggler: string }
  /** The first proof of a segment with two copies: `peer` won, `loser` was told to forget it */
  | { kind: 'backup-won'; peer: string; segment: number; loser: string }
  /** `peer` takes over the segments of a failed one */
  | { kind: 'takes-over'; peer: string; segments: number[] }
  | { kind: 'peer-failed'; peer: string; failure: PeerFailure }
  | { kind: 'aggregator'; peer: string }
  | { kind: 'final'; peer: string; size: number }
  | { kind: 'note'; peer?: string; segment?: number }

export type JobEventKind = JobEventBody['kind']

/** One entry of a job's event stream */
export type JobEvent = JobEventBase & JobEventBody

/** An event as its emitter writes it: the journal gives it its job id, sequence number and time */
export type NewJobEvent = JobEventBody & { message?: string }
