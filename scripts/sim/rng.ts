/** A seeded generator (mulberry32): the same seed gives the same network, churn and jobs */
export class Rng {
  private state: number

  constructor(seed: number) {
    this.state = seed >>> 0
  }

  /** Uniform in [0, 1) */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0
    let t = this.state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }

  /** Uniform integer in [0, n) */
  int(n: number): number {
    return Math.floor(this.next() * n)
  }

  /** Exponentially distributed with this mean */
  exponential(mean: number): number {
    return -Math.log(1 - this.next()) * mean
  }
}
