import { describe, expect, it } from 'vitest';
import { CardStore, CARD_STATE_FORMAT, DEFAULT_CARD_MARGIN_MS, WHOLE_HISTORY_FORMAT } from '../../../../services/scorer/src/features/index.js';
import { readWhole } from '../../../../services/scorer/src/features/card-record.js';
import { applyRecord, changelogMessages, dayKey, parseKey } from '../../../../services/scorer/src/state/changelog-records.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const D0 = 17_622; // 2018-04-01
const T0 = D0 * DAY;

interface Record {
  key: string;
  value: Buffer | null;
}

/** A changelog partition in memory: commit() appends what the scorer would write. */
class Log {
  readonly records: Record[] = [];
  commit(store: CardStore): Record[] {
    const written = changelogMessages('cl', 0, store, store.takeChanges())?.messages ?? [];
    const out = written.map((m) => ({ key: m.key as string, value: m.value }));
    this.records.push(...out);
    return out;
  }
  /** What log compaction may leave: the last record of each key, in log order (tombstones too, or not). */
  compacted(dropTombstones: boolean): Record[] {
    const last = new Map<string, number>();
    this.records.forEach((r, i) => last.set(r.key, i));
    return this.records.filter((r, i) => last.get(r.key) === i && !(dropTombstones && r.value === null));
  }
  /** Live keys after compaction. */
  liveKeys(): string[] {
    return this.compacted(true).map((r) => r.key).sort();
  }
}

function restored(records: Record[], options = {}): CardStore {
  const store = new CardStore({ trackChanges: true, ...options });
  for (const r of records) applyRecord(store, r.key, r.value);
  return store;
}

/** A card's stored entries as [time, amount], oldest first. */
function entries(store: CardStore, card: string): [number, number][] {
  const bytes = store.serializeWhole(card);
  if (!bytes) return [];
  const e = readWhole(bytes);
  return Array.from({ length: e.count }, (_, k) => [e.time(k), e.amount(k)]);
}

function windows(store: CardStore, card: string, t: number): number[] {
  const out = new Float64Array(6);
  store.windows(card, t, out, 0);
  return Array.from(out);
}

function expectSameCards(actual: CardStore, expected: CardStore, cards: readonly string[]): void {
  for (const c of cards) expect(entries(actual, c), c).toEqual(entries(expected, c));
  expect(actual.size).toBe(expected.size);
}

describe('changelog keys', () => {
  it('append the epoch day after a separator no token can contain', () => {
    expect(dayKey('card-000042', D0)).toBe('card-000042@17622');
    expect(parseKey('card-000042@17622')).toEqual({ token: 'card-000042', day: D0 });
    expect(parseKey('a.b:c-d_9')).toEqual({ token: 'a.b:c-d_9' });
    expect(parseKey('x@-3')).toEqual({ token: 'x', day: -3 });
    for (const bad of ['@1', 'x@', 'x@1.5', 'x@abc']) expect(() => parseKey(bad)).toThrow(RangeError);
  });
});

