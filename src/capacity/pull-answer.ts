import { PullResponse, type SignedAdvert } from '../../protocols/capacity/pb/pull.js'
import { MAX_PULL_ADVERTS, MAX_PULL_RESPONSE_BYTES } from '../../protocols/capacity/pull-constants.js'
import type { PeerEntry } from './peer-table.js'

export interface PullWanted {
  /** '' = any program (a fresh node warming its table up) */
  program: string
  units: number
  /** Peers not to return: the asker's own, and those it lists already */
  exclude: ReadonlySet<string>
}

export interface PullAnswerCaps {
  maxAdverts: number
  maxBytes: number
}

const defaultCaps: PullAnswerCaps = { maxAdverts: MAX_PULL_ADVERTS, maxBytes: MAX_PULL_RESPONSE_BYTES }

/** An advert's share of the encoded answer beyond its own fields: the repeated field's tag and length */
const ENTRY_OVERHEAD_BYTES = 4

/**
 * What this peer answers a pull with: the fresh entries it holds with their signed envelope that run the program
 * (any, when none is named) and have free units, most free first (`entries` come sorted so: PeerTable.list), until their units cover what the
 * asker wants, or the advert or byte cap is reached. Only gossip's own envelopes are handed on: the asker verifies
 * each origin's signature, so this peer can leave adverts out but never make one up.
 */
export function answerPull(
  entries: readonly PeerEntry[],
  wanted: PullWanted,
  caps: PullAnswerCaps = defaultCaps
): SignedAdvert[] {
  const answer: SignedAdvert[] = []
  let units = 0
  let bytes = 0
  for (const entry of entries) {
    if (answer.length >= caps.maxAdverts || units >= wanted.units) break
    const { signed, advert } = entry
    if (signed === undefined || advert.unitsFree <= 0 || wanted.exclude.has(entry.peerId)) continue
    if (wanted.program !== '' && !advert.programs.includes(wanted.program)) continue
    const size = PullResponse.encode({ adverts: [signed] }).byteLength + ENTRY_OVERHEAD_BYTES
    if (bytes + size > caps.maxBytes) continue
    answer.push(signed)
    units += advert.unitsFree
    bytes += size
  }
  return answer
}
