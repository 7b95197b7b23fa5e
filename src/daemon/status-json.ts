import { decodeAdvert } from '../capacity/advert.js'
import { advertToJson, type CapacityJson } from '../capacity/advert-json.js'
import type { PeerStatus } from '../rpc/status/status.js'

/** The JSON form of a PeerStatus, the same for the local API and a remote peer's answer */
export interface StatusJson {
  version: string
  peerId: string
  uptimeMs: number
  addrs: string[]
  capacity: CapacityJson | null
  activeJobs: number
  connectedPeers: number
  knownPeers: number
  topicPeers: number
}

export function statusToJson(status: PeerStatus): StatusJson {
  return {
    version: status.version,
    peerId: status.peerId,
    uptimeMs: Number(status.uptimeMs),
    addrs: status.addrs,
    capacity: status.capacity.byteLength === 0 ? null : advertToJson(decodeAdvert(status.capacity)),
    activeJobs: status.activeJobs,
    connectedPeers: status.connectedPeers,
    knownPeers: status.knownPeers,
    topicPeers: status.topicPeers
  }
}
