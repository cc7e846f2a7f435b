import { describe, expect, it } from 'vitest';
import { CardStore, DEFAULT_CARD_MARGIN_MS } from '../../../../services/scorer/src/features/card-state.js';

const DAY = 86_400_000;
const T = Date.UTC(2018, 5, 15, 12); // any instant

function windows(store: CardStore, card: string, t: number): number[] {
  const out = new Float64Array(6);
  store.windows(card, t, out, 0);
  return Array.from(out);
}

describe('CardStore windows', () => {
  it('cover (t - n days, t]: the lower bound is excluded, t itself included', () => {
    const s = new CardStore();
    s.observe('c', T - 30 * DAY, 100_000); // excluded everywhere
    s.observe('c', T - 30 * DAY + 1, 3000); // 30d only
    s.observe('c', T - 7 * DAY, 2000); // 30d only
    s.observe('c', T - 7 * DAY + 1, 1000); // 7d and 30d
    s.observe('c', T - DAY, 700); // 7d and 30d
    s.observe('c', T - DAY + 1, 500); // all
    s.observe('c', T, 101); // all (the current transaction)
    expect(windows(s, 'c', T)).toEqual([
      2, (500 + 101) / 200,
      4, (1000 + 700 + 500 + 101) / 400,
      6, (3000 + 2000 + 1000 + 700 + 500 + 101) / 600,
    ]);
  });

  it('ignores entries later than the query time and answers zeros for unknown cards', () => {
    const s = new CardStore();
    s.observe('c', T, 1000);
    s.observe('c', T + 1, 5000);
    expect(windows(s, 'c', T)).toEqual([1, 10, 1, 10, 1, 10]);
    expect(windows(s, 'c', T - 1)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(windows(s, 'other', T)).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('keeps signed amounts and rejects values it cannot store exactly', () => {
    const s = new CardStore();
    s.observe('c', T, -2500);
    s.observe('c', T, 2 ** 31 - 1);
    expect(windows(s, 'c', T)[1]).toBe((2 ** 31 - 1 - 2500) / 200);
    expect(() => s.observe('c', T, 2 ** 31)).toThrow(RangeError);
    expect(() => s.observe('c', T, 1.5)).toThrow(RangeError);
    expect(() => s.observe('c', T + 0.5, 1)).toThrow(RangeError);
    expect(() => s.observe('d', Number.NaN, 1)).toThrow(RangeError);
    expect(s.has('d')).toBe(false);
  });

  it('gives in-order answers to events that arrive out of order within the margin', () => {
    const times = Array.from({ length: 40 }, (_, i) => T + i * 3_600_000 * 7);
    const shuffled = [...times].reverse();
    const inOrder = new CardStore();
    const outOfOrder = new CardStore();
    times.forEach((t, i) => inOrder.observe('c', t, 100 + i));
    shuffled.forEach((t) => outOfOrder.observe('c', t, 100 + times.indexOf(t)));
    for (const t of times) expect(windows(outOfOrder, 'c', t)).toEqual(windows(inOrder, 'c', t));
  });

  it('drops an event older than 30 days + margin behind the card, and counts it', () => {
    const s = new CardStore({ marginMs: 0 });
    s.observe('c', T, 100);
    expect(s.observe('c', T - 30 * DAY, 100)).toBe(false);
    expect(s.observe('c', T - 30 * DAY + 1, 100)).toBe(true);
    expect(s.lateDropped).toBe(1);
    expect(DEFAULT_CARD_MARGIN_MS).toBe(DAY);
    expect(() => new CardStore({ marginMs: 20 * DAY })).toThrow(RangeError);
  });

  it('evicts without changing any answer (200 days, 4 tx/day, checked after every event)', () => {
    const s = new CardStore({ marginMs: 0 });
    const log: [number, number][] = [];
    for (let i = 0; i < 800; i++) {
      const t = T + i * 6 * 3_600_000 + (i % 7) * 1000;
      const amount = (i * 7919) % 50_000;
      s.observe('c', t, amount);
      log.push([t, amount]);
      const expected: number[] = [];
      for (const n of [1, 7, 30]) {
        const inWindow = log.filter(([x]) => x > t - n * DAY && x <= t);
        const sum = inWindow.reduce((acc, [, a]) => acc + a, 0);
        expected.push(inWindow.length, sum / (100 * inWindow.length));
      }
      expect(windows(s, 'c', t)).toEqual(expected);
    }
    expect(s.bytesUsed()).toBeLessThan(20_000);
  });
});

describe('CardStore state lifecycle', () => {
  function filled(): CardStore {
    const s = new CardStore();
    for (let i = 0; i < 70; i++) s.observe('c', T + i * 10 * 3_600_000, 1000 + i * 37 - (i % 3 === 0 ? 5000 : 0));
    s.observe('other', T, 1);
    return s;
  }

  it('serialize/restore round-trips to identical features (also from a pooled Buffer slice)', () => {
    const s = filled();
    const bytes = s.serializeWhole('c')!;
    expect(bytes.byteLength).toBe(16 + 8 * 70);
    const backing = new Uint8Array(11 + bytes.byteLength);
    backing.set(bytes, 11);
    const pooled = Buffer.from(backing.buffer, 11, bytes.byteLength); // unaligned, offset 11
    const r = new CardStore();
    r.restore('c', pooled);
    const last = T + 69 * 10 * 3_600_000;
    for (const t of [last, last - 5 * DAY, last + 2 * DAY, T]) expect(windows(r, 'c', t)).toEqual(windows(s, 'c', t));
    expect(Array.from(r.serializeWhole('c')!)).toEqual(Array.from(bytes));
    // Continuing after a restore behaves like continuing the original.
    s.observe('c', last + 1000, 42);
    r.observe('c', last + 1000, 42);
    expect(windows(r, 'c', last + 1000)).toEqual(windows(s, 'c', last + 1000));
  });

  it('restore replaces existing state and rejects malformed values untouched', () => {
    const s = filled();
    const one = new CardStore();
    one.observe('x', T, 500);
    s.restore('c', one.serializeWhole('x')!);
    expect(windows(s, 'c', T)).toEqual([1, 5, 1, 5, 1, 5]);
    const good = s.serializeWhole('c')!;
    expect(() => s.restore('c', good.subarray(0, 20))).toThrow(RangeError);
    const badVersion = Uint8Array.from(good);
    badVersion[0] = 9;
    expect(() => s.restore('c', badVersion)).toThrow(RangeError);
    expect(windows(s, 'c', T)).toEqual([1, 5, 1, 5, 1, 5]);
    expect(s.serializeWhole('nobody')).toBeUndefined();
  });

  it('deletes cards, and evicts idle ones with a callback for tombstones', () => {
    const s = filled();
    expect(s.size).toBe(2);
    const gone: string[] = [];
    // 'other' last paid at T: idle once the watermark is past T + 30 days + margin.
    expect(s.evictIdle(T + 30 * DAY + DEFAULT_CARD_MARGIN_MS - 1, (c) => gone.push(c))).toBe(0);
    expect(s.evictIdle(T + 30 * DAY + DEFAULT_CARD_MARGIN_MS, (c) => gone.push(c))).toBe(1);
    expect(gone).toEqual(['other']);
    expect(s.delete('c')).toBe(true);
    expect(s.delete('c')).toBe(false);
    expect(s.size).toBe(0);
    expect(windows(s, 'c', T)).toEqual([0, 0, 0, 0, 0, 0]);
  });
});
