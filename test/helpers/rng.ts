/**
 * mulberry32: small, fast and seeded, so that a run replays from its seed. The fuzz suite gives every case its own;
 * the capacity simulator (scripts/sim) one per run.
 */
export class Rng {
  private state: number

  constructor(seed: number) {
    this.state = seed >>> 0
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0
    let t = this.state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }

  int(max: number): number {
    return Math.floor(this.next() * max)
  }

  /** min..max, both included */
  range(min: number, max: number): number {
    return min + this.int(max - min + 1)
  }

  bool(p = 0.5): boolean {
    return this.next() < p
  }

  pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)]
    if (item === undefined) throw new Error('pick from an empty list')
    return item
  }

  u32(): number {
    return Math.floor(this.next() * 2 ** 32)
  }

  u64(): bigint {
    return (BigInt(this.u32()) << 32n) | BigInt(this.u32())
  }

  bytes(length: number): Uint8Array<ArrayBuffer> {
    const out = new Uint8Array(length)
    for (let i = 0; i < length; i++) out[i] = this.int(256)
    return out
  }

  /** Usually small, now and then up to max */
  size(max: number): number {
    return this.bool(0.8) ? this.int(Math.min(max, 64) + 1) : this.int(max + 1)
  }
}
