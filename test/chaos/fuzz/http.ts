/**
 * The HTTP API: requests written by hand over a raw socket, so that the method, the path, the headers, the
 * framing and the body are all ours to break; the job request's body is the most worked on.
 */
import { connect } from 'node:net'
import { hex, mutateBytes } from './bytes.js'
import { fuzzJobId } from './frames.js'
import { JSON_KEYS, randomJson, randomString, type Rng } from './rng.js'
import { HTTP_DEADLINE_MS } from './settings.js'

export interface HttpContext {
  port: number
  token: string
  jobId: string
  emptyFile: string
}

/** Every byte of the text's UTF-8 but letters and digits as %XX (encodeURIComponent throws on a lone surrogate) */
function percentEncoded(text: string): string {
  return [...Buffer.from(text)]
    .map((byte) =>
      /[A-Za-z0-9]/.test(String.fromCharCode(byte))
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).padStart(2, '0')}`
    )
    .join('')
}

function httpPath(rng: Rng, ctx: HttpContext): string {
  const id = rng.pick([
    ctx.jobId,
    ctx.jobId,
    fuzzJobId(rng),
    'a'.repeat(64),
    'a'.repeat(65),
    '%00',
    '..',
    '%2e%2e',
    'é',
    percentEncoded(randomString(rng))
  ])
  return rng.pick([
    '/v1/health',
    '/v1/status',
    '/v1/peers',
    '/metrics',
    '/v1/jobs',
    '/v1/jobs',
    `/v1/jobs?state=${rng.pick(['queued', 'failed,succeeded', 'bogus', '', ',,,', 'x'.repeat(100), '%00'])}`,
    `/v1/jobs/${id}`,
    `/v1/jobs/${id}/proof`,
    `/v1/jobs/${id}/events`,
    `/v1/jobs/${id}/events?after=${rng.pick(['0', '-1', '1e3', '99999999999999999999', 'abc', ''])}`,
    `/v1/jobs/${id}/cancel`,
    `/v1/jobs/${id}/${percentEncoded(randomString(rng))}`,
    '/v1/jobs/../status',
    '/v1/../v1/status',
    '/%2e%2e/%2e%2e/etc/passwd',
    '/v1/jobs/%00',
    '/v1/jobs/%',
    '//v1/health',
    '*',
    `http://127.0.0.1:${ctx.port}/v1/status`,
    `/v1/health?${'a=1&'.repeat(rng.int(1000))}`,
    `/${'a'.repeat(rng.pick([100, 8000, 20_000, 100_000]))}`,
    `/v1/${randomString(rng)}`,
    '',
    ' /v1/health',
    '/v1/health#x'
  ])
}

function jobRequestBody(rng: Rng, ctx: HttpContext): Record<string, unknown> {
  const body: Record<string, unknown> = {
    inputMode: rng.pick(['data', 'data', 'path', 'DATA', '', 1, null]),
    // never a readable non-empty file: a fuzz case must not start a real job
    input: rng.pick([
      '/nonexistent/fuzz.bin',
      '/tmp',
      '/dev/null',
      ctx.emptyFile,
      'input.bin',
      '../../etc/passwd',
      '',
      `/${'a'.repeat(5000)}`,
      '/x\u0000y',
      7,
      null,
      ['/a']
    ]),
    computeCapacity: rng.pick([1, 2, 0, -1, 1.5, 1_000_000, 1_000_001, 2 ** 53, '1', null, true])
  }
  const optional: Array<[string, () => unknown]> = [
    ['program', () => rng.pick(['rescue-sponge', 'RESCUE', '../x', '', 'a'.repeat(65), 3])],
    ['minimalComputeCapacity', () => rng.pick([1, 0, 2, 1e6, -1, 0.5])],
    ['priority', () => rng.pick([0, -1000, 1000, 1001, 1.5, '1'])],
    ['dataId', () => rng.pick(['x', '', 'a'.repeat(200), '\u0007', 5])],
    ['timeoutMs', () => rng.pick([1000, 999, '90s', '10m', '1x', -1, 2 ** 31, 'P1D', '', 1e300])],
    [
      'webhookUrl',
      () => rng.pick(['http://127.0.0.1:1/x', 'ftp://x', 'http://', 'javascript:alert(1)', '', 'http://x y'])
    ],
    ['saveProof', () => rng.pick([true, false, 'yes', 0])],
    [
      'hints',
      () =>
        rng.pick([
          { kind: 'file', path: '/nonexistent' },
          { kind: 'socket', path: 'relative' },
          'x',
          { kind: 'pipe' },
          { kind: 'file', path: '/x', extra: 1 },
          null
        ])
    ]
  ]
  for (const [key, value] of optional) if (rng.bool(0.25)) body[key] = value()
  if (rng.bool(0.1)) delete body[rng.pick(['inputMode', 'input', 'computeCapacity'])]
  if (rng.bool(0.1)) {
    Object.defineProperty(body, rng.pick(JSON_KEYS.slice(-7)), {
      value: randomJson(rng),
      enumerable: true,
      writable: true,
      configurable: true
    })
  }
  return body
}

