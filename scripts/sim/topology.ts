import type { Rng } from '../../test/helpers/rng.js'

export interface TopologyInit {
  /** Connections each peer keeps (the discovery dialer's minimum) */
  degree: number
  /** Gossipsub mesh peers among them (gossipsub's D) */
  meshDegree: number
  /** Peers outside the mesh that gossip announces each message to (gossipsub's Dlazy) */
  lazyDegree: number
  rng: Rng
}

/**
 * Who is connected to whom, and each peer's gossip mesh. A joining peer dials `degree / 2` live peers at random
 * (the others dial it in turn, so degrees average `degree`); a peer that loses connections to departures dials
 * new ones until it has `degree / 2` again, as the discovery dialer does below its minimum. A peer whose
 * connections changed keeps the mesh peers it still has and draws only the missing ones, as gossipsub's heartbeat
 * grafts up to D (redrawing the whole mesh on every change made reach, and so staleness, churn far more than
 * gossipsub does); the peers it announces to are drawn afresh, as gossipsub draws them each heartbeat.
 */
export class Topology {
  private readonly links = new Map<number, Set<number>>()
  private readonly meshes = new Map<number, { mesh: number[]; lazy: number[] }>()
  /** Peers whose connections changed since their mesh was drawn */
  private readonly changed = new Set<number>()
  private readonly live: number[] = []
  private readonly position = new Map<number, number>()
  private readonly init: TopologyInit

  constructor(init: TopologyInit) {
    this.init = init
  }

  get size(): number {
    return this.live.length
  }

  has(peer: number): boolean {
    return this.position.has(peer)
  }

  neighbours(peer: number): ReadonlySet<number> {
    return this.links.get(peer) ?? new Set()
  }

  /** The peers `peer` forwards to (its mesh), chosen among its connections */
  mesh(peer: number): readonly number[] {
    return this.meshOf(peer).mesh
  }

  /** The peers outside its mesh that `peer` announces what it forwards to (IHAVE) */
  lazy(peer: number): readonly number[] {
    return this.meshOf(peer).lazy
  }

  private meshOf(peer: number): { mesh: number[]; lazy: number[] } {
    let found = this.meshes.get(peer)
    if (found === undefined || this.changed.has(peer)) {
      const neighbours = this.neighbours(peer)
      const kept = (found?.mesh ?? []).filter((other) => neighbours.has(other))
      const rest = [...neighbours].filter((other) => !kept.includes(other))
      for (let i = rest.length - 1; i > 0; i--) {
        const j = this.init.rng.int(i + 1)
        ;[rest[i], rest[j]] = [rest[j] as number, rest[i] as number]
      }
      const { meshDegree, lazyDegree } = this.init
      const grafted = rest.splice(0, Math.max(0, meshDegree - kept.length))
      found = { mesh: [...kept, ...grafted], lazy: rest.slice(0, lazyDegree) }
      this.meshes.set(peer, found)
      this.changed.delete(peer)
    }
    return found
  }

  randomPeer(): number | undefined {
    return this.live.length === 0 ? undefined : this.live[this.init.rng.int(this.live.length)]
  }

  join(peer: number): void {
    this.position.set(peer, this.live.length)
    this.live.push(peer)
    this.links.set(peer, new Set())
    this.dialUpTo(peer)
  }

  leave(peer: number): void {
    const at = this.position.get(peer)
    if (at === undefined) return
    const last = this.live.pop() as number
    if (last !== peer) {
      this.live[at] = last
      this.position.set(last, at)
    }
    this.position.delete(peer)
    const lost = this.links.get(peer) ?? new Set()
    this.links.delete(peer)
    this.meshes.delete(peer)
    this.changed.delete(peer)
    for (const other of lost) {
      this.links.get(other)?.delete(peer)
      this.changed.add(other)
      this.dialUpTo(other)
    }
  }

  private dialUpTo(peer: number): void {
    const own = this.links.get(peer)
    if (own === undefined) return
    const target = Math.min(Math.ceil(this.init.degree / 2), this.live.length - 1)
    for (let tries = 0; own.size < target && tries < 4 * this.init.degree; tries++) {
      const other = this.randomPeer()
      if (other === undefined || other === peer || own.has(other)) continue
      own.add(other)
      this.links.get(other)?.add(peer)
      this.changed.add(other)
    }
    this.changed.add(peer)
  }
}

/**
 * How the adverts of one origin reach one peer: delivered by the origin itself (gossipsub publishes to its mesh:
 * no flood publish, src/net/host.ts), pushed by neighbours that have the peer in their mesh, and announced (IHAVE)
 * by the others, which send it (IWANT) only when no copy came otherwise
 */
export interface Reach {
  direct: boolean
  pushed: number
  announced: number
}

/**
 * Origins whose adverts reach `peer` under the two-hop rule (src/capacity/intake.ts): the neighbours that have it in
 * their mesh deliver their own, and each neighbour forwards the adverts its origins delivered to it (those that have
 * it in their mesh): pushed to its mesh, announced by gossip (IHAVE) to `lazyDegree` of the rest
 */
export function reachOf(topology: Topology, peer: number): Map<number, Reach> {
  const reach = new Map<number, Reach>()
  const entry = (origin: number): Reach => {
    let found = reach.get(origin)
    if (found === undefined) {
      found = { direct: false, pushed: 0, announced: 0 }
      reach.set(origin, found)
    }
    return found
  }
  for (const neighbour of topology.neighbours(peer)) {
    const inMesh = topology.mesh(neighbour).includes(peer)
    if (inMesh) entry(neighbour).direct = true
    if (!inMesh && !topology.lazy(neighbour).includes(peer)) continue
    for (const origin of topology.neighbours(neighbour)) {
      if (origin === peer || !topology.mesh(origin).includes(neighbour)) continue
      if (inMesh) entry(origin).pushed++
      else entry(origin).announced++
    }
  }
  return reach
}
