import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { describe, it } from 'node:test'
import { computeChallenge } from '../../src/prover/challenge.js'
import { LineSplitter } from '../../src/prover/lines.js'

function split(maxLineBytes: number, chunks: string[]) {
  const lines: string[] = []
  const oversized: Array<{ head: string; length: number }> = []
  const splitter = new LineSplitter(
    maxLineBytes,
    (line) => lines.push(line.toString()),
    (head, length) => oversized.push({ head: head.toString(), length })
  )
  for (const chunk of chunks) {
    splitter.push(Buffer.from(chunk))
  }
  return { lines, oversized, pending: splitter.pending }
}

describe('LineSplitter', () => {
  it('joins lines across chunks and keeps an unterminated tail pending', () => {
    const { lines, oversized, pending } = split(100, ['ab', 'c\nde', 'f\n\ng\nhi'])
    assert.deepEqual(lines, ['abc', 'def', '', 'g'])
    assert.deepEqual(oversized, [])
    assert.equal(pending, 2)
  })

  it('drops a line over the limit, reports its head and length, and resumes at the next line', () => {
    const { lines, oversized } = split(8, ['{"id":7,', '"x":"0123456789"}\nok\n'])
    assert.deepEqual(lines, ['ok'])
    assert.deepEqual(oversized, [{ head: '{"id":7,"x":"0123456789"}', length: 25 }])
  })

  it('accepts a line of exactly the limit', () => {
    assert.deepEqual(split(4, ['abcd\n']).lines, ['abcd'])
    assert.equal(split(4, ['abcde\n']).oversized.length, 1)
  })
})

describe('computeChallenge', () => {
  it('hashes the domain, the job and each contribution with u32be length prefixes', () => {
    const expected = createHash('sha256')
      .update('proofmesh/challenge/1')
      .update(Buffer.from([0, 0, 0, 2]))
      .update('j1')
      .update(Buffer.from([0, 0, 0, 2, 0xab, 0xcd, 0, 0, 0, 0]))
      .digest('hex')
    assert.equal(computeChallenge('j1', ['abcd', '']), expected)
  })

  it('refuses contributions that are not lower-case hex of whole bytes', () => {
    for (const bad of ['abc', 'ABCD', '0x00', 'zz']) {
      assert.throws(() => computeChallenge('j', [bad]), TypeError)
    }
  })
})
