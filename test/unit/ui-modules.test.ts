import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import * as peerFailure from '../../src/jobs-model/peer-failure.js'
import * as peerId from '../../src/jobs-model/peer-id.js'
import * as states from '../../src/jobs-model/states.js'
import { createLogger } from '../../src/log/index.js'
import { HttpApi } from '../../src/rpc/http/server.js'

const PEER = '12D3KooWAbCdEfGhJkLmNpQrStUvWxYz1234567890aaaaAAAA'

/** The page imports these as the server sends them: a module of its own, with nothing else to fetch */
describe('the modules the operator page shares with the CLI', () => {
  let api: HttpApi

  before(async () => {
    api = new HttpApi(
      {
        health: () => ({ ok: true }),
        status: () => ({}),
        peers: () => [],
        metrics: async () => ({ contentType: 'text/plain', body: '' })
      },
      { host: '127.0.0.1', port: 0, token: 'a'.repeat(64), logger: createLogger({ level: 'silent' }) }
    )
    await api.start()
  })

  after(async () => {
    await api.stop()
  })

  /** The served module, loaded the way a browser would: by itself, from its text */
  async function served(name: string): Promise<Record<string, unknown>> {
    const response = await fetch(`${api.url}/ui/jobs-model/${name}`)
    assert.equal(response.status, 200, name)
    assert.match(response.headers.get('content-type') ?? '', /^text\/javascript/)
    assert.match(response.headers.get('content-security-policy') ?? '', /script-src 'self'/)
    const text = await response.text()
    assert.doesNotMatch(text, /^\s*import\s/m, `${name} imports nothing the page would have to fetch`)
    assert.doesNotMatch(text, /sourceMappingURL/, `${name} points to no source map the page does not serve`)
    return (await import(`data:text/javascript,${encodeURIComponent(text)}`)) as Record<string, unknown>
  }

  it('serves the phase and state lists the CLI uses', async () => {
    const module = await served('states.js')
    assert.deepEqual(module.JOB_PHASES, states.JOB_PHASES)
    assert.deepEqual(module.JOB_STATES, states.JOB_STATES)
    const isTerminal = module.isTerminal as typeof states.isTerminal
    for (const state of states.JOB_STATES) assert.equal(isTerminal(state), states.isTerminal(state), state)
  })

  it('serves the way the CLI writes a peer id and a peer failure', async () => {
    const short = (await served('peer-id.js')).shortPeerId as typeof peerId.shortPeerId
    assert.equal(short(PEER), peerId.shortPeerId(PEER))
    assert.equal(short(PEER), '\u2026aaaaAAAA')
    const describe = (await served('peer-failure.js'))
      .describePeerFailure as typeof peerFailure.describePeerFailure
    const failure = {
      code: 'INPUT',
      segment: 3,
      message: 'input "b.bin" does not exist in the inputs folder'
    }
    assert.equal(describe(failure), peerFailure.describePeerFailure(failure))
    assert.equal(describe(undefined), 'no reason recorded')
  })

  it('serves no other file of the compiled tree', async () => {
    for (const path of [
      '/ui/jobs-model/types.js',
      '/ui/jobs-model/follow.js',
      '/ui/jobs-model/states.js.map'
    ]) {
      assert.equal((await fetch(`${api.url}${path}`)).status, 404, path)
    }
  })
})
