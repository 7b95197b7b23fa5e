import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Reserve } from '../../protocols/job/pb/job.js'
import { FramedStream } from '../../src/net/framed-stream.js'

// the frame codec installs the fix: importing it is what every daemon does before it encodes a frame
void FramedStream

describe('uint64 fields on the wire', () => {
  it('carry every size a job can have, across the 2^31 and 2^32 boundaries', () => {
    const sizes = [
      0n,
      1n,
      2n ** 31n - 1n,
      2n ** 31n,
      3_000_000_000n,
      2n ** 32n - 1n,
      2n ** 32n,
      6_000_000_000n,
      2n ** 53n - 1n,
      2n ** 53n,
      2n ** 64n - 1n
    ]
    for (const inputSize of sizes) {
      const decoded = Reserve.decode(Reserve.encode({ jobId: 'j', program: 'p', units: 1, inputSize }))
      assert.equal(decoded.inputSize, inputSize, `inputSize ${inputSize} came back as ${decoded.inputSize}`)
    }
  })
})
