import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  cut,
  formatBytes,
  formatDurationShort,
  formatTable,
  keyValues,
  plural,
  progressBar
} from '../../node/format/text.js'

describe('text the commands share', () => {
  it('lines up a table on its widest cells, with no trailing blanks', () => {
    assert.equal(
      formatTable([
        ['ID', 'STATE', 'NOTE'],
        ['job-long-id', 'ok', ''],
        ['j', 'succeeded', 'x']
      ]),
      'ID           STATE      NOTE\njob-long-id  ok\nj            succeeded  x'
    )
  })

  it('aligns key/value rows and continues a list of values under its key', () => {
    assert.equal(
      keyValues([
        ['job', 'job42'],
        ['peers', ['2 peers', 'a', 'b']]
      ]),
      'job    job42\npeers  2 peers\n       a\n       b'
    )
  })

  it('writes sizes in powers of 1024 and durations in their two largest units', () => {
    assert.equal(formatBytes(1023), '1023 B')
    assert.equal(formatBytes(1536), '1.5 KiB')
    assert.equal(formatBytes(123_456), '121 KiB')
    assert.equal(formatBytes(3 * 1024 ** 3), '3.0 GiB')
    assert.equal(formatDurationShort(850), '850ms')
    assert.equal(formatDurationShort(1_500), '1.5s')
    assert.equal(formatDurationShort(125_000), '2m5s')
    assert.equal(formatDurationShort(5_400_000), '1h30m')
  })

  it('counts nouns and cuts long text with an ellipsis', () => {
    assert.equal(plural(1, 'peer'), '1 peer')
    assert.equal(plural(0, 'segment'), '0 segments')
    assert.equal(cut('abcdef', 6), 'abcdef')
    assert.equal(cut('abcdefg', 6), 'abcde\u2026')
  })

  it('draws a bar', () => {
    assert.equal(progressBar(0, 4, 8), '[--------]')
    assert.equal(progressBar(2, 4, 8), '[####----]')
    assert.equal(progressBar(9, 4, 8), '[########]')
    assert.equal(progressBar(1, 0, 4), '[----]')
  })
})
