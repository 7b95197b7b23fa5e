import '../../src/polyfill.js'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { streamPair } from '@libp2p/utils'
import type { InputsHeader } from '../../protocols/inputs/pb/inputs.js'
import { FramedStream } from '../../src/net/framed-stream.js'
import { readSliceHeader, receiveSlice, sendSlice } from '../../protocols/inputs/codec.js'
import { FILE_PIECE_BYTES } from '../../src/files/file-range.js'
import { openFileSink } from '../../src/files/file-sink.js'

describe('an input slice tells its sender of each chunk as it goes', () => {
  let dir: string

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'proofmesh-slice-'))
  })

  after(async () => rm(dir, { recursive: true, force: true }))

  it('reports every chunk, the first long before the receiver has the whole slice', async () => {
    const bytes = randomBytes(3 * FILE_PIECE_BYTES + 12_345)
    const source = join(dir, 'input')
    await writeFile(source, bytes)
    const header: InputsHeader = {
      jobId: 'job1',
      segment: 0,
      offset: 0n,
      length: BigInt(bytes.length),
      total: BigInt(bytes.length),
      sha256: createHash('sha256').update(bytes).digest()
    }
    const [outbound, inbound] = await streamPair()
    const sender = new FramedStream(outbound)
    const receiver = new FramedStream(inbound)
    const signal = AbortSignal.timeout(60_000)
    const reports: Array<{ bytes: number; finished: boolean }> = []
    let finished = false
    const receiving = (async () => {
      const got = await readSliceHeader(receiver, signal)
      const sink = await openFileSink({ path: join(dir, 'slice'), maxBytes: Number(got.length) })
      await receiveSlice(
        receiver,
        got,
        {
          ...sink,
          finish: async (...args) => {
            await sink.finish(...args)
            finished = true
          }
        },
        signal
      )
    })()
    const sent = await sendSlice(sender, header, { path: source, offset: 0 }, signal, (count) =>
      reports.push({ bytes: count, finished })
    )
    await receiving
    assert.equal(sent, bytes.length)
    assert.equal(
      reports.reduce((sum, report) => sum + report.bytes, 0),
      bytes.length
    )
    assert.equal(reports.length, 4, 'one report per chunk read')
    assert.equal(reports[0]?.finished, false, 'counted while the slice streams, not at its end')
    assert.ok((await readFile(join(dir, 'slice'))).equals(bytes))
  })
})
