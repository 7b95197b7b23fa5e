import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { ApiClient, SseParser } from '../../node/api-client.js'
import { cliError } from '../helpers/cli-error.js'

describe('ApiClient', () => {
  it('parses server-sent events split anywhere', () => {
    const parser = new SseParser()
    const text =
      ': hello\r\nid: 1\r\nevent: state\r\ndata: {"a":1}\r\n\r\nid: 2\ndata: x\ndata: y\n\nretry: 5\n\n'
    const messages = []
    for (const char of text) messages.push(...parser.push(char))
    assert.deepEqual(messages, [
      { id: '1', event: 'state', data: '{"a":1}' },
      { id: '2', event: 'message', data: 'x\ny' }
    ])
  })

  describe('events and download against a server', () => {
    let server: Server
    let client: ApiClient
    let connections = 0
    const lastEventIds: (string | undefined)[] = []
    let mode: 'drop' | 'down' = 'drop'
    let dir: string
    const frame = (seq: number, state: string): string =>
      `id: ${seq}\nevent: state\ndata: ${JSON.stringify({ jobId: 'j1', seq, at: seq, kind: 'state', state })}\n\n`

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'proofmesh-client-'))
      server = createServer((request, response) => {
        if (request.url === '/v1/jobs/j1/proof') {
          response.writeHead(200, { 'content-length': '6' })
          response.end('PROOF!')
          return
        }
        if (request.url === '/v1/jobs/nope/events') {
          response.writeHead(404, { 'content-type': 'application/json' })
          response.end('{"error":"no job nope"}')
          return
        }
        connections++
        if (mode === 'down') {
          request.socket.destroy()
          return
        }
        lastEventIds.push(request.headers['last-event-id'] as string | undefined)
        response.writeHead(200, { 'content-type': 'text/event-stream' })
        if (connections === 1) {
          // One event, then the connection breaks
          response.write(frame(1, 'queued'))
          setTimeout(() => response.destroy(), 20)
          return
        }
        response.write(frame(1, 'queued'))
        response.write(frame(2, 'proving'))
        response.end(frame(3, 'succeeded'))
      })
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      const { port } = server.address() as AddressInfo
      client = ApiClient.forAddress({ url: `http://127.0.0.1:${port}`, pid: 1, peerId: 'p' }, 'token')
    })

    after(async () => {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
      await rm(dir, { recursive: true, force: true })
    })

    it('resumes a broken stream from the last event it saw', async () => {
      const seen: number[] = []
      for await (const event of client.events('j1', { reconnectDelayMs: 5 })) seen.push(event.seq)
      assert.deepEqual(seen, [1, 2, 3])
      assert.deepEqual(lastEventIds, [undefined, '1'])
    })

    it('gives up after 5 reconnects that bring nothing', async () => {
      mode = 'down'
      connections = 0
      const err = await cliError(async () => {
        for await (const event of client.events('j1', { reconnectDelayMs: 1 }))
          assert.fail(`got ${event.seq}`)
      })
      assert.match(err.message, /gave up after 5 reconnects/)
      assert.equal(connections, 6)
      mode = 'drop'
    })

    it('turns a daemon error into a CliError at once', async () => {
      const err = await cliError(async () => {
        for await (const event of client.events('nope')) assert.fail(`got ${event.seq}`)
      })
      assert.equal(err.message, 'no job nope')
      assert.equal(err.exitCode, 1)
    })

    it('downloads atomically: the whole file or nothing', async () => {
      const target = join(dir, 'sub')
      await mkdir(target)
      const result = await client.download('/v1/jobs/j1/proof', join(target, 'p.proof'))
      assert.equal(result.size, 6)
      assert.equal(await readFile(join(target, 'p.proof'), 'utf8'), 'PROOF!')
      await cliError(() => client.download('/v1/jobs/nope/events', join(target, 'q.proof')))
      assert.deepEqual(await readdir(target), ['p.proof'])
    })
  })
})
