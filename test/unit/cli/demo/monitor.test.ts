import { describe, expect, it } from 'vitest';
import { percentile } from '../../../../services/cli/src/demo/monitor.js';

describe('percentile (nearest rank)', () => {
  it('is NaN for no values', () => {
    expect(percentile([], 0.5)).toBeNaN();
  });

  it('a single value is every percentile', () => {
    for (const q of [0, 0.01, 0.5, 0.99, 1]) expect(percentile([42], q)).toBe(42);
  });

  it('picks the ceil(q·n)-th smallest value, never interpolating', () => {
    const v = [10, 20, 30, 40];
    expect(percentile(v, 0.25)).toBe(10); // rank 1
    expect(percentile(v, 0.26)).toBe(20); // rank 2
    expect(percentile(v, 0.5)).toBe(20); // rank 2
    expect(percentile(v, 0.51)).toBe(30); // rank 3
    expect(percentile(v, 0.75)).toBe(30); // rank 3
    expect(percentile(v, 0.99)).toBe(40); // rank 4
    expect(percentile(v, 1)).toBe(40);
  });

  it('textbook example: 15, 20, 35, 40, 50', () => {
    const v = [15, 20, 35, 40, 50];
    expect(percentile(v, 0.05)).toBe(15);
    expect(percentile(v, 0.3)).toBe(20);
    expect(percentile(v, 0.4)).toBe(20);
    expect(percentile(v, 0.5)).toBe(35);
    expect(percentile(v, 1)).toBe(50);
  });

  it('q = 0 is the minimum, q = 1 the maximum', () => {
    const v = [5, 3, 9, 1, 7];
    expect(percentile(v, 0)).toBe(1);
    expect(percentile(v, 1)).toBe(9);
  });

  it('sorts numerically, not as strings, and leaves the input alone', () => {
    const v = [100, 9, 25, 3, 1000, 2];
    const copy = [...v];
    expect(percentile(v, 0.5)).toBe(9); // sorted: 2 3 9 25 100 1000, rank 3
    expect(percentile(v, 0.99)).toBe(1000);
    expect(percentile(v, 0.01)).toBe(2);
    expect(v).toEqual(copy);
  });

  it('handles negatives, duplicates and fractions', () => {
    expect(percentile([-5, -1, -3], 0.5)).toBe(-3);
    expect(percentile([7, 7, 7, 1], 0.5)).toBe(7);
    expect(percentile([0.5, 0.25, 0.125], 1)).toBe(0.5);
  });

  it('p50 / p99 of 1..100', () => {
    const v = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(v, 0.5)).toBe(50);
    expect(percentile(v, 0.9)).toBe(90);
    expect(percentile(v, 0.99)).toBe(99);
    expect(percentile(v, 0.999)).toBe(100);
  });

  it('is not thrown off by binary floating point in q·n (0.07 × 100 = 7.000000000000001)', () => {
    const v = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(v, 0.07)).toBe(7);
    expect(percentile(v, 0.14)).toBe(14);
    expect(percentile(v, 0.29)).toBe(29);
    expect(percentile(Array.from({ length: 50 }, (_, i) => i + 1), 0.14)).toBe(7);
    // …while a rank just above an integer still rounds up
    expect(percentile(v, 0.0701)).toBe(8);
  });
});
