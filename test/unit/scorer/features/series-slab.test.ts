import { describe, expect, it } from 'vitest';
import { classCapacity, classFor, MAX_SPAN_MS, SeriesSlab } from '../../../../services/scorer/src/features/series-slab.js';

/** Reads a series back as [time, word1] pairs, oldest first. */
function entries(slab: SeriesSlab, id: number): [number, number][] {
  const words = slab.wordsOf(id);
  const first = slab.firstOffset(id);
  const out: [number, number][] = [];
  for (let k = 0; k < slab.lengthOf(id); k++) {
    out.push([slab.baseOf(id) + words[first + k * slab.width], words[first + k * slab.width + 1]]);
  }
  return out;
}

describe('size classes', () => {
  it('step by at most 25% and classFor picks the smallest that fits', () => {
    expect([0, 1, 2, 3, 4, 5, 8, 12].map(classCapacity)).toEqual([4, 5, 6, 7, 8, 10, 16, 32]);
    for (let c = 1; c < 60; c++) expect(classCapacity(c) / classCapacity(c - 1)).toBeLessThanOrEqual(1.25);
    expect(classCapacity(classFor(61))).toBe(64);
    expect(classCapacity(classFor(65))).toBe(80);
  });
});

describe('SeriesSlab', () => {
  it('keeps entries sorted whatever the insertion order, growing as needed', () => {
    const slab = new SeriesSlab(2);
    const id = slab.create();
    const times = [50, 10, 40, 10, 30, 20, 60, 0, 45, 5, 55, 25];
    times.forEach((t, i) => expect(slab.insert(id, 1000 + t, i)).toBe(true));
    const got = entries(slab, id);
    expect(got.map(([t]) => t)).toEqual([...times].sort((a, b) => a - b).map((t) => 1000 + t));
    // Ties keep insertion order: the first 10 was inserted as entry 1, the second as 3.
    expect(got.filter(([t]) => t === 1010).map(([, w]) => w)).toEqual([1, 3]);
  });

  it('evicts from the oldest end and shrinks a block that became mostly empty', () => {
    const slab = new SeriesSlab(2);
    const id = slab.create();
    for (let i = 0; i < 200; i++) slab.insert(id, i, i);
    const big = slab.bytesUsed();
    expect(slab.evictThrough(id, 189)).toBe(190);
    expect(entries(slab, id)).toEqual(Array.from({ length: 10 }, (_, k) => [190 + k, 190 + k]));
    slab.insert(id, 500, 7);
    expect(entries(slab, id).at(-1)).toEqual([500, 7]);
    expect(slab.bytesUsed()).toBeLessThanOrEqual(big);
  });

  it('rebases so a long-lived series never overflows its uint32 offsets', () => {
    const slab = new SeriesSlab(2);
    const id = slab.create();
    const step = 6 * 3_600_000;
    const t0 = Date.UTC(2018, 3, 1);
    for (let i = 0; i < 1000; i++) {
      const t = t0 + i * step; // 250 days in all, 5x the offset span
      slab.evictThrough(id, t - 30 * 86_400_000);
      expect(slab.insert(id, t, i)).toBe(true);
    }
    const got = entries(slab, id);
    expect(got.length).toBe(120);
    expect(got[0]).toEqual([t0 + 880 * step, 880]);
    expect(got.at(-1)).toEqual([t0 + 999 * step, 999]);
    // An older entry moves the base down; one that cannot fit the span is refused.
    expect(slab.insert(id, got[0]![0] - 1, 1)).toBe(true);
    expect(entries(slab, id)[0]).toEqual([t0 + 880 * step - 1, 1]);
    expect(slab.insert(id, t0 + 999 * step - MAX_SPAN_MS - 1, 2)).toBe(false);
  });

  it('removes a range of entries from the front, the middle or the end', () => {
    const slab = new SeriesSlab(2);
    const id = slab.create();
    for (let i = 0; i < 100; i++) slab.insert(id, 1000 + 10 * i, i);
    expect(slab.lowerBound(id, 0)).toBe(0);
    expect(slab.lowerBound(id, 1015)).toBe(2);
    expect(slab.lowerBound(id, 1020)).toBe(2);
    expect(slab.lowerBound(id, 1e15)).toBe(100);
    slab.removeRange(id, 95, 100);
    slab.removeRange(id, 10, 90);
    slab.removeRange(id, 0, 5);
    slab.removeRange(id, 3, 3);
    expect(entries(slab, id).map(([, w]) => w)).toEqual([5, 6, 7, 8, 9, 90, 91, 92, 93, 94]);
    expect(() => slab.removeRange(id, 4, 11)).toThrow(RangeError);
    slab.insert(id, 1001, 77);
    expect(entries(slab, id)[0]).toEqual([1001, 77]);
  });

  it('recycles released series and blocks', () => {
    const slab = new SeriesSlab(3);
    const a = slab.create();
    for (let i = 0; i < 50; i++) slab.insert(a, i, 1, 2);
    slab.release(a);
    const b = slab.create();
    expect(b).toBe(a);
    expect(slab.lengthOf(b)).toBe(0);
    expect(slab.size).toBe(1);
    slab.insert(b, 7, 8, 9);
    const words = slab.wordsOf(b);
    const at = slab.firstOffset(b);
    expect([words[at], words[at + 1], words[at + 2]]).toEqual([0, 8, 9]);
  });

  it('stays equal to a plain model under random inserts, evictions, releases and restores', () => {
    let seed = 7;
    const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const slab = new SeriesSlab(2);
    const model = new Map<number, [number, number][]>();
    for (let step = 0; step < 8_000; step++) {
      const roll = random();
      const ids = [...model.keys()];
      const id = ids[Math.floor(random() * ids.length)];
      if (id === undefined || roll < 0.02) {
        model.set(slab.create(), []);
      } else if (roll < 0.03) {
        slab.release(id);
        model.delete(id);
      } else if (roll < 0.1) {
        const horizon = Math.floor(random() * 1000);
        slab.evictThrough(id, horizon);
        model.set(id, model.get(id)!.filter(([t]) => t > horizon));
      } else if (roll < 0.14) {
        // Remove the entries of a time range [lo, hi), found by lowerBound.
        const lo = Math.floor(random() * 1000);
        const hi = lo + Math.floor(random() * 200);
        const rows = model.get(id)!;
        expect(slab.lowerBound(id, lo)).toBe(rows.filter(([t]) => t < lo).length);
        slab.removeRange(id, slab.lowerBound(id, lo), slab.lowerBound(id, hi));
        model.set(id, rows.filter(([t]) => t < lo || t >= hi));
      } else if (roll < 0.15) {
        // Restore-like reload with the model's content.
        const rows = model.get(id)!;
        const first = slab.load(id, 0, rows.length);
        const words = slab.wordsOf(id);
        rows.forEach(([t, w], k) => {
          words[first + 2 * k] = t;
          words[first + 2 * k + 1] = w;
        });
      } else {
        const t = Math.floor(random() * 1000);
        slab.insert(id, t, step);
        const rows = model.get(id)!;
        let p = rows.length;
        while (p > 0 && rows[p - 1]![0] > t) p--;
        rows.splice(p, 0, [t, step]);
      }
      if (step % 400 === 0 || step > 7_980) for (const [k, rows] of model) expect(entries(slab, k)).toEqual(rows);
    }
    expect(slab.size).toBe(model.size);
  });
});
