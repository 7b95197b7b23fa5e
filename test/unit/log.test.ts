import assert from 'node:assert/strict'
import { PassThrough } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, it } from 'node:test'
import { createLogger } from '../../src/log/index.js'

/** The events pino-pretty's pipe (pump) listens for on its destination */
const PIPE_EVENTS = ['close', 'finish', 'error', 'end', 'unpipe']

function listeners(stream: PassThrough): Record<string, number> {
  return Object.fromEntries(PIPE_EVENTS.map((event) => [event, stream.listenerCount(event)]))
}

describe('createLogger: many loggers on one destination', () => {
  it('add the pretty pipe listeners to the destination once, and all of them still write there', async () => {
    const destination = new PassThrough()
    const first = createLogger({ destination })
    const one = listeners(destination)
    assert.ok((one.close ?? 0) > 0, `the pretty pipe listens to its destination: ${JSON.stringify(one)}`)
    const more = Array.from({ length: 20 }, (_, i) =>
      createLogger({ destination, level: i % 2 === 1 ? 'silent' : 'info' })
    )
    assert.deepEqual(listeners(destination), one)

    let text = ''
    destination.setEncoding('utf8').on('data', (chunk: string) => (text += chunk))
    first.info('from the first')
    more[0]?.info('from another')
    more[1]?.info('from a silent one')
    for (let waited = 0; text.split('\n').length < 3 && waited < 10_000; waited += 20) await sleep(20)
    const lines = text.trimEnd().split('\n')
    assert.equal(lines.length, 2, `two lines, got: ${JSON.stringify(text)}`)
    assert.match(lines[0] ?? '', /from the first/)
    assert.match(lines[1] ?? '', /from another/)
  })
})
