/**
 * The prover's types: the Native Prover Protocol (NPP) v2 shapes (and v1's `plan`, which the daemon still drives), as protocols/native-prover.md gives them
 * (field names and optionality follow the spec exactly so that a request can be written with JSON.stringify as
 * is), and the interface both backends offer (at the end).
 */
import type { Startable, TypedEventTarget } from '@libp2p/interface'

/** The protocol versions this daemon speaks, oldest first; `hello` offers them and the prover picks one */
export const NPP_PROTOCOL_VERSIONS = [1, 2] as const

export type NppVersion = (typeof NPP_PROTOCOL_VERSIONS)[number]

/** The newest version: the one the spec and the conformance kit describe */
export const NPP_LATEST_VERSION: NppVersion = 2

export interface Segment {
  index: number
  startBlock: number
  blockCount: number
  inputOffset: number
  inputLength: number
}

/** The file holds input bytes [offset, offset + file size): offset 0 is the whole input */
export interface InputRef {
  path: string
  offset: number
}

export interface Program {
  id: string
  description: string
  segmented: boolean
  blockBytes: number
  maxSegmentBlocks: number
}

export interface Gpu {
  index: number
  name: string
  memoryMiB: number
}

export interface HelloParams {
  /** The oldest offered version, for v1 provers, which read only this field */
  protocol: number
  /** Every version the daemon speaks; a v2 prover answers the highest it speaks too */
  versions?: number[]
  client?: string
}

/** The daemon's `hello`: every version it speaks, and the oldest as `protocol` for provers that predate `versions` */
export function helloParams(client: string): HelloParams {
  return { protocol: NPP_PROTOCOL_VERSIONS[0], versions: [...NPP_PROTOCOL_VERSIONS], client }
}

export interface HelloResult {
  name: string
  version: string
  protocol: number
  programs: Program[]
  gpus: Gpu[]
}

/** NPP v2 `plan`: the daemon gives the layout; the prover checks it and writes the hints for it */
export interface PlanParams {
  job: string
  program: string
  /** The whole input, offset 0 */
  input: InputRef
  /** Contiguous, numbered from 0 in input order, canonical, covering every block of the input */
  segments: Segment[]
  hintsOut?: string
}

export interface PlanResult {
  program: string
  inputSize: number
  totalBlocks: number
  initialState: string
  hints?: { path: string; size: number }
  /**
   * Lower-case hex, the statement; present when the prover read the whole input (hintsOut given): the
   * submitter verifies the final proof against it
   */
  digest?: string
}

export interface PlanV1Worker {
  id: string
  units: number
}

/** NPP v1 `plan`: the prover splits the input for weighted workers (see plan-v1.ts for how the daemon drives it) */
export interface PlanV1Params {
  job: string
  program: string
  input: InputRef
  workers: PlanV1Worker[]
  maxSegmentBlocks?: number
  hintsOut?: string
}

export type PlannedV1Segment = Segment & { worker: string }

export interface PlanV1Result extends PlanResult {
  segments: PlannedV1Segment[]
}

export interface ContributeParams {
  job: string
  program: string
  inputSize: number
  segment: Segment
  input: InputRef
  hints?: string
}

export interface ContributeResult {
  segment: number
  /** Lower-case hex */
  contribution: string
}

export interface ProveParams {
  job: string
  program: string
  inputSize: number
  segment: Segment
  input: InputRef
  hints?: string
  /** Lower-case hex, see computeChallenge */
  challenge: string
  out: string
}

export interface ProveResult {
  segment: number
  size: number
  sha256: string
  millis: number
}

export interface AggregateParams {
  /** The job the final proof is bound to */
  job: string
  /**
   * NPP v2: the name `cancel` and progress know this request by, in place of `job` (a worker's session: two
   * sessions of one job id on one peer, or this daemon's own `plan` of it, must not share a `cancel {job}`). Not
   * sent to a v1 prover, which keys the request by `job`.
   */
  name?: string
  program: string
  inputSize: number
  challenge: string
  /** contributions[i] and proofs[i] belong to segment i */
  contributions: string[]
  proofs: string[]
  out: string
}

export interface AggregateResult {
  digest: string
  size: number
  sha256: string
  segments: number
}

export interface VerifyParams {
  program: string
  proof: string
  /** The expected statement */
  digest?: string
  /** The job the proof must have been made for */
  job?: string
  /** The input file the proof must be about: its size, digest and every segment's slice hash are checked */
  input?: string
}

/**
 * An invalid proof is a normal answer (`valid: false` with a reason and nothing else), not an error; a valid one
 * carries only what the proof proves
 */
export interface VerifyResult {
  valid: boolean
  digest?: string
  /** The input size in bytes, bound by the proof */
  inputSize?: number
  job?: string
  segments?: number
  reason?: string
}

export interface CancelParams {
  job: string
}

export interface CancelResult {
  /** How many requests were stopped */
  cancelled: number
}

