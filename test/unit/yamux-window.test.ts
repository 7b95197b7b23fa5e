import '../../src/polyfill.js'
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { FrameHeader } from '@libp2p/yamux'
import { StreamState, YamuxStream } from '@libp2p/yamux/stream'
import { Uint8ArrayList } from 'uint8arraylist'
import { createLogger } from '../../src/log/index.js'
import { pinoComponentLogger } from '../../src/net/libp2p-logger.js'
import { deferYamuxWindowUpdates } from '../../src/net/yamux-window.js'

/** yamux's frame types and flags (the yamux spec: Data 0, Window Update 1; SYN 1, ACK 2) */
const DATA = 0
const WINDOW_UPDATE = 1
const ACK = 2
/** @libp2p/yamux's initial stream window */
const WINDOW = 256 * 1024

const log = pinoComponentLogger(createLogger({ level: 'silent' })).forComponent('yamux-window-test')

/** A real yamux stream whose outgoing frames are recorded instead of written to a connection */
function recordingStream(state: StreamState): { stream: YamuxStream; sent: FrameHeader[] } {
  const sent: FrameHeader[] = []
  const stream = new YamuxStream({
    id: '1',
    streamId: 1,
    state,
    direction: 'inbound',
    log,
    getRTT: () => -1,
    sendFrame: (header) => {
      sent.push(header)
      return true
    }
  })
  return { stream, sent }
}

function deliver(stream: YamuxStream, bytes: number): void {
  stream.handleData({
    header: { type: DATA, flag: 0, streamID: 1, length: bytes, version: 0 },
    data: new Uint8ArrayList(new Uint8Array(bytes))
  })
}

describe('yamux window updates', () => {
  deferYamuxWindowUpdates()

  it('grants the window back once half of it is consumed, not after every frame', () => {
    const { stream, sent } = recordingStream(StreamState.Established)
    const frame = 1000
    let delivered = 0
    while (delivered + frame < WINDOW / 2) {
      deliver(stream, frame)
      delivered += frame
    }
    assert.equal(
      sent.length,
      0,
      `no update before half the window is consumed (${delivered} bytes delivered)`
    )
    deliver(stream, frame)
    delivered += frame
    assert.equal(sent.length, 1, 'one update once half the window is consumed')
    assert.equal(sent[0]?.type, WINDOW_UPDATE)
    assert.equal(sent[0]?.length, delivered, 'the update gives back everything consumed')
    // the window is whole again: the next half window needs another update, not the next frame
    deliver(stream, frame)
    assert.equal(sent.length, 1)
  })

  it('never leaves a sender that spent its whole window without an update', () => {
    const { stream, sent } = recordingStream(StreamState.Established)
    deliver(stream, WINDOW)
    assert.equal(sent.length, 1)
    assert.equal(sent[0]?.length, WINDOW)
  })

  it('still acknowledges a new inbound stream at its first frame', () => {
    const { stream, sent } = recordingStream(StreamState.SYNReceived)
    deliver(stream, 10)
    assert.equal(sent.length, 1)
    assert.equal(sent[0]?.flag, ACK, 'the ACK of a new stream goes out at once')
    assert.equal(stream.state, StreamState.Established)
  })
})
