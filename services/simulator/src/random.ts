/**
 * A small seeded PRNG for the simulator.
 *
 * Why not Math.random: a simulation run must be reproducible from one number, so every draw
 * comes from sfc32 (fast, 128-bit state, passes PractRand) whose state is filled by splitmix32
 * from the seed. Independent sub-streams (world, transactions, fraud, cosmetic attributes) are
 * derived from the same seed with a stream number, so changing how one part draws (say, the
 * list of merchant categories) does not shift every other draw in the run.
 */

const TWO_POW_32 = 4294967296;

/** splitmix32: turns one 32-bit seed into a well-mixed sequence, used only to seed sfc32. */
function splitmix32(seed: number): () => number {
  let state = seed | 0;
  return () => {
    state = (state + 0x9e3779b9) | 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
    z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
    return (z ^ (z >>> 15)) >>> 0;
  };
}

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  /** Box-Muller makes two normals per draw; the second is kept for the next call. */
  private spare: number | undefined;

  /**
   * @param seed any safe integer (its high bits count too)
   * @param stream sub-stream number: the same seed with different streams gives unrelated sequences
   */
  constructor(seed: number, stream = 0) {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${seed}`);
    const lo = seed >>> 0;
    const hi = Math.floor(seed / TWO_POW_32) >>> 0;
    const mixed = lo ^ Math.imul(hi, 0x85ebca6b) ^ Math.imul((stream + 1) | 0, 0xc2b2ae35);
    const sm = splitmix32(mixed);
    this.a = sm();
    this.b = sm();
    this.c = sm();
    this.d = sm();
    // sfc32's authors recommend discarding the first outputs so weak seeds mix fully.
    for (let i = 0; i < 15; i++) this.nextUint32();
  }

  /** Next raw 32-bit unsigned integer (sfc32). */
  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1) with 32 bits of resolution (plenty for simulation). */
  float(): number {
    return this.nextUint32() / TWO_POW_32;
  }

  /** Uniform in [min, max). */
  uniform(min: number, max: number): number {
    return min + (max - min) * this.float();
  }

  /** Uniform integer in [0, n). The modulo bias of float*n is < n / 2^32: negligible here. */
  int(n: number): number {
    if (!(n > 0)) throw new RangeError(`int(n) needs n > 0, got ${n}`);
    return Math.floor(this.float() * n);
  }

  /** Uniform integer in [min, max], both inclusive. */
  intBetween(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  /** True with probability p. */
  bernoulli(p: number): boolean {
    return this.float() < p;
  }

  /** Normal(mean, sd) by Box-Muller. */
  normal(mean = 0, sd = 1): number {
    let z: number;
    if (this.spare !== undefined) {
      z = this.spare;
      this.spare = undefined;
    } else {
      // 1 - float() is in (0, 1], so log() never sees 0.
      const u1 = 1 - this.float();
      const u2 = this.float();
      const r = Math.sqrt(-2 * Math.log(u1));
      z = r * Math.cos(2 * Math.PI * u2);
      this.spare = r * Math.sin(2 * Math.PI * u2);
    }
    return mean + sd * z;
  }

  /**
   * Poisson(lambda). Knuth's product method is exact and fast for the small means used here
   * (customers average 0-4 transactions a day); larger means are split into chunks of 30,
   * since a sum of independent Poissons is Poisson, which keeps exp(-lambda) from underflowing.
   */
  poisson(lambda: number): number {
    if (!(lambda >= 0)) throw new RangeError(`poisson(lambda) needs lambda >= 0, got ${lambda}`);
    let total = 0;
    let rest = lambda;
    while (rest > 30) {
      total += this.knuth(30);
      rest -= 30;
    }
    return total + this.knuth(rest);
  }

  private knuth(lambda: number): number {
    if (lambda === 0) return 0;
    const limit = Math.exp(-lambda);
    let k = 0;
    let p = this.float();
    while (p > limit) {
      k++;
      p *= this.float();
    }
    return k;
  }

  /** One element drawn uniformly. */
  choice<T>(items: ArrayLike<T>): T {
    if (items.length === 0) throw new RangeError('choice() from an empty list');
    return items[this.int(items.length)] as T;
  }

  /** One element drawn with probability proportional to its weight. */
  weighted<T>(items: readonly T[], weightOf: (item: T) => number): T {
    let total = 0;
    for (const item of items) total += weightOf(item);
    let u = this.float() * total;
    for (const item of items) {
      u -= weightOf(item);
      if (u < 0) return item;
    }
    return items[items.length - 1] as T;
  }

  /** k distinct indices in [0, n), in draw order (sampling without replacement). */
  sampleIndices(n: number, k: number): number[] {
    if (k > n) throw new RangeError(`cannot sample ${k} of ${n} without replacement`);
    if (k * 4 <= n) {
      // Few out of many (2 terminals of 10,000): rejection is cheaper than copying n indices.
      const seen = new Set<number>();
      const out: number[] = [];
      while (out.length < k) {
        const i = this.int(n);
        if (!seen.has(i)) {
          seen.add(i);
          out.push(i);
        }
      }
      return out;
    }
    // Partial Fisher-Yates: the first k slots of a shuffled 0..n-1.
    const pool = Array.from({ length: n }, (_, i) => i);
    for (let i = 0; i < k; i++) {
      const j = i + this.int(n - i);
      const tmp = pool[i] as number;
      pool[i] = pool[j] as number;
      pool[j] = tmp;
    }
    return pool.slice(0, k);
  }

  /** k distinct elements (sampling without replacement). */
  sample<T>(items: readonly T[], k: number): T[] {
    return this.sampleIndices(items.length, k).map((i) => items[i] as T);
  }
}

/** Named sub-streams of one run, so each part of the simulation draws independently. */
export const STREAMS = {
  world: 1,
  worldAttributes: 2,
  transactions: 3,
  transactionAttributes: 4,
  fraud: 5,
  /** Drift: card-testing attacks (drift.ts), apart so turning them on moves no other draw. */
  cardTesting: 6,
} as const;
