/**
 * Brute-force check: random histories scored by the engine (batch order, interleaved
 * partitions, tightest eviction) must equal a naive O(n^2) reading of the definitions,
 * exactly (===), not approximately.
 */
import { describe, expect, it } from 'vitest';
import {
  batchFeatures,
  CardStore,
  createFeatureEngine,
  TerminalTable,
  type BatchEvent,
  type OutcomeInput,
} from '../../../../services/scorer/src/features/index.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2018, 3, 1);

/** mulberry32: small, seeded, good enough to draw test data. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Tx {
  transactionId: string;
  cardToken: string;
  terminalId: string;
  amountMinor: number;
  eventTime: number;
}

function history(seed: number, count = 3000) {
  const r = rng(seed);
  const pick = (n: number) => Math.floor(r() * n);
  // Times on a 30-minute grid so window bounds (t - n days, t - 7 days, knownAt = t) are hit
  // exactly, often; a few get a millisecond jitter.
  const txs: Tx[] = Array.from({ length: count }, (_, i) => ({
    transactionId: `tx-${i}`,
    cardToken: `card-${pick(40)}`,
    terminalId: `term-${pick(12)}`,
    amountMinor: r() < 0.05 ? pick(2 ** 31) : pick(30_000),
    eventTime: T0 + pick(60 * 48) * 1_800_000 + (r() < 0.1 ? pick(3) : 0),
  })).sort((a, b) => a.eventTime - b.eventTime);
  const outcomes: OutcomeInput[] = [];
  for (const tx of txs) {
    if (r() < 0.05) continue; // never labelled
    const delay = r() < 0.7 ? 7 * DAY : pick(20 * 48) * 1_800_000;
    const o = { transactionId: tx.transactionId, terminalId: tx.terminalId, eventTime: tx.eventTime, knownAt: tx.eventTime + delay, isFraud: r() < 0.2 };
    outcomes.push(o);
    if (r() < 0.05) outcomes.push({ ...o }); // redelivered
  }
  return { txs, outcomes };
}

/** The definitions, read literally. txs must be in processing order. */
function naive(txs: Tx[], outcomes: OutcomeInput[]): number[][] {
  const seen = new Set<string>();
  const unique = outcomes.filter((o) => !seen.has(o.transactionId) && seen.add(o.transactionId));
  return txs.map((tx, i) => {
    const t = tx.eventTime;
    const d = new Date(t);
    const row = [tx.amountMinor / 100, d.getUTCDay() === 0 || d.getUTCDay() === 6 ? 1 : 0, d.getUTCHours() <= 6 ? 1 : 0];
    for (const n of [1, 7, 30]) {
      const mine = txs.slice(0, i + 1).filter((o) => o.cardToken === tx.cardToken && o.eventTime > t - n * DAY && o.eventTime <= t);
      const sum = mine.reduce((acc, o) => acc + o.amountMinor, 0);
      row.push(mine.length, mine.length === 0 ? 0 : sum / (100 * mine.length));
    }
    for (const n of [1, 7, 30]) {
      const known = unique.filter(
        (o) => o.terminalId === tx.terminalId && o.knownAt <= t && o.eventTime > t - (7 + n) * DAY && o.eventTime <= t - 7 * DAY,
      );
      const frauds = known.filter((o) => o.isFraud).length;
      row.push(known.length, known.length === 0 ? 0 : frauds / known.length);
    }
    return row;
  });
}

/** The simulator's merged order: by time, outcomes (by knownAt) before transactions on ties. */
function merged(txs: Tx[], outcomes: OutcomeInput[]): BatchEvent[] {
  const events: [number, number, number, BatchEvent][] = [
    ...outcomes.map((o, i): [number, number, number, BatchEvent] => [o.knownAt, 0, i, { kind: 'outcome', outcome: o }]),
    ...txs.map((tx, i): [number, number, number, BatchEvent] => [tx.eventTime, 1, i, { kind: 'transaction', tx, isFraud: false }]),
  ];
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2]);
  return events.map((e) => e[3]);
}

describe('feature engine against the naive definitions', () => {
  for (const seed of [1, 2]) {
    const { txs, outcomes } = history(seed);
    const expected = naive(txs, outcomes);

    it(`batch order, default margins (seed ${seed})`, async () => {
      const rows: number[][] = [];
      for await (const row of batchFeatures(merged(txs, outcomes))) rows.push(Array.from(row.features));
      expect(rows).toEqual(expected);
    });

    it(`batch order, zero eviction margins (seed ${seed})`, async () => {
      const engine = createFeatureEngine({ cards: new CardStore({ marginMs: 0 }), terminals: new TerminalTable({ marginMs: 0 }) });
      const rows: number[][] = [];
      for await (const row of batchFeatures(merged(txs, outcomes), engine)) rows.push(Array.from(row.features));
      expect(rows).toEqual(expected);
      // Outcomes known after the last transaction are still pending at the end.
      const applicable = outcomes.filter((o) => o.knownAt <= txs.at(-1)!.eventTime);
      const { duplicates, applied } = engine.terminals.stats;
      expect(duplicates).toBe(applicable.length - new Set(applicable.map((o) => o.transactionId)).size);
      expect(duplicates).toBeGreaterThan(0);
      expect(applied + duplicates).toBe(applicable.length);
    });

    it(`four partitions interleaved with up to 2 days of skew, outcomes shuffled (seed ${seed})`, () => {
      const r = rng(seed + 100);
      const engine = createFeatureEngine();
      // All outcomes up front, in random order: the pending buffer must sort them out.
      const shuffled = [...outcomes];
      for (let i = shuffled.length - 1; i > 0; i--) {
        const j = Math.floor(r() * (i + 1));
        [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
      }
      shuffled.forEach((o) => engine.terminals.addOutcome(o));
      // Cards hash to partitions; each partition is in time order; any partition whose next
      // event is within 2 days of the slowest one may go next.
      const queues: number[][] = [[], [], [], []];
      txs.forEach((tx, i) => queues[Number(tx.cardToken.slice(5)) % 4]!.push(i));
      const heads = [0, 0, 0, 0];
      const got: number[][] = new Array(txs.length);
      for (let done = 0; done < txs.length; done++) {
        const next = (p: number) => (heads[p]! < queues[p]!.length ? txs[queues[p]![heads[p]!]!]!.eventTime : Infinity);
        const slowest = Math.min(...[0, 1, 2, 3].map(next));
        const ready = [0, 1, 2, 3].filter((p) => next(p) <= slowest + 2 * DAY);
        const p = ready[Math.floor(r() * ready.length)]!;
        const i = queues[p]![heads[p]!++]!;
        got[i] = Array.from(engine.compute(txs[i]!));
      }
      expect(got).toEqual(expected);
    });
  }
});
