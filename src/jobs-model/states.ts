/**
 * The states and phases of a job, each list once, in the order a job goes through them. The journal, the API,
 * the CLI and the operator's page all read these: the page loads this module's compiled file as it is
 * (GET /ui/jobs-model/states.js), so it imports nothing.
 */

export const JOB_STATES = [
  'queued',
  'reserving',
  'planning',
  'contributing',
  'proving',
  'aggregating',
  'verifying',
  'succeeded',
  'failed',
  'cancelled'
] as const

/** queued → reserving → planning → contributing → proving → aggregating → verifying → succeeded | failed | cancelled */
export type JobState = (typeof JOB_STATES)[number]

export const TERMINAL_STATES: readonly JobState[] = ['succeeded', 'failed', 'cancelled']

export function isTerminal(state: JobState): boolean {
  return TERMINAL_STATES.includes(state)
}

export function isJobState(text: string): text is JobState {
  return (JOB_STATES as readonly string[]).includes(text)
}

/** The phases timed per job; `queue` is the wait for capacity */
export const JOB_PHASES = ['queue', 'reserve', 'plan', 'contribute', 'prove', 'aggregate', 'verify'] as const

export type JobPhase = (typeof JOB_PHASES)[number]

/** The phase a job in this state is timing; none once it is over */
export const PHASE_OF_STATE: Readonly<Partial<Record<JobState, JobPhase>>> = {
  queued: 'queue',
  reserving: 'reserve',
  planning: 'plan',
  contributing: 'contribute',
  proving: 'prove',
  aggregating: 'aggregate',
  verifying: 'verify'
}
