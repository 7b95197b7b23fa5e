import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { Connection, Stream } from '@libp2p/interface'
import { pbStream } from '@libp2p/utils'
import { PullRequest, PullResponse } from '../../protocols/capacity/pb/pull.js'
import {
  MAX_INBOUND_STREAMS,
  MAX_OUTBOUND_STREAMS,
  PULL_PROTOCOL
} from '../../protocols/capacity/pull-constants.js'
import { encodeAdvert } from '../../src/capacity/advert.js'
import type { Daemon } from '../../src/daemon/daemon.js'
import { makeAdvert } from '../helpers/adverts.js'
import { multiaddrOf, startTestNode, stopAll, waitFor } from '../helpers/network.js'
import { newKey, signAdvert } from '../helpers/signed-adverts.js'

/**
 * gossipsub announces a message (IHAVE) for 3 heartbeats of 3 s and serves it (IWANT) for 5: an advert older than
 * that reaches a peer that joins later only with its origin's next one
 */
const GOSSIP_HISTORY_MS = 5 * 3_000 + 1_000

describe('capacity pulled from neighbours when the table lacks a peer', () => {
  const daemons: Daemon[] = []
  let far: Daemon
  let submitter: Daemon

  before(async () => {
    const first = await startTestNode({ overrides: { capacity: { computeUnits: 4 } } })
    daemons.push(first)
    daemons.push(
      await startTestNode({
        overrides: { net: { bootstrap: [multiaddrOf(first)] }, capacity: { computeUnits: 4 } }
      })
    )
    // its heartbeat a minute: it advertises once (at start, and when its prover says hello), then not again
    // while the test runs, so a peer that joins later can only learn of it by pulling
    far = await startTestNode({
      overrides: {
        net: { bootstrap: [multiaddrOf(daemons[1] as Daemon)] },
        capacity: { computeUnits: 12, advertIntervalMs: 60_000 }
      },
      daemon: { prover: true }
    })
    daemons.push(far)
  })

  after(async () => stopAll(daemons))

  it("finds a peer its own table lacks, verifies its origin's signature and lists it", async () => {
    const farId = far.node.peerId.toString()
    const [first, second] = daemons as [Daemon, Daemon]
    await waitFor(
      () =>
        [first, second].every(
          (daemon) => (daemon.capacity.peers.get(farId)?.advert.programs.length ?? 0) > 0
        ),
      'both neighbours to list the far peer with its programs',
      30_000
    )
    const heard = (): number =>
      Math.max(...[first, second].map((daemon) => daemon.capacity.peers.get(farId)?.receivedAt ?? 0))
    await waitFor(
      () => Date.now() - heard() > GOSSIP_HISTORY_MS,
      "the far peer's last advert to leave gossip's history",
      GOSSIP_HISTORY_MS + 60_000,
      250
    )
    submitter = await startTestNode({ overrides: { net: { bootstrap: [multiaddrOf(first)] } } })
    daemons.push(submitter)
    // no job, no pull of ours: the submitter's warm-up, once its first neighbour joined the topic, asks for it
    await waitFor(
      () => submitter.capacity.peers.get(farId) !== undefined,
      'the submitter to list the far peer (its warm-up pull)',
      30_000
    )
    assert.ok(
      Date.now() - heard() < 60_000,
      "the far peer's next advert is due: it may have come over gossip, not from the pull"
    )
    const entry = submitter.capacity.peers.get(farId)
    assert.ok(entry)
    assert.equal(entry.advert.unitsTotal, 12)
    assert.equal(entry.direct, false, 'listed from a neighbour, not from the far peer itself')
    assert.ok(entry.signed !== undefined, 'the pulled entry keeps its envelope, to hand on in turn')
  })

  it('pulls for a job: a program named, the peers listed left out', async () => {
    const farId = far.node.peerId.toString()
    const program = far.capacity.currentAdvert().programs[0]
    assert.ok(program !== undefined, 'the far peer runs no program')
    const others = submitter.capacity.peers.list().map((entry) => entry.peerId)
    const round = await submitter.capacityPuller.pull({
      program,
      units: 12,
      known: others.filter((peer) => peer !== farId),
      asked: new Set()
    })
    assert.ok(round.asked >= 1, `asked ${round.asked} neighbours`)
    // the far peer is listed already from the warm-up: handed over again it is stale, not listed twice
    assert.equal(round.adverts >= 1, true, `round: ${JSON.stringify(round)}`)
    assert.equal(submitter.capacity.peers.get(farId)?.advert.unitsTotal, 12)
  })
})

