/**
 * Gossipsub's score for the capacity topic. Without topic parameters gossipsub scores nothing: 1,000 adverts
 * rejected from one peer left it connected, not graylisted, its next advert accepted.
 *
 * What counts here is P4, invalid messages (a Reject from our validator, or a bad signature): -20 × count², so a
 * peer that sent 1 invalid advert stops getting gossip from us (-20 below the gossip threshold of -10, less the
 * at most +10 its good deliveries earn), 2 are no longer published to, and 3 are graylisted (-180 against -80:
 * gossipsub drops every RPC it sends); the count halves every 5 minutes, so a peer that sent one bad advert by a
 * bug is whole again soon, while one that sent 1,000 stays graylisted for most of an hour. An honest relay never
 * forwards an invalid advert: it runs this same validator first.
 *
 * P3 (too few deliveries from a mesh peer) is off: a peer publishes one advert per interval, so in a small
 * network a mesh peer delivers few first copies by design, and P3 would graylist honest peers. P1 and P2 (time in
 * the mesh, first deliveries) give honest peers a little credit, capped at +10 by the topic score cap.
 */
import { defaultTopicScoreParams, type TopicScoreParams } from '@libp2p/gossipsub/score'
import { capacityTopic } from './constants.js'

/**
 * Gossipsub's heartbeat (libp2p's default is 1 s). Each one announces the messages of the last 3 heartbeats (IHAVE)
 * to 6 peers outside the mesh and maintains the mesh; an idle daemon among 14 peers decrypted ~42 Noise packets a
 * second, a good part of them these announcements and the yamux window updates they cause. Every 3 s it sends a
 * third as many; each advert is still announced 3 times to 6 peers (over 9 s instead of 3, within its 15 s of
 * validity), mesh repairs wait up to 3 s, and gossipsub caches a peer's score for one heartbeat. Not 5 s: the
 * heartbeat (5.7% of an idle daemon's busy time among 30, a CPU profile) would shrink by 40%, but a peer flooding
 * invalid adverts is graylisted and banned one heartbeat after it crosses the threshold, so it gets 5 s of adverts
 * read instead of 3 (test/chaos/hostile-net: all 200 of a 4 s flood were read).
 */
export const GOSSIP_HEARTBEAT_MS = 3_000

/** Halves the invalid-message count every this many seconds (gossipsub decays once per second) */
const INVALID_HALF_LIFE_S = 300

export const capacityTopicScoreParams: TopicScoreParams = {
  ...defaultTopicScoreParams,
  topicWeight: 1,
  // one point per hour in the mesh, at most 3
  timeInMeshWeight: 3 / 3600,
  timeInMeshQuantum: 1_000,
  timeInMeshCap: 3600,
  firstMessageDeliveriesWeight: 1,
  firstMessageDeliveriesDecay: 0.99,
  firstMessageDeliveriesCap: 10,
  meshMessageDeliveriesWeight: 0,
  meshFailurePenaltyWeight: 0,
  invalidMessageDeliveriesWeight: -20,
  invalidMessageDeliveriesDecay: 0.5 ** (1 / INVALID_HALF_LIFE_S)
}

/** The score parameters of every topic a proofmesh host takes part in */
export function topicScoreParams(): Record<string, TopicScoreParams> {
  return { [capacityTopic()]: capacityTopicScoreParams }
}

/**
 * A peer graylisted on the capacity topic is banned for this long (connections closed, no new ones either way):
 * graylisting only stops reading its gossip, while the connection, its streams and the DHT stay open to it
 */
export const GRAYLIST_BAN_MS = 10 * 60_000