export type ShutdownParams = Record<string, never>
export type ShutdownResult = Record<string, never>

/**
 * The liveness probe: answered at once, even while other requests run. A prover that predates it answers
 * METHOD_NOT_FOUND, which shows it alive just as well: any reply does.
 */
export type PingParams = Record<string, never>
export type PingResult = Record<string, never>

export type ProgressPhase = 'plan' | 'contribute' | 'prove' | 'aggregate' | 'verify'

export interface ProgressNotification {
  job: string
  phase: ProgressPhase
  segment?: number
  done: number
  total: number
}

export type ProverLogLevel = 'debug' | 'info' | 'warn' | 'error'

export interface LogNotification {
  level: ProverLogLevel
  message: string
}

/** Method name → params and result, so that one generic `call` is typed per method */
export interface NppMethods {
  hello: { params: HelloParams; result: HelloResult }
  /** v1's answer is v2's with the segments added */
  plan: { params: PlanParams | PlanV1Params; result: PlanResult }
  contribute: { params: ContributeParams; result: ContributeResult }
  prove: { params: ProveParams; result: ProveResult }
  aggregate: { params: AggregateParams; result: AggregateResult }
  verify: { params: VerifyParams; result: VerifyResult }
  cancel: { params: CancelParams; result: CancelResult }
  shutdown: { params: ShutdownParams; result: ShutdownResult }
  ping: { params: PingParams; result: PingResult }
}

export type NppMethod = keyof NppMethods

/** JSON-RPC error codes of NPP (the same in v1 and v2); callers match on these, never on the message */
export const NppErrorCode = {
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL_ERROR: -32603,
  UNKNOWN_PROGRAM: 1001,
  IO_ERROR: 1002,
  INVALID_SEGMENT: 1003,
  CANCELLED: 1004,
  PROOF_INVALID: 1005,
  INVALID_HINTS: 1006,
  UNSUPPORTED_VERSION: 1007
} as const

export type NppErrorCode = (typeof NppErrorCode)[keyof typeof NppErrorCode]

/* What the daemon holds, whichever prover backend runs */

export interface CallOptions {
  /** Aborts the call; it then rejects with the signal's reason */
  signal?: AbortSignal
  /** Overrides the backend's default time limit for this call */
  timeoutMs?: number
}

export type ProverBackendKind = 'npp' | 'cli'

/** What the daemon advertises about its prover in its capacity advert */
export interface ProverInfo {
  backend: ProverBackendKind
  name: string
  version: string
  programs: Program[]
  gpus: Gpu[]
}

/** A whole job proved on this peer alone: the cli backend's only mode, and the npp backend's 1-peer case */
export interface JobProveParams {
  job: string
  program: string
  /** Absolute path of the whole input */
  input: string
  /** Absolute path the final proof is written to */
  out: string
  /** Absolute path of a folder the backend may write intermediate files into */
  workdir: string
}

export interface JobProveResult {
  out: string
  size: number
  sha256: string
  millis: number
  segments: number
  /** The statement digest, when the backend reports one (npp does, a one-shot command does not) */
  digest?: string
}

export interface ProverBackendEvents {
  progress: CustomEvent<ProgressNotification>
}

/**
 * What both backends offer: prove a whole job on this peer, verify a final proof, cancel a job's running
 * work. A cancelled call rejects with a ProverRpcError of code CANCELLED on both (see isCancelledError).
 * The npp backend (ProverSupervisor) adds the segmented phases (SegmentedProver).
 */
export interface ProverBackend extends Startable, TypedEventTarget<ProverBackendEvents> {
  readonly kind: ProverBackendKind
  /** Known once start() has resolved */
  readonly info: ProverInfo
  /** False while the prover is down (restarting, or given up on): this peer then offers no free units */
  readonly ready: boolean
  proveJob(params: JobProveParams, options?: CallOptions): Promise<JobProveResult>
  verify(params: VerifyParams, options?: CallOptions): Promise<VerifyResult>
  /** Stops every running call of `job`; resolves with how many were stopped */
  cancel(job: string, options?: CallOptions): Promise<number>
}

/**
 * The segmented phases a network job needs on top of ProverBackend: the submitter plans and verifies, its peers
 * contribute, prove and aggregate. The npp backend (ProverSupervisor) offers them; the cli backend cannot.
 */
export interface SegmentedProver extends ProverBackend {
  plan(params: PlanParams, options?: CallOptions): Promise<PlanResult>
  contribute(params: ContributeParams, options?: CallOptions): Promise<ContributeResult>
  prove(params: ProveParams, options?: CallOptions): Promise<ProveResult>
  aggregate(params: AggregateParams, options?: CallOptions): Promise<AggregateResult>
}

/** Whether a backend proves segments (npp): the cli backend proves whole jobs only */
export function isSegmented(prover: ProverBackend): prover is SegmentedProver {
  return prover.kind === 'npp'
}
