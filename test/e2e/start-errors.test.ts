import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { CLI, proofmesh, type Run } from '../helpers/cli.js'
import { waitFor } from '../helpers/network.js'

/** A port nothing listens on right now */
async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise((resolve) => server.close(resolve))
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}

function lines(text: string): string[] {
  return text.split('\n').filter((line) => line.trim() !== '')
}

/** A failed start: exit code 1, its reason the last line on stderr, no stack trace anywhere */
function assertOneLineFailure(run: Run, reason: RegExp): void {
  assert.equal(run.code, 1, run.stderr)
  assert.match(lines(run.stderr).at(-1) ?? '', reason)
  assert.doesNotMatch(run.stderr, /^\s+at /m, 'no stack trace below debug level')
}

async function apiUrl(dataDir: string): Promise<string | undefined> {
  try {
    return (JSON.parse(await readFile(join(dataDir, 'api.json'), 'utf8')) as { url: string }).url
  } catch {
    return undefined
  }
}

describe('a daemon that cannot start says why in one line', () => {
  let scratch: string
  let first: ChildProcess
  let listenPort: number
  let apiPort: number

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'proofmesh-start-errors-'))
    listenPort = await freePort()
    const dataDir = join(scratch, 'first')
    first = spawn(
      process.execPath,
      [
        CLI,
        'daemon',
        ...['--listen', `/ip4/127.0.0.1/tcp/${listenPort}`, '--data-dir', dataDir, '--api-port', '0'],
        ...['--log-level', 'warn', '--no-dht']
      ],
      { env: { ...process.env, PROOFMESH_CONFIG: '' }, stdio: 'ignore' }
    )
    let url: string | undefined
    await waitFor(
      async () => (url = await apiUrl(dataDir)) !== undefined,
      'the first daemon to serve its API',
      60_000,
      100
    )
    apiPort = Number(new URL(url ?? '').port)
  })

  after(async () => {
    if (first.exitCode === null && first.signalCode === null) {
      const exited = once(first, 'exit')
      first.kill('SIGTERM')
      await exited
    }
    await rm(scratch, { recursive: true, force: true })
  })

  it('names net.listen and the port when the listen address is taken, and nothing else', async () => {
    const run = await proofmesh([
      ...['daemon', '--listen', `/ip4/127.0.0.1/tcp/${listenPort}`, '--data-dir', join(scratch, 'second')],
      ...['--api-port', '0', '--log-level', 'error']
    ])
    assertOneLineFailure(
      run,
      new RegExp(
        `^proofmesh: net\\.listen /ip4/127\\.0\\.0\\.1/tcp/${listenPort}: address already in use ` +
          '\\(another daemon\\? change it with --listen or net\\.listen\\)$'
      )
    )
    assert.equal(lines(run.stderr).length, 1, run.stderr)
  })

  it('ends the usual start-up log with that line at the default log level', async () => {
    const run = await proofmesh([
      ...['daemon', '--listen', `/ip4/127.0.0.1/tcp/${listenPort}`, '--data-dir', join(scratch, 'third')],
      ...['--api-port', '0']
    ])
    assertOneLineFailure(run, new RegExp(`^proofmesh: net\\.listen /ip4/127\\.0\\.0\\.1/tcp/${listenPort}: `))
    assert.doesNotMatch(run.stderr, /UnsupportedListenAddressesError|FATAL/)
  })

  it('names api.port, its host and the flag when the API port is taken', async () => {
    const run = await proofmesh([
      ...['daemon', '--listen', '/ip4/127.0.0.1/tcp/0', '--data-dir', join(scratch, 'fourth')],
      ...['--api-port', String(apiPort), '--log-level', 'error']
    ])
    assertOneLineFailure(
      run,
      new RegExp(
        `^proofmesh: api\\.port ${apiPort} on 127\\.0\\.0\\.1 is already in use ` +
          '\\(change it with --api-port or api\\.port\\)$'
      )
    )
    assert.equal(lines(run.stderr).length, 1, run.stderr)
  })

  it('keeps the full error, stack included, for log level debug', async () => {
    const run = await proofmesh([
      ...['daemon', '--listen', '/ip4/127.0.0.1/tcp/0', '--data-dir', join(scratch, 'fifth')],
      ...['--api-port', String(apiPort), '--log-level', 'debug']
    ])
    assert.equal(run.code, 1)
    assert.match(run.stderr, /the daemon could not start/)
    assert.match(run.stderr, /EADDRINUSE/)
    assert.match(run.stderr, /^\s+at /m, 'the stack is in the debug log')
    assert.match(
      lines(run.stderr).at(-1) ?? '',
      new RegExp(`^proofmesh: api\\.port ${apiPort} on 127\\.0\\.0\\.1 `)
    )
  })

  it('names the journal file when it cannot be opened', async () => {
    const dataDir = join(scratch, 'broken-journal')
    await mkdir(join(dataDir, 'journal.sqlite'), { recursive: true })
    const run = await proofmesh([
      ...['daemon', '--listen', '/ip4/127.0.0.1/tcp/0', '--data-dir', dataDir],
      ...['--api-port', '0', '--log-level', 'error']
    ])
    assertOneLineFailure(run, /^proofmesh: cannot open the job journal \S*journal\.sqlite: /)
    assert.equal(lines(run.stderr).length, 1, run.stderr)
  })
})
