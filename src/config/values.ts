import { homedir } from 'node:os'
import { isAbsolute, join, resolve } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { DURATION_EXPECTED, formatDuration, MAX_DURATION_MS, parseDuration } from './duration.js'
import { InvalidValueError } from './errors.js'

/** What a parser needs besides the value: where relative paths start and what `~` means */
export interface ParseContext {
  /** Directory relative paths resolve against: the config file's directory, else the working directory */
  baseDir: string
  home: string
}

export function defaultParseContext(): ParseContext {
  return { baseDir: process.cwd(), home: homedir() }
}

/**
 * One kind of configuration value. The same parser serves the TOML file, the environment and CLI
 * overrides, so each rule is written once. Parsers throw InvalidValueError.
 */
export interface ValueType<T> {
  /** The expected form, for error messages and the rendered docs */
  readonly expected: string
  /** A value from the TOML file (any TOML type) */
  fromToml(value: unknown, ctx: ParseContext): T
  /** The text of a PROOFMESH_* environment variable */
  fromEnv(text: string, ctx: ParseContext): T
  /** A value passed by the CLI, in the resolved shape (durations as milliseconds) */
  fromOverride(value: unknown, ctx: ParseContext): T
}

function simple<T>(expected: string, parse: (value: unknown, ctx: ParseContext) => T): ValueType<T> {
  return {
    expected,
    fromToml: parse,
    fromEnv: parse,
    fromOverride: parse
  }
}

export interface StringOptions {
  expected?: string
  allowEmpty?: boolean
  /** Returns false for a bad value */
  check?: (text: string) => boolean
}

export function stringValue(opts: StringOptions = {}): ValueType<string> {
  const expected = opts.expected ?? (opts.allowEmpty === true ? 'a string' : 'a non-empty string')
  return simple(expected, (value) => {
    if (typeof value !== 'string') {
      throw new InvalidValueError(expected, value)
    }
    if (value === '' && opts.allowEmpty === true) {
      return value
    }
    if (value === '' || (opts.check !== undefined && !opts.check(value))) {
      throw new InvalidValueError(expected, value)
    }
    return value
  })
}

/** Expands a leading `~` and resolves relative paths against ctx.baseDir */
export function expandPath(text: string, ctx: ParseContext): string {
  let path = text
  if (path === '~') {
    path = ctx.home
  } else if (path.startsWith('~/')) {
    path = join(ctx.home, path.slice(2))
  }
  return isAbsolute(path) ? path : resolve(ctx.baseDir, path)
}

export function pathValue(opts: { allowEmpty?: boolean } = {}): ValueType<string> {
  const allowEmpty = opts.allowEmpty === true
  const expected = allowEmpty ? 'a file path or "" for none' : 'a path'
  return simple(expected, (value, ctx) => {
    if (typeof value !== 'string' || (value === '' && !allowEmpty) || value.includes('\0')) {
      throw new InvalidValueError(expected, value)
    }
    return value === '' ? '' : expandPath(value, ctx)
  })
}

export function intValue(min: number, max = Number.MAX_SAFE_INTEGER): ValueType<number> {
  const expected =
    max === Number.MAX_SAFE_INTEGER ? `an integer of at least ${min}` : `an integer from ${min} to ${max}`
  const check = (value: unknown): number => {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
      throw new InvalidValueError(expected, value)
    }
    return value
  }
  return {
    expected,
    fromToml: check,
    fromOverride: check,
    fromEnv: (text) => {
      if (!/^[+-]?\d+$/.test(text.trim())) {
        throw new InvalidValueError(expected, text)
      }
      return check(Number(text.trim()))
    }
  }
}

const TRUE_WORDS = new Set(['true', '1', 'yes', 'on'])
const FALSE_WORDS = new Set(['false', '0', 'no', 'off'])

export function boolValue(): ValueType<boolean> {
  const expected = 'true or false'
  const check = (value: unknown): boolean => {
    if (typeof value !== 'boolean') {
      throw new InvalidValueError(expected, value)
    }
    return value
  }
  return {
    expected,
    fromToml: check,
    fromOverride: check,
    fromEnv: (text) => {
      const word = text.trim().toLowerCase()
      if (TRUE_WORDS.has(word)) return true
      if (FALSE_WORDS.has(word)) return false
      throw new InvalidValueError(`${expected} (or 1/0, yes/no, on/off)`, text)
    }
  }
}

