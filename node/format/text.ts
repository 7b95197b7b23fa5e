/** Plain-text building blocks the commands share: tables, key/value lists, sizes, durations, bars */

/** Left-aligned columns separated by two spaces; the first row is the header */
export function formatTable(rows: string[][]): string {
  const widths: number[] = []
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length)
    })
  }
  return rows
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd()
    )
    .join('\n')
}

/** `850ms`, `1.5s`, `2m5s`, `1h30m`: the two largest units */
export function formatDurationShort(ms: number): string {
  if (ms < 1_000) return `${ms}ms`
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)}s`
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)}m${Math.floor((ms % 60_000) / 1_000)}s`
  return `${Math.floor(ms / 3_600_000)}h${Math.floor((ms % 3_600_000) / 60_000)}m`
}

/** `512 B`, `1.5 KiB`, `121 KiB`: one decimal below 10 of a unit, powers of 1024 */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  const units = ['KiB', 'MiB', 'GiB', 'TiB']
  let value = bytes
  let unit = 'B'
  for (const next of units) {
    if (value < 1024) break
    value /= 1024
    unit = next
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${unit}`
}

/** `1 peer`, `3 peers` */
export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`
}

/** At most `max` characters, an ellipsis for what was cut */
export function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, Math.max(0, max - 1))}\u2026` : text
}

/** One `key  value` line per row, values aligned; a list of values continues on the lines below */
export function keyValues(rows: [string, string | string[]][]): string {
  const width = Math.max(...rows.map(([key]) => key.length)) + 2
  return rows
    .flatMap(([key, value]) => {
      const values = Array.isArray(value) ? value : [value]
      return values.map((line, i) => `${(i === 0 ? key : '').padEnd(width)}${line}`)
    })
    .join('\n')
}

/** `[#####-----]`; an unknown total draws an empty bar */
export function progressBar(done: number, total: number, width = 20): string {
  const fraction = total > 0 ? Math.min(1, Math.max(0, done / total)) : 0
  const filled = Math.round(fraction * width)
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`
}
