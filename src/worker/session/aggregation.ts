import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { equals, fromString } from 'uint8arrays'
import { FailCode, type FetchProof } from '../../../protocols/job/pb/job.js'
import type { ProofFile } from '../../../protocols/proof/codec.js'
import { toError } from '../../net/framed-stream.js'
import type { SessionContext } from './context.js'
import { failureOf, SessionError } from './failure.js'

/**
 * The addresses of a FetchProof this peer may dial: those that name the holder itself (`/p2p/<its id>`) or no
 * peer. An address naming another peer, or a relay, is the submitter pointing this peer at someone else; the dial
 * is by the holder's id, so the holder's key is checked on every connection it opens.
 */
export function holderAddrs(fetch: FetchProof): Uint8Array[] {
  return fetch.addrs.filter((bytes) => {
    try {
      const peers = multiaddr(bytes)
        .getComponents()
        .filter((c) => c.name === 'p2p' || c.name === 'p2p-circuit')
      return peers.every((c) => c.name === 'p2p' && c.value === fetch.peerId)
    } catch {
      return false
    }
  })
}

/** Pulls a partial proof from the peer that holds it into `dest` */
export interface ProofFetcher {
  fetchProof(
    source: { peerId: string; addrs: Uint8Array[] },
    request: { jobId: string; segment: number; submitter: string },
    dest: string,
    signal: AbortSignal
  ): Promise<{ size: number; sha256: Uint8Array }>
}

export interface AggregationInit {
  /** The job's contributions in segment order, as AggregateRole gave them (lower-case hex) */
  contributions: string[]
  /** The job's challenge: AggregateRole comes only after it */
  challenge: string
  selfId: string
  fetcher: ProofFetcher
  /** A segment this peer proved itself: used where it lies */
  ownProof: (segment: number) => ProofFile | undefined
}

/**
 * This peer as the job's aggregator: it pulls the partial proof of each segment FetchProof names (its own are used
 * where they lie), aggregates once one of every segment is here, and holds the final proof for the submitter.
 */
export class Aggregation {
  private readonly ctx: SessionContext
  private readonly init: AggregationInit
  /** Segment → the proof fetched for it (a file, and the SHA-256 its peer reported) */
  private readonly fetched = new Map<number, { path: string; sha256: Uint8Array }>()
  private running = false
  private rerun = false
  private final?: ProofFile

  constructor(ctx: SessionContext, init: AggregationInit) {
    this.ctx = ctx
    this.init = init
  }

  /** The final proof, once aggregated */
  get finalProof(): ProofFile | undefined {
    return this.final
  }

  /** A FetchProof: pull that segment's proof, then aggregate if every segment has one */
  fetch(fetch: FetchProof): void {
    if (fetch.segment >= this.init.contributions.length) {
      this.ctx.fail(
        new SessionError(FailCode.PROTOCOL, `FetchProof for segment ${fetch.segment} out of place`)
      )
      return
    }
    this.fetchOne(fetch)
      .catch((err: unknown) => {
        if (err instanceof SessionError) throw err
        // A failed dial, a reset stream or a bad header is the transfer's fault, not the prover's. Its text stays
        // here: what a dial met (a refused port, a stranger's reply) would make this peer a scanner for hire
        this.ctx.log.warn(
          { segment: fetch.segment, peer: fetch.peerId, err: toError(err).message },
          'proof pull failed'
        )
        throw new SessionError(
          FailCode.TRANSFER,
          `segment ${fetch.segment}'s proof could not be pulled from its peer`,
          fetch.segment
        )
      })
      .then(async () => this.aggregateWhenComplete())
      .catch((err: unknown) => this.ctx.fail(failureOf(err, fetch.segment)))
  }

  /** A segment moved (Forget): its proof is fetched again from its new peer */
  forget(segment: number): void {
    this.fetched.delete(segment)
  }

  private async fetchOne(fetch: FetchProof): Promise<void> {
    if (fetch.peerId === this.init.selfId) {
      // Our own segment: use the file where it is
      const own = this.init.ownProof(fetch.segment)
      if (own === undefined)
        throw new SessionError(FailCode.PROTOCOL, `segment ${fetch.segment} is not proved here`)
      this.fetched.set(fetch.segment, { path: own.path, sha256: own.sha256 })
      return
    }
    const dest = join(this.ctx.workDir, `fetched-${fetch.segment}`)
    const got = await this.init.fetcher.fetchProof(
      { peerId: fetch.peerId, addrs: holderAddrs(fetch) },
      { jobId: this.ctx.jobId, segment: fetch.segment, submitter: this.ctx.submitter },
      dest,
      this.ctx.signal
    )
    if (!equals(got.sha256, fetch.sha256)) {
      throw new SessionError(
        FailCode.TRANSFER,
        `segment ${fetch.segment}'s proof is not the one its peer reported`,
        fetch.segment
      )
    }
    this.fetched.set(fetch.segment, { path: dest, sha256: fetch.sha256 })
  }

  /**
   * Aggregates once a proof of every segment is here. A proof that fails is dropped: its segment moves to another
   * peer, and the FetchProof of its replacement runs the aggregation again.
   */
  private async aggregateWhenComplete(): Promise<void> {
    const { contributions, challenge } = this.init
    if (this.fetched.size < contributions.length) return
    if (this.running) {
      this.rerun = true
      return
    }
    this.running = true
    try {
      const out = join(this.ctx.workDir, 'final')
      const used = contributions.map((_, index) => this.fetched.get(index))
      const proofs = used.map((proof) => proof?.path as string)
      const result = await this.ctx.prover
        .aggregate(
          {
            job: this.ctx.jobId,
            // the session's name, as its contribute and prove: Cancel or the end of this session stops its own
            // aggregate, not another session's of the same job id
            name: this.ctx.proverJob,
            program: this.ctx.program,
            inputSize: this.ctx.inputSize,
            challenge,
            contributions,
            proofs,
            out
          },
          { signal: this.ctx.signal }
        )
        .catch((err: unknown) => {
          const failure = failureOf(err)
          if (failure.code === FailCode.PROOF_INVALID && failure.segment !== undefined) {
            failure.proofSha256 = used[failure.segment]?.sha256
            // dropped only if it is still the one that failed: a newer FetchProof may have replaced it meanwhile
            if (this.fetched.get(failure.segment) === used[failure.segment])
              this.fetched.delete(failure.segment)
          }
          throw failure
        })
      const sha256 = fromString(result.sha256, 'base16')
      this.final = { path: out, size: result.size, sha256 }
      this.ctx.send({
        final: {
          digest: fromString(result.digest, 'base16'),
          size: BigInt(result.size),
          sha256,
          segments: result.segments
        }
      })
    } finally {
      this.running = false
    }
    if (this.rerun) {
      this.rerun = false
      await this.aggregateWhenComplete()
    }
  }
}