describe('day records', () => {
  it('round-trip one day of a card (also from an unaligned pooled Buffer slice)', () => {
    const s = new CardStore();
    s.observe('c', T0 - 1, 700); // the day before
    s.observe('c', T0, -2500);
    s.observe('c', T0 + 5 * HOUR, 2 ** 31 - 1);
    s.observe('c', T0 + DAY - 1, 42);
    s.observe('c', T0 + DAY, 1); // the day after
    const bytes = s.dayRecord('c', D0)!;
    expect(bytes.byteLength).toBe(8 + 3 * 8);
    expect(bytes[0]).toBe(CARD_STATE_FORMAT);
    expect(CARD_STATE_FORMAT).toBe(2);
    const backing = new Uint8Array(11 + bytes.byteLength);
    backing.set(bytes, 11);
    const r = new CardStore();
    r.restoreDay('c', D0, Buffer.from(backing.buffer, 11, bytes.byteLength));
    expect(entries(r, 'c')).toEqual([[T0, -2500], [T0 + 5 * HOUR, 2 ** 31 - 1], [T0 + DAY - 1, 42]]);
    expect(Array.from(r.dayRecord('c', D0)!)).toEqual(Array.from(bytes));
    expect(s.dayRecord('c', D0 + 2)).toBeUndefined();
    expect(s.dayRecord('nobody', D0)).toBeUndefined();
  });

  it('rejects malformed values without changing the card', () => {
    const s = new CardStore();
    s.observe('c', T0 + HOUR, 100);
    const good = s.dayRecord('c', D0)!;
    const r = new CardStore();
    r.restoreDay('c', D0, good);
    const wrongDay = () => r.restoreDay('c', D0 + 1, good);
    const truncated = () => r.restoreDay('c', D0, good.subarray(0, 12));
    const unknown = Uint8Array.from(good);
    unknown[0] = 9;
    const outside = Uint8Array.from(good);
    new DataView(outside.buffer).setUint32(8, DAY, true);
    const twoEntries = new CardStore();
    twoEntries.observe('c', T0 + 2 * HOUR, 1);
    twoEntries.observe('c', T0 + 3 * HOUR, 2);
    const unsorted = Uint8Array.from(twoEntries.dayRecord('c', D0)!);
    new DataView(unsorted.buffer).setUint32(16, 0, true);
    for (const bad of [wrongDay, truncated, () => r.restoreDay('c', D0, unknown), () => r.restoreDay('c', D0, outside), () => r.restoreDay('c', D0, unsorted)]) {
      expect(bad).toThrow(RangeError);
    }
    // A format-2 value under a bare-token key, and a format-1 value under a day key.
    expect(() => applyRecord(r, 'c', Buffer.from(good))).toThrow(RangeError);
    expect(() => applyRecord(r, dayKey('c', D0), Buffer.from(s.serializeWhole('c')!))).toThrow(RangeError);
    expect(entries(r, 'c')).toEqual([[T0 + HOUR, 100]]);
  });

  it('merge: a later record of a day replaces the earlier, other days stay, a tombstone removes the day', () => {
    const s = new CardStore({ trackChanges: true });
    const log = new Log();
    s.observe('c', T0 + HOUR, 100);
    s.observe('c', T0 + DAY + HOUR, 200);
    expect(log.commit(s).map((r) => r.key)).toEqual([dayKey('c', D0), dayKey('c', D0 + 1)]);
    s.observe('c', T0 + DAY + 2 * HOUR, 300);
    // Only the touched day is written again, with all its entries.
    const second = log.commit(s);
    expect(second.map((r) => r.key)).toEqual([dayKey('c', D0 + 1)]);
    expect(second[0]!.value!.byteLength).toBe(8 + 2 * 8);
    expect(log.commit(s)).toEqual([]); // nothing changed: nothing written
    const r = restored(log.records);
    expectSameCards(r, s, ['c']);
    r.restoreDay('c', D0 + 1, null);
    expect(entries(r, 'c')).toEqual([[T0 + HOUR, 100]]);
    r.restoreDay('c', D0, null);
    expect(r.has('c')).toBe(false); // no entries left: no card
  });

  it('a card whose events cross a day boundary out of event-time order writes both days', () => {
    const s = new CardStore({ trackChanges: true });
    const log = new Log();
    s.observe('c', T0 + 10 * HOUR, 100);
    log.commit(s);
    s.observe('c', T0 + DAY + 10 * 60_000, 200); // 00:10 the next day
    s.observe('c', T0 + DAY - 10 * 60_000, 300); // then 23:50 the day before, uploaded late
    expect(log.commit(s).map((r) => r.key)).toEqual([dayKey('c', D0 + 1), dayKey('c', D0)]);
    for (const records of [log.records, log.compacted(true)]) {
      const r = restored(records);
      expectSameCards(r, s, ['c']);
      for (const t of [T0 + DAY - 10 * 60_000, T0 + DAY + 10 * 60_000]) expect(windows(r, 'c', t)).toEqual(windows(s, 'c', t));
    }
  });
});

