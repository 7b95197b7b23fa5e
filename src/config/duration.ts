import { InvalidValueError } from './errors.js'

export const DURATION_EXPECTED = 'a duration like "5s" or "500ms"'

/** Longest duration accepted: setTimeout fires at once for anything above 2^31-1 ms */
export const MAX_DURATION_MS = 2 ** 31 - 1

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000
}

const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y

/**
 * Parses `500ms`, `5s`, `1.5s`, `10m`, `1h30m`, `2d` into whole milliseconds.
 * A bare number is refused (is it seconds or milliseconds?). Throws InvalidValueError.
 */
export function parseDuration(text: string): number {
  const input = text.trim()
  if (input === '') {
    throw new InvalidValueError(DURATION_EXPECTED, text)
  }
  let total = 0
  PART.lastIndex = 0
  while (PART.lastIndex < input.length) {
    const match = PART.exec(input)
    const unit = match?.[2]
    if (match === null || unit === undefined) {
      throw new InvalidValueError(DURATION_EXPECTED, text)
    }
    total += Number(match[1]) * (UNIT_MS[unit] ?? Number.NaN)
  }
  const ms = Math.round(total)
  if (!Number.isFinite(ms) || ms > MAX_DURATION_MS) {
    throw new InvalidValueError(`${DURATION_EXPECTED}, at most 24d`, text)
  }
  return ms
}

/** Renders milliseconds the way parseDuration reads them back: 300000 → "5m", 1500 → "1500ms" */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [
    ['d', UNIT_MS.d],
    ['h', UNIT_MS.h],
    ['m', UNIT_MS.m],
    ['s', UNIT_MS.s]
  ] as const) {
    if (size !== undefined && ms >= size && ms % size === 0) {
      return `${ms / size}${unit}`
    }
  }
  return `${ms}ms`
}
