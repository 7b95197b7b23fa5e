import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { MAX_PEER_TEXT_CHARS, peerText } from '../../src/net/peer-text.js'

describe('peer text: what one machine tells another', () => {
  it('keeps a machine\u2019s paths to itself', () => {
    assert.equal(
      peerText('cannot open /home/alice/.proofmesh/work/j1/slice-3: No such file or directory (os error 2)'),
      'cannot open <path>: No such file or directory (os error 2)'
    )
    assert.equal(
      peerText('ENOSPC: no space left on device, write "/var/lib/proofmesh/work/j1/hints"'),
      'ENOSPC: no space left on device, write "<path>"'
    )
    assert.equal(peerText('open C:\\Users\\bob\\proofmesh\\x.bin failed'), 'open <path> failed')
    assert.equal(
      peerText('input "../secret" is outside the inputs folder'),
      'input "../secret" is outside the inputs folder'
    )
  })

  it('keeps what names no file: protocol ids, multiaddrs, fractions, ratios', () => {
    for (const text of [
      'the stream /proofmesh/job/1.0.0 was reset',
      'dial /ip4/10.0.0.5/tcp/4001/p2p/12D3KooWabc failed',
      'segment 3 of 8 done, 3/8, 50% at 12 MiB/s',
      'input "blocks/a.bin" here has 5 bytes, the submitter\u2019s has 6'
    ]) {
      assert.equal(peerText(text), text)
    }
  })

  it('makes one line without control characters: no escape sequence reaches a terminal', () => {
    assert.equal(peerText('line one\nline two\r\n\ttabbed'), 'line one line two tabbed')
    assert.equal(
      peerText('\u001b[2J\u001b[31mred\u001b[0m bell\u0007 next\u2028line'),
      '[2J [31mred [0m bell next line'
    )
    assert.equal(peerText('  padded  '), 'padded')
  })

  it('cuts a long reason', () => {
    const long = peerText('x'.repeat(1024 * 1024))
    assert.equal(long.length, MAX_PEER_TEXT_CHARS)
    assert.ok(long.endsWith('\u2026'))
  })
})
