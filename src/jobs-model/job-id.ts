import { randomBytes } from 'node:crypto'

/** `job-<time, base 36>-<random hex>`: sortable by creation and unguessable */
export function newJobId(): string {
  return `job-${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`
}

/** Job ids newJobId makes are URL-safe; anything else cannot name a job */
export const JOB_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/