describe('tombstones', () => {
  it('tombstone a day once every entry of it left the retention; a partly expired day is not rewritten', () => {
    const s = new CardStore({ trackChanges: true });
    const log = new Log();
    s.observe('c', T0 + 1 * HOUR, 1);
    s.observe('c', T0 + 20 * HOUR, 2);
    log.commit(s);
    const retain = 30 * DAY + DEFAULT_CARD_MARGIN_MS;
    // Pushes the horizon past the first entry of D0 only.
    s.observe('c', T0 + HOUR + retain + 1, 3);
    expect(entries(s, 'c')).toEqual([[T0 + 20 * HOUR, 2], [T0 + HOUR + retain + 1, 3]]);
    expect(log.commit(s).map((r) => r.key)).toEqual([dayKey('c', D0 + 31)]);
    expect(restored(log.records).serializeWhole('c')).toEqual(s.serializeWhole('c'));
    // Now past the second: day D0 is empty and gets its tombstone.
    s.observe('c', T0 + 20 * HOUR + retain + 1, 4);
    const third = log.commit(s);
    expect(third.map((r) => [r.key, r.value === null])).toEqual([[dayKey('c', D0 + 31), false], [dayKey('c', D0), true]]);
    expect(log.liveKeys()).toEqual([dayKey('c', D0 + 31)]);
    expectSameCards(restored(log.compacted(true)), s, ['c']);
  });

  it('keep a compacted topic at about 31 days per card over a long history', () => {
    const s = new CardStore({ trackChanges: true });
    const log = new Log();
    for (let i = 0; i < 200 * 3; i++) {
      s.observe('c', T0 + i * 8 * HOUR + (i % 5) * 1000, 1000 + i);
      if (i % 4 === 0) log.commit(s);
    }
    log.commit(s);
    const live = log.liveKeys();
    expect(live.length).toBeGreaterThanOrEqual(31);
    expect(live.length).toBeLessThanOrEqual(32);
    for (const records of [log.records, log.compacted(false), log.compacted(true)]) expectSameCards(restored(records), s, ['c']);
  });

  it('tombstone every day of a card evicted as idle', () => {
    const s = new CardStore({ trackChanges: true });
    const log = new Log();
    for (let d = 0; d < 5; d++) s.observe('idle', T0 + d * DAY + HOUR, 100 + d);
    s.observe('busy', T0 + 40 * DAY, 1);
    log.commit(s);
    expect(log.liveKeys()).toHaveLength(6);
    const gone: string[] = [];
    expect(s.evictIdle(T0 + 40 * DAY, (c) => gone.push(c))).toBe(1);
    expect(gone).toEqual(['idle']);
    const written = log.commit(s);
    expect(written.map((r) => r.key)).toEqual([0, 1, 2, 3, 4].map((d) => dayKey('idle', D0 + d)));
    expect(written.every((r) => r.value === null)).toBe(true);
    expect(log.liveKeys()).toEqual([dayKey('busy', D0 + 40)]);
    const r = restored(log.records);
    expect(r.has('idle')).toBe(false);
    expectSameCards(r, s, ['idle', 'busy']);
  });
});

describe('format-1 whole-history records (topics written before format 2)', () => {
  /** What the previous scorer wrote at a commit: key = token, value = the whole history. */
  function legacyCommit(log: Log, store: CardStore, touched: Iterable<string>): void {
    for (const token of touched) {
      const bytes = store.serializeWhole(token);
      log.records.push({ key: token, value: bytes ? Buffer.from(bytes) : null });
    }
  }

  it('are restored, and a newer day record merges into them', () => {
    const old = new CardStore();
    for (let i = 0; i < 10; i++) old.observe('c', T0 + i * 10 * HOUR, 100 + i);
    const log = new Log();
    legacyCommit(log, old, ['c']);
    expect(log.records[0]!.value![0]).toBe(WHOLE_HISTORY_FORMAT);
    // A day record of the last day, written later with one more entry.
    const newer = new CardStore();
    for (let i = 0; i < 10; i++) newer.observe('c', T0 + i * 10 * HOUR, 100 + i);
    newer.observe('c', T0 + 95 * HOUR, 999);
    log.records.push({ key: dayKey('c', D0 + 3), value: Buffer.from(newer.dayRecord('c', D0 + 3)!) });
    const r = restored(log.records);
    expect(entries(r, 'c')).toEqual(entries(newer, 'c'));
    for (const t of [T0 + 95 * HOUR, T0 + 40 * HOUR]) expect(windows(r, 'c', t)).toEqual(windows(newer, 'c', t));
  });

  it('are replaced by day records at the card\'s next event, the bare-token key tombstoned first', () => {
    const old = new CardStore();
    const log = new Log();
    for (let i = 0; i < 12; i++) old.observe('c', T0 + i * 10 * HOUR, 100 + i);
    old.observe('quiet', T0, 5);
    legacyCommit(log, old, ['c', 'quiet']);
    // The new scorer restores them; nothing is written until a card changes.
    const s = restored(log.records);
    expectSameCards(s, old, ['c', 'quiet']);
    expect(log.commit(s)).toEqual([]);
    s.observe('c', T0 + 120 * HOUR, 7);
    const written = log.commit(s);
    expect(written.map((r) => [r.key, r.value === null])).toEqual([
      ['c', true],
      ...[0, 1, 2, 3, 4, 5].map((d) => [dayKey('c', D0 + d), false]),
    ]);
    for (const records of [log.records, log.compacted(false), log.compacted(true)]) {
      const r = restored(records);
      expectSameCards(r, s, ['c', 'quiet']);
    }
    // An untouched old card evicted as idle: its bare-token key is tombstoned too.
    s.evictIdle(T0 + 32 * DAY);
    expect(log.commit(s).map((r) => [r.key, r.value])).toEqual([['quiet', null], [dayKey('quiet', D0), null]]);
    expect(log.liveKeys().every((k) => k.startsWith('c@'))).toBe(true);
    expectSameCards(restored(log.compacted(true)), s, ['c', 'quiet']);
  });
});