/** Durations are written as text ("5s") and resolved to milliseconds */
export function durationValue(minMs = 1): ValueType<number> {
  const expected = minMs > 1 ? `${DURATION_EXPECTED}, at least ${formatDuration(minMs)}` : DURATION_EXPECTED
  const fromText = (value: unknown): number => {
    if (typeof value !== 'string') {
      throw new InvalidValueError(expected, value)
    }
    let ms: number
    try {
      ms = parseDuration(value)
    } catch {
      throw new InvalidValueError(expected, value)
    }
    if (ms < minMs) {
      throw new InvalidValueError(expected, value)
    }
    return ms
  }
  return {
    expected,
    fromToml: fromText,
    fromEnv: fromText,
    fromOverride: (value) => {
      if (typeof value === 'string') {
        return fromText(value)
      }
      if (
        typeof value !== 'number' ||
        !Number.isSafeInteger(value) ||
        value < minMs ||
        value > MAX_DURATION_MS
      ) {
        throw new InvalidValueError(`${expected} or a number of milliseconds`, value)
      }
      return value
    }
  }
}

export function oneOfValue<const T extends string>(choices: readonly T[]): ValueType<T> {
  const expected = `one of ${choices.map((c) => `"${c}"`).join(', ')}`
  return simple(expected, (value) => {
    if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
      throw new InvalidValueError(expected, value)
    }
    return value as T
  })
}

/** How each element of a list is checked; `check` returns false for a bad element */
export interface ListItem {
  /** Plural description for messages, e.g. `multiaddrs like "/ip4/0.0.0.0/tcp/4001"` */
  expected: string
  check: (text: string) => boolean
}

/**
 * A list of strings: a TOML array, a string array override, or an environment variable that holds either a JSON
 * array of strings (`["/opt/p", "--flag=a,b"]`: any element, commas and spaces included, as for an argv) or,
 * when it does not start with `[`, comma-separated items (blanks dropped).
 */
export function listValue(item: ListItem, opts: { minItems?: number } = {}): ValueType<string[]> {
  const minItems = opts.minItems ?? 0
  const expected =
    minItems > 0 ? `a list of at least ${minItems} ${item.expected}` : `a list of ${item.expected}`
  const check = (value: unknown): string[] => {
    if (!Array.isArray(value) || value.length < minItems) {
      throw new InvalidValueError(expected, value)
    }
    for (const element of value) {
      if (typeof element !== 'string' || !item.check(element)) {
        throw new InvalidValueError(expected, element)
      }
    }
    return [...(value as string[])]
  }
  return {
    expected,
    fromToml: check,
    fromOverride: check,
    fromEnv: (text) => check(text.trimStart().startsWith('[') ? jsonList(text, expected) : commaList(text))
  }
}

function commaList(text: string): string[] {
  return text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
}

function jsonList(text: string, expected: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch {
    throw new InvalidValueError(`${expected} (as a JSON array, e.g. ["a", "b"])`, text)
  }
}

function isMultiaddr(text: string): boolean {
  try {
    multiaddr(text)
    return true
  } catch {
    return false
  }
}

/** A multiaddr whose last component is /p2p/<valid peer id> */
function isDialableWithPeerId(text: string): boolean {
  try {
    const last = multiaddr(text).getComponents().at(-1)
    if (last?.name !== 'p2p' || last.value === undefined) {
      return false
    }
    peerIdFromString(last.value)
    return true
  } catch {
    return false
  }
}

export const multiaddrItem: ListItem = {
  expected: 'multiaddrs like "/ip4/0.0.0.0/tcp/4001"',
  check: isMultiaddr
}

export const peerMultiaddrItem: ListItem = {
  expected: 'multiaddrs ending in /p2p/<peer id>, like "/dns4/boot.example.org/tcp/4001/p2p/12D3KooW..."',
  check: isDialableWithPeerId
}

/** Tags travel in capacity adverts and through comma-separated variables: short, no commas or spaces */
export const tagItem: ListItem = {
  expected: 'tags (1-64 characters, no spaces or commas)',
  check: (text) => /^[^\s,]{1,64}$/u.test(text)
}

export const argItem: ListItem = {
  expected: 'non-empty argument strings, the program first',
  check: (text) => text !== '' && !text.includes('\0')
}
