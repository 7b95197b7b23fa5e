import '../../src/polyfill.js'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises'
import { createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { JobFailure } from '../../src/job/errors.js'
import { JobHints } from '../../src/job/hints.js'
import { MAX_HINTS_BYTES } from '../../protocols/hints/constants.js'

async function collect(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = []
  for await (const chunk of source) chunks.push(chunk)
  return Buffer.concat(chunks)
}

describe('JobHints', () => {
  let dir: string
  const signal = new AbortController().signal

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'proofmesh-hints-'))
  })

  after(async () => rm(dir, { recursive: true, force: true }))

  it('reads the plan\u2019s hints from the job folder, and a given file where it is', async () => {
    const planned = new JobHints(undefined, dir, signal)
    assert.equal(planned.path, join(dir, 'hints'))
    const bytes = randomBytes(3000)
    await writeFile(planned.path, bytes)
    assert.deepEqual(await collect(planned.read()), bytes)

    const given = join(dir, 'given.hints')
    await writeFile(given, bytes.subarray(0, 10))
    const file = new JobHints({ kind: 'file', path: given }, dir, signal)
    assert.equal(file.path, given)
    assert.deepEqual(await collect(file.read()), bytes.subarray(0, 10))
  })

  it('fails with HINTS on a file it cannot read', async () => {
    const missing = new JobHints({ kind: 'file', path: join(dir, 'missing') }, dir, signal)
    await assert.rejects(
      collect(missing.read()),
      (err: unknown) => err instanceof JobFailure && err.code === 'HINTS' && /cannot read/.test(err.message)
    )
  })

  it('refuses a hints file over MAX_HINTS_BYTES before reading it', async () => {
    const big = join(dir, 'big.hints')
    await writeFile(big, '')
    await truncate(big, MAX_HINTS_BYTES + 1) // sparse: nothing is written
    await assert.rejects(
      collect(new JobHints({ kind: 'file', path: big }, dir, signal).read()),
      (err: unknown) => err instanceof JobFailure && err.code === 'HINTS' && /byte limit/.test(err.message)
    )
  })

  describe('from a socket', () => {
    let server: Server
    let socketPath: string
    const connections: Socket[] = []

    before(async () => {
      socketPath = join(dir, 'hints.sock')
      server = createServer((connection) => connections.push(connection))
      await new Promise<void>((resolve) => server.listen(socketPath, resolve))
    })

    after(() => {
      for (const connection of connections) connection.destroy()
      server.close()
    })

    it('reads the socket once: readers started together and a later one all get every byte', async () => {
      const hints = new JobHints({ kind: 'socket', path: socketPath }, dir, signal)
      const first = collect(hints.read())
      const second = collect(hints.read())
      const bytes = randomBytes(200_000)
      await new Promise((resolve) => setTimeout(resolve, 50))
      assert.equal(connections.length, 1, 'one connection to the socket')
      connections[0]!.write(bytes.subarray(0, 1000))
      await new Promise((resolve) => setTimeout(resolve, 20))
      connections[0]!.end(bytes.subarray(1000))
      assert.deepEqual(await first, bytes)
      assert.deepEqual(await second, bytes)
      assert.deepEqual(await collect(hints.read()), bytes, 'a reader after the socket ended')
      assert.equal(connections.length, 1, 'still one connection')
      assert.deepEqual(await readFile(join(dir, 'hints-received')), bytes)
    })

    it('gives every reader a HINTS failure when the job folder cannot be written, without throwing elsewhere', async () => {
      const hints = new JobHints({ kind: 'socket', path: socketPath }, join(dir, 'no-such-folder'), signal)
      await assert.rejects(
        collect(hints.read()),
        (err: unknown) => err instanceof JobFailure && err.code === 'HINTS'
      )
    })
  })
})
