import type { JobPhase, JobState } from '../jobs-model/states.js'
import type { JobRecord, NewJobEvent } from '../jobs-model/types.js'

/** How a run reports its record: journal it as it stands, and tell the job's followers */
export interface RecordSink {
  save(): void
  event(event: NewJobEvent): void
}

/** Moves the job to `state`, starting the timing of `phase` if given; journaled before the event goes out */
export function enterState(record: JobRecord, sink: RecordSink, state: JobState, phase?: JobPhase): void {
  record.state = state
  if (phase !== undefined) record.phases[phase] = { startedAt: Date.now() }
  sink.save()
  sink.event({ kind: 'state', state, phase })
}

/** Ends the timing of `phase` */
export function endPhase(record: JobRecord, sink: RecordSink, phase: JobPhase): void {
  const timing = record.phases[phase]
  if (timing !== undefined) timing.endedAt = Date.now()
  sink.save()
}