function httpBody(rng: Rng, ctx: HttpContext): { label: string; body: Buffer } {
  const text = (label: string, body: string): { label: string; body: Buffer } => ({
    label,
    body: Buffer.from(body)
  })
  switch (rng.int(10)) {
    case 0:
      return text('no body', '')
    case 1:
      return { label: 'random bytes', body: Buffer.from(rng.bytes(rng.size(8192))) }
    case 2:
      return text('random JSON', JSON.stringify(randomJson(rng)) ?? 'null')
    case 3: {
      const depth = rng.range(100, 12_000)
      return rng.pick([
        () => text(`arrays nested ${depth * 2} deep`, `${'['.repeat(depth * 2)}${']'.repeat(depth * 2)}`),
        () => text(`objects nested ${depth} deep`, `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`),
        () =>
          text(
            `a job request with an input nested ${depth * 2} deep`,
            `{"inputMode":"data","input":${'['.repeat(depth * 2)}${']'.repeat(depth * 2)},"computeCapacity":1}`
          )
      ])()
    }
    case 4: {
      const number = rng.pick([
        '1e400',
        '-1e400',
        '123456789012345678901234567890',
        '-0',
        '0.1e1',
        '9007199254740993',
        '1E1'
      ])
      const field = rng.pick(['computeCapacity', 'minimalComputeCapacity', 'priority', 'timeoutMs'])
      const request = { inputMode: 'data', input: '/nonexistent/fuzz.bin', computeCapacity: 1 }
      return text(`${field} ${number}`, JSON.stringify(request).replace(/}$/, `,"${field}":${number}}`))
    }
    case 5:
      return text(
        'over 64 KiB',
        `{"inputMode":"data","input":"/${'a'.repeat(64 * 1024 + rng.int(200_000))}","computeCapacity":1}`
      )
    case 6:
    case 7:
      return text('a job request with random fields', JSON.stringify(jobRequestBody(rng, ctx)))
    default: {
      const mutated = mutateBytes(rng, Buffer.from(JSON.stringify(jobRequestBody(rng, ctx))))
      return { label: `a job request + ${mutated.how}`, body: Buffer.from(mutated.wire) }
    }
  }
}

