import { randomBytes } from 'node:crypto'
import { TypedEventEmitter } from 'main-event'
import type { Workload } from '../capacity/service.js'
import type { LeaseRecord } from '../jobs-model/lease.js'
import type { Logger } from '../log/index.js'
import { SilenceWatch } from '../silence-watch.js'

/**
 * How often lease expiry is checked. A lease ends when its submitter renewed nothing for its duration of the time
 * this peer was running (SilenceWatch): a timer for the whole lease, fired late after this peer was starved of CPU,
 * came before the renewing frames already waiting in its socket and ended live leases (a saturated host's e2e run).
 * A quarter second is far below any lease (500 ms at least) and costs nothing while no lease is held.
 */
const LEASE_TICK_MS = 250

export interface Lease {
  leaseId: string
  jobId: string
  submitter: string
  units: number
  leaseMs: number
  grantedAt: number
  expiresAt: number
}

export interface LeaseRequest {
  jobId: string
  submitter: string
  units: number
  minUnits: number
  leaseMs: number
}

export type LeaseGrant = { ok: true; lease: Lease } | { ok: false; free: number; message: string }

export interface LeaseBookEvents {
  /** Units were taken or freed: the capacity advert should go out again */
  changed: Event
  /** A lease ran out without being renewed */
  expired: CustomEvent<Lease>
}

/** Where the book records each grant and each end before it answers (the daemon's Journal) */
export interface LeaseJournal {
  putLease(lease: LeaseRecord): void
}

export interface LeaseBookInit {
  logger: Logger
  /** This peer's compute units, as advertised */
  totalUnits: () => number
  journal?: LeaseJournal
}

/**
 * The compute units this peer has lent, one lease per job. Granting is synchronous — one JavaScript turn checks
 * the free units and books them — so two submitters asking at the same moment can never book the same units.
 * Every grant and every end is journaled before it is answered.
 */
export class LeaseBook extends TypedEventEmitter<LeaseBookEvents> implements Workload {
  private readonly init: LeaseBookInit
  private readonly log: Logger
  private readonly leases = new Map<string, Lease>()
  private readonly silence = new SilenceWatch<string>({ limitMs: 0, tickMs: LEASE_TICK_MS })
  private ticker?: NodeJS.Timeout

  constructor(init: LeaseBookInit) {
    super()
    this.init = init
    this.log = init.logger.child({ component: 'leases' })
  }

  unitsInUse(): number {
    let units = 0
    for (const lease of this.leases.values()) units += lease.units
    return units
  }

  activeJobs(): number {
    return this.leases.size
  }

  /** The leases one submitter holds here now (one per job) */
  leasesOf(submitter: string): number {
    let count = 0
    for (const lease of this.leases.values()) if (lease.submitter === submitter) count++
    return count
  }

  /** The units one submitter holds here now, over all its leases */
  unitsOf(submitter: string): number {
    let units = 0
    for (const lease of this.leases.values()) if (lease.submitter === submitter) units += lease.units
    return units
  }

  /** This peer's compute units, leased or not */
  total(): number {
    return this.init.totalUnits()
  }

  free(): number {
    return Math.max(0, this.init.totalUnits() - this.unitsInUse())
  }

  get(leaseId: string): Lease | undefined {
    return this.leases.get(leaseId)
  }

  grant(request: LeaseRequest, now = Date.now()): LeaseGrant {
    const free = this.free()
    const units = Math.min(request.units, free)
    if (units < Math.max(1, request.minUnits)) {
      return {
        ok: false,
        free,
        message: `needs ${Math.max(1, request.minUnits)} units, ${free} free of ${this.init.totalUnits()}`
      }
    }
    const lease: Lease = {
      leaseId: randomBytes(8).toString('hex'),
      jobId: request.jobId,
      submitter: request.submitter,
      units,
      leaseMs: request.leaseMs,
      grantedAt: now,
      expiresAt: now + request.leaseMs
    }
    this.init.journal?.putLease(toRecord(lease))
    this.leases.set(lease.leaseId, lease)
    this.silence.heard(lease.leaseId, lease.leaseMs)
    this.watch()
    this.log.info(
      { job: lease.jobId, submitter: lease.submitter, units, lease: lease.leaseId },
      'lease granted'
    )
    this.safeDispatchEvent('changed')
    return { ok: true, lease }
  }

  /** Pushes the lease's end out by its duration again; false if it has already ended */
  renew(leaseId: string, now = Date.now()): boolean {
    const lease = this.leases.get(leaseId)
    if (lease === undefined) return false
    lease.expiresAt = now + lease.leaseMs
    this.silence.heard(leaseId, lease.leaseMs)
    return true
  }

  /** Ends a lease and frees its units; ending one that has ended already does nothing */
  end(leaseId: string, reason: string, now = Date.now()): void {
    const lease = this.leases.get(leaseId)
    if (lease === undefined) return
    this.silence.forget(leaseId)
    this.leases.delete(leaseId)
    if (this.leases.size === 0) {
      clearInterval(this.ticker)
      this.ticker = undefined
    }
    this.init.journal?.putLease({ ...toRecord(lease), endedAt: now, endReason: reason })
    this.log.info({ job: lease.jobId, lease: leaseId, reason }, 'lease ended')
    this.safeDispatchEvent('changed')
  }

  /** Ends every lease (daemon stopping) */
  endAll(reason: string): void {
    for (const leaseId of [...this.leases.keys()]) this.end(leaseId, reason)
  }

  /** Checks the leases' silences while any is held */
  private watch(): void {
    if (this.ticker !== undefined) return
    this.ticker = setInterval(() => {
      for (const { key } of this.silence.tick()) {
        const lease = this.leases.get(key)
        if (lease === undefined) continue
        this.log.warn(
          { job: lease.jobId, lease: lease.leaseId },
          'lease expired: the submitter stopped renewing it'
        )
        this.safeDispatchEvent('expired', { detail: lease })
        this.end(lease.leaseId, 'expired')
      }
    }, LEASE_TICK_MS)
    this.ticker.unref()
  }
}

function toRecord(lease: Lease): LeaseRecord {
  return {
    leaseId: lease.leaseId,
    jobId: lease.jobId,
    submitter: lease.submitter,
    units: lease.units,
    grantedAt: lease.grantedAt,
    expiresAt: lease.expiresAt
  }
}