describe('a pull against a hostile or older neighbour', () => {
  const daemons: Daemon[] = []
  let asker: Daemon
  let answerer: Daemon

  before(async () => {
    asker = await startTestNode({ overrides: { net: { dht: false } } })
    answerer = await startTestNode({
      overrides: { net: { dht: false, bootstrap: [multiaddrOf(asker)] } }
    })
    daemons.push(asker, answerer)
    await waitFor(() => asker.node.getPeers().length === 1, 'the two peers to connect')
  })

  after(async () => stopAll(daemons))

  /** Replaces the answerer's pull handler with `answer` */
  async function answerWith(
    answer: (stream: Stream, connection: Connection) => Promise<void>
  ): Promise<void> {
    await answerer.node.unhandle(PULL_PROTOCOL)
    await answerer.node.handle(PULL_PROTOCOL, answer, {
      maxInboundStreams: MAX_INBOUND_STREAMS,
      maxOutboundStreams: MAX_OUTBOUND_STREAMS
    })
  }

  const pull = async (): ReturnType<Daemon['capacityPuller']['pull']> =>
    asker.capacityPuller.pull({ program: 'fib', units: 10, known: [], asked: new Set() })

  it('takes an older peer without the protocol as an empty answer', async () => {
    await answerer.node.unhandle(PULL_PROTOCOL)
    const round = await pull()
    assert.deepEqual(round, { asked: 1, adverts: 0, listed: 0, units: 0 })
  })

  it('gives up on a neighbour that never answers at the round deadline', async () => {
    await answerWith(async (stream) => {
      // reads the request, then holds the stream open without a word
      await pbStream(stream).read(PullRequest)
    })
    const round = await pull()
    assert.deepEqual(round, { asked: 1, adverts: 0, listed: 0, units: 0 })
  })

  it('reads nothing of an answer over the byte cap', async () => {
    await answerWith(async (stream) => {
      const messages = pbStream(stream, { maxDataLength: 1024 * 1024 })
      await messages.read(PullRequest)
      const signed = await signAdvert(
        await newKey(),
        encodeAdvert(makeAdvert({ programs: ['fib'] })),
        asker.capacity.topic
      )
      const padded = { ...signed, key: new Uint8Array(70 * 1024) }
      await messages.write({ adverts: [padded] }, PullResponse)
      await stream.close()
    })
    const round = await pull()
    assert.deepEqual(round, { asked: 1, adverts: 0, listed: 0, units: 0 })
  })

  it('does not list a validly signed advert of a key it cannot reach (keys are free)', async () => {
    await answerWith(async (stream) => {
      const messages = pbStream(stream)
      await messages.read(PullRequest)
      const fresh = makeAdvert({ programs: ['fib'], unitsTotal: 1_000, unitsFree: 1_000 })
      const signed = await signAdvert(await newKey(), encodeAdvert(fresh), asker.capacity.topic)
      await messages.write({ adverts: [signed] }, PullResponse)
      await stream.close()
    })
    const round = await pull()
    assert.deepEqual(round, { asked: 1, adverts: 1, listed: 0, units: 0 })
    assert.equal(asker.capacity.peers.size <= 1, true)
    assert.equal(asker.node.getPeers().length, 1, 'an unreachable advert is no lie: the answerer stays')
  })

  it('bans a neighbour whose answer holds a forged advert, and lists none of it', async () => {
    await answerWith(async (stream) => {
      const messages = pbStream(stream)
      await messages.read(PullRequest)
      const topic = asker.capacity.topic
      const honest = await signAdvert(await newKey(), encodeAdvert(makeAdvert({ programs: ['fib'] })), topic)
      const forged = await signAdvert(await newKey(), encodeAdvert(makeAdvert({ programs: ['fib'] })), topic)
      forged.signature[0] = (forged.signature[0] ?? 0) ^ 1
      await messages.write({ adverts: [honest, forged] }, PullResponse)
      await stream.close()
    })
    const round = await pull()
    assert.deepEqual(round, { asked: 1, adverts: 0, listed: 0, units: 0 })
    await waitFor(() => asker.node.getPeers().length === 0, 'the forger to be hung up on')
  })
})