/** A request, and whether its framing promises more body than it holds (the server then waits for it) */
export function httpCase(
  rng: Rng,
  ctx: HttpContext
): { label: string; request: Buffer; promisesMore: boolean } {
  const method = rng.bool(0.93)
    ? rng.pick([
        'GET',
        'GET',
        'GET',
        'POST',
        'POST',
        'POST',
        'HEAD',
        'PUT',
        'DELETE',
        'PATCH',
        'OPTIONS',
        'TRACE'
      ])
    : rng.pick(['get', 'G ET', 'FOO', '', 'X'.repeat(100), 'CONNECT', randomString(rng, 8)])
  const path = httpPath(rng, ctx)
  const version = rng.bool(0.96)
    ? 'HTTP/1.1'
    : rng.pick(['HTTP/1.0', 'HTTP/2.0', 'HTTP/1.1 x', 'http/1.1', '', 'HTTP/9'])
  const { label, body: plain } =
    method === 'POST' || rng.bool(0.1) ? httpBody(rng, ctx) : { label: 'no body', body: Buffer.alloc(0) }
  let body = plain
  const headers: string[] = []
  if (rng.bool(0.95)) headers.push(`Host: 127.0.0.1:${ctx.port}`)
  const auth = rng.int(10)
  if (auth < 6) headers.push(`Authorization: Bearer ${ctx.token}`)
  else if (auth === 7) headers.push(`Authorization: Bearer ${hex(rng.bytes(32))}`)
  else if (auth === 8) {
    headers.push(
      `Authorization: ${rng.pick([
        `bearer ${ctx.token}`,
        'Bearer',
        `Bearer  ${ctx.token}  x`,
        `Basic ${Buffer.from(`u:${ctx.token}`).toString('base64')}`,
        `Bearer ${ctx.token}\u00ff`,
        `Bearer ${ctx.token.slice(0, -1)}`,
        `Bearer ${ctx.token}${ctx.token}`
      ])}`
    )
  } else if (auth === 9) headers.push(`Authorization: Bearer ${ctx.token}`, `Authorization: Bearer x`)
  if (body.byteLength > 0 || method === 'POST') {
    headers.push(
      `Content-Type: ${
        rng.bool(0.85)
          ? 'application/json'
          : rng.pick([
              'text/plain',
              'application/json; charset=utf-8',
              'APPLICATION/JSON',
              'application/jsonx',
              '',
              'multipart/form-data; boundary=x'
            ])
      }`
    )
  }
  const length = rng.next()
  let promisesMore = false
  if (rng.bool(0.04)) {
    headers.push('Transfer-Encoding: chunked')
    const valid = rng.bool(0.7)
    promisesMore = !valid
    body = valid
      ? Buffer.concat([
          Buffer.from(`${body.byteLength.toString(16)}\r\n`),
          body,
          Buffer.from('\r\n0\r\n\r\n')
        ])
      : Buffer.concat([Buffer.from(`${rng.pick(['zz', '-1', 'ffffffffffffffff', '1'])}\r\n`), body])
  } else if (length < 0.85) headers.push(`Content-Length: ${body.byteLength}`)
  else if (length < 0.9) {
    // none
  } else if (length < 0.93) headers.push(`Content-Length: ${Math.max(0, body.byteLength - rng.range(1, 10))}`)
  else if (length < 0.94) {
    headers.push(`Content-Length: ${body.byteLength + rng.range(1, 10)}`)
    promisesMore = true
  } else if (length < 0.97) {
    headers.push(`Content-Length: ${rng.pick(['-1', 'abc', '99999999999999999999', '1e3', ' 5', ''])}`)
    promisesMore = true
  } else headers.push(`Content-Length: ${body.byteLength}`, `Content-Length: ${body.byteLength + 1}`)
  if (rng.bool(0.1))
    headers.push(`Last-Event-ID: ${rng.pick(['0', '-1', '1e3', '99999999999999999999', randomString(rng)])}`)
  if (rng.bool(0.02)) headers.push('Expect: 100-continue')
  if (rng.bool(0.08)) {
    const name = rng.pick(['X-Fuzz', randomString(rng, 12), 'Content-Type', ''])
    headers.push(
      `${name}: ${rng.bool(0.8) ? randomString(rng, 40) : 'v'.repeat(rng.pick([1000, 20_000, 100_000]))}`
    )
  }
  if (rng.bool(0.01)) for (let i = rng.int(3000); i > 0; i--) headers.push(`X-${i}: ${i}`)
  headers.push(rng.bool(0.95) ? 'Connection: close' : 'Connection: keep-alive')
  const head = `${method} ${path} ${version}\r\n${headers.join('\r\n')}\r\n\r\n`
  return {
    label: `${method.slice(0, 16)} ${path.slice(0, 80)} (${label})`,
    request: Buffer.concat([Buffer.from(head), body]),
    promisesMore
  }
}

/** One request over a raw socket (the URL, the headers and the framing are ours to break); the status or why none */
export async function rawHttp(port: number, request: Buffer): Promise<{ outcome: string; text: string }> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port })
    const chunks: Buffer[] = []
    let size = 0
    let settled = false
    let idle: NodeJS.Timeout | undefined
    const finish = (how: string): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      clearTimeout(idle)
      socket.destroy()
      const text = Buffer.concat(chunks).toString('latin1')
      // the status of the answer, past any 100 Continue
      const status = [...text.matchAll(/^HTTP\/1\.[01] (\d{3})/gm)]
        .map((match) => match[1])
        .find((code) => code?.charAt(0) !== '1')
      resolve({ outcome: status ?? (size > 0 ? 'garbage' : how), text })
    }
    const timer = setTimeout(() => finish('silent'), HTTP_DEADLINE_MS)
    socket.on('connect', () => {
      socket.write(request, () => undefined)
    })
    socket.on('data', (chunk: Buffer) => {
      if (size < 64 * 1024) chunks.push(chunk)
      size += chunk.byteLength
      // a kept-alive connection stays open after the answer: what came within a moment is the answer
      clearTimeout(idle)
      idle = setTimeout(() => finish('closed'), 100)
    })
    socket.on('end', () => finish('no answer'))
    socket.on('close', () => finish('no answer'))
    socket.on('error', () => finish(size > 0 ? 'no answer' : 'reset'))
  })
}
