import { describe, expect, it } from 'vitest';
import { Rng } from '../../../services/simulator/src/random.js';

const draws = (rng: Rng, n: number): number[] => Array.from({ length: n }, () => rng.nextUint32());

describe('Rng', () => {
  it('is reproducible from its seed and stream', () => {
    expect(draws(new Rng(42), 100)).toEqual(draws(new Rng(42), 100));
    expect(draws(new Rng(42), 100)).not.toEqual(draws(new Rng(43), 100));
    expect(draws(new Rng(42, 1), 100)).not.toEqual(draws(new Rng(42, 2), 100));
    // High bits of a large seed count too.
    expect(draws(new Rng(2 ** 40), 10)).not.toEqual(draws(new Rng(2 ** 41), 10));
  });

  it('draws uniform, normal and Poisson values with the right moments', () => {
    const rng = new Rng(7);
    const n = 50_000;
    const mean = (f: () => number): number => {
      let s = 0;
      for (let i = 0; i < n; i++) s += f();
      return s / n;
    };
    expect(mean(() => rng.float())).toBeCloseTo(0.5, 1);
    expect(mean(() => rng.normal(10, 2))).toBeCloseTo(10, 1);
    expect(mean(() => (rng.normal(0, 2) ** 2))).toBeCloseTo(4, 0);
    expect(mean(() => rng.poisson(2.5))).toBeCloseTo(2.5, 1);
    expect(mean(() => rng.poisson(75))).toBeCloseTo(75, 0);
    expect(rng.poisson(0)).toBe(0);
  });

  it('keeps integers in range and samples without replacement', () => {
    const rng = new Rng(1);
    for (let i = 0; i < 1000; i++) {
      const v = rng.int(7);
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThan(7);
      const w = rng.intBetween(-2, 2);
      expect(w).toBeGreaterThanOrEqual(-2);
      expect(w).toBeLessThanOrEqual(2);
    }
    for (const [n, k] of [[10_000, 3], [10, 8], [5, 5]] as const) {
      const s = rng.sampleIndices(n, k);
      expect(new Set(s).size).toBe(k);
      expect(s.every((i) => i >= 0 && i < n)).toBe(true);
    }
    expect(() => rng.sampleIndices(3, 4)).toThrow(RangeError);
    expect(rng.sample(['a', 'b', 'c'], 3).sort()).toEqual(['a', 'b', 'c']);
  });
});