describe('restored state equals live state at every commit', () => {
  /** Deterministic xorshift, so a failure replays. */
  function rng(seed: number): () => number {
    let x = seed >>> 0 || 1;
    return () => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return (x >>> 0) / 2 ** 32;
    };
  }

  it('with late events, idle evictions, a legacy start, raw and compacted logs (~100 days, 40 cards)', () => {
    const random = rng(7);
    const cards = Array.from({ length: 40 }, (_, i) => `card-${i}`);
    const log = new Log();
    // The first 20 days are written by the previous format, then the new scorer takes over.
    const old = new CardStore();
    let t = T0;
    const touched = new Set<string>();
    for (let i = 0; i < 400; i++) {
      t += Math.floor(random() * 2 * HOUR);
      const c = cards[Math.floor(random() * 10)]!; // a few cards only, so others start fresh later
      old.observe(c, t, Math.floor(random() * 50_000) - 1000);
      touched.add(c);
      if (i % 7 === 0) {
        for (const token of touched) log.records.push({ key: token, value: Buffer.from(old.serializeWhole(token)!) });
        touched.clear();
      }
    }
    for (const token of touched) log.records.push({ key: token, value: Buffer.from(old.serializeWhole(token)!) });
    const live = restored(log.records);
    let checks = 0;
    let evicted = 0;
    for (let i = 0; i < 5000; i++) {
      t += Math.floor(random() * 40 * 60_000);
      // Events 1000-3999 (~40 days) use 8 cards only: the others go idle and are evicted, then
      // come back. Late events (up to 2 days) cross day boundaries.
      const pool = i >= 1000 && i < 4000 ? 8 : 40;
      const c = cards[Math.floor(random() * pool)]!;
      const late = random() < 0.15 ? Math.floor(random() * 2 * DAY) : 0;
      live.observe(c, t - late, Math.floor(random() * 50_000) - 1000);
      if (i % 499 === 0) evicted += live.evictIdle(t);
      if (random() < 0.1) {
        log.commit(live);
        if (i % 50 === 0 || i > 4900) {
          for (const records of [log.records, log.compacted(false), log.compacted(true)]) expectSameCards(restored(records), live, cards);
          checks++;
        }
      }
    }
    log.commit(live);
    for (const records of [log.records, log.compacted(false), log.compacted(true)]) expectSameCards(restored(records), live, cards);
    expect(checks).toBeGreaterThan(5);
    expect(live.lateDropped).toBe(0);
    expect(evicted).toBeGreaterThan(20);
    // The history exercised every kind of write: legacy tombstones, day tombstones, records.
    const bareTombstones = log.records.filter((r) => r.value === null && !r.key.includes('@')).length;
    const dayTombstones = log.records.filter((r) => r.value === null && r.key.includes('@')).length;
    expect(bareTombstones).toBe(10);
    expect(dayTombstones).toBeGreaterThan(500);
    // No key outlives its card's retention: at most 32 days per card stay live.
    const perCard = new Map<string, number>();
    for (const key of log.liveKeys()) perCard.set(parseKey(key).token, (perCard.get(parseKey(key).token) ?? 0) + 1);
    for (const [card, n] of perCard) expect(n, card).toBeLessThanOrEqual(32);
    expect(log.liveKeys().every((k) => k.includes('@'))).toBe(true);
  });
});
