/**
 * The handbook's single-split protocol (SIMULATION.md, "Evaluation protocol"), as pure code:
 * train on `deltaTrain` days from the training start, skip `deltaDelay` days whose labels are
 * not known yet, test on the next `deltaTest` days, and drop from each test day the cards an
 * issuer already knows to be compromised.
 *
 * The known-card rule is the handbook's get_train_test_set, to the day: the set starts with
 * the cards that had a fraud in the training days, and test day D (the i-th test day, i from 0)
 * adds the frauds of day trainStart + deltaTrain + i − 1 = D − deltaDelay − 1, accumulating.
 * So a card is removed from test day D when it had a fraud on any day in
 * [first training day, D − deltaDelay − 1]: labels arrive `deltaDelay` days late, and the day
 * D − deltaDelay itself is not complete when D starts. The Python trainer (protocol.py) applies
 * the same rule, so both report metrics over the same rows.
 */
import { DAY_MS } from '../../../scorer/src/features/index.js';
import type { Column } from '../../../common/src/ranking-metrics.js';

export interface SplitOptions {
  /** First training day, an ISO date (UTC midnight). Handbook: 2018-07-25. */
  trainStart: string;
  deltaTrain?: number;
  deltaDelay?: number;
  deltaTest?: number;
}

/** Days are counted from the first training day (day 0), UTC. */
export interface Split {
  trainStartMs: number;
  deltaTrain: number;
  deltaDelay: number;
  deltaTest: number;
  /** Inclusive first and last training day. */
  trainDays: readonly [number, number];
  /** Inclusive first and last test day. */
  testDays: readonly [number, number];
}

export const HANDBOOK_TRAIN_START = '2018-07-25';

export function makeSplit(o: SplitOptions): Split {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(o.trainStart) || !Number.isFinite(Date.parse(o.trainStart))) {
    throw new RangeError(`train start must be a date YYYY-MM-DD, got ${o.trainStart}`);
  }
  const deltaTrain = o.deltaTrain ?? 7;
  const deltaDelay = o.deltaDelay ?? 7;
  const deltaTest = o.deltaTest ?? 7;
  for (const [name, v, min] of [['deltaTrain', deltaTrain, 1], ['deltaDelay', deltaDelay, 0], ['deltaTest', deltaTest, 1]] as const) {
    if (!Number.isInteger(v) || v < min) throw new RangeError(`${name} must be an integer >= ${min}, got ${v}`);
  }
  const firstTest = deltaTrain + deltaDelay;
  return {
    trainStartMs: Date.parse(o.trainStart),
    deltaTrain,
    deltaDelay,
    deltaTest,
    trainDays: [0, deltaTrain - 1],
    testDays: [firstTest, firstTest + deltaTest - 1],
  };
}

/** Day number of an event time (epoch ms) relative to the split's first training day. */
export function dayOf(split: Split, timeMs: number): number {
  return Math.floor((timeMs - split.trainStartMs) / DAY_MS);
}

/** ISO date of a split-relative day number. */
export function dayIso(split: Split, day: number): string {
  return new Date(split.trainStartMs + day * DAY_MS).toISOString().slice(0, 10);
}

export function describeSplit(split: Split): { train: [string, string]; delayDays: number; test: [string, string] } {
  return {
    train: [dayIso(split, split.trainDays[0]), dayIso(split, split.trainDays[1])],
    delayDays: split.deltaDelay,
    test: [dayIso(split, split.testDays[0]), dayIso(split, split.testDays[1])],
  };
}

/** Rows of a feature table, columns by row index. */
export interface ProtocolRows {
  /** Split-relative day of each row (dayOf). */
  days: Column;
  /** Card code of each row (non-negative integer). */
  cards: Column;
  /** 1 when the row is a fraud. */
  labels: Column;
}

export interface TestSelection {
  /** Indices of the test rows kept, ascending. */
  rows: Uint32Array;
  /** Rows in the training days. */
  trainRows: number;
  trainFrauds: number;
  /** Rows in the test days before and after removing known-compromised cards. */
  testRowsBefore: number;
  testRows: number;
  testFraudsBefore: number;
  testFrauds: number;
  /** Distinct cards among the kept test rows. */
  testCards: number;
  /** Test rows removed, their frauds, and the distinct cards they belonged to. */
  removedRows: number;
  removedFrauds: number;
  removedCards: number;
}

/**
 * The test rows of the split, minus those of cards known to be compromised on their day
 * (a fraud on a day in [first training day, day − deltaDelay − 1]).
 */
export function selectTestRows(rows: ProtocolRows, split: Split): TestSelection {
  const n = rows.days.length;
  if (rows.cards.length !== n || rows.labels.length !== n) throw new RangeError('days, cards and labels must have the same length');
  const [trainFirst, trainLast] = split.trainDays;
  const [testFirst, testLast] = split.testDays;

  // Earliest fraud day of each card from the training start on.
  const firstFraud = new Map<number, number>();
  let trainRows = 0;
  let trainFrauds = 0;
  for (let i = 0; i < n; i++) {
    const d = rows.days[i] as number;
    const fraud = (rows.labels[i] as number) !== 0;
    if (d >= trainFirst && d <= trainLast) {
      trainRows++;
      if (fraud) trainFrauds++;
    }
    if (!fraud || d < trainFirst) continue;
    const card = rows.cards[i] as number;
    const cur = firstFraud.get(card);
    if (cur === undefined || d < cur) firstFraud.set(card, d);
  }

  const kept: number[] = [];
  const keptCards = new Set<number>();
  const removedCards = new Set<number>();
  let testRowsBefore = 0;
  let testFraudsBefore = 0;
  let testFrauds = 0;
  let removedFrauds = 0;
  for (let i = 0; i < n; i++) {
    const d = rows.days[i] as number;
    if (d < testFirst || d > testLast) continue;
    const fraud = (rows.labels[i] as number) !== 0;
    const card = rows.cards[i] as number;
    testRowsBefore++;
    if (fraud) testFraudsBefore++;
    const known = firstFraud.get(card);
    if (known !== undefined && known <= d - split.deltaDelay - 1) {
      removedCards.add(card);
      if (fraud) removedFrauds++;
      continue;
    }
    kept.push(i);
    keptCards.add(card);
    if (fraud) testFrauds++;
  }
  return {
    rows: Uint32Array.from(kept),
    trainRows,
    trainFrauds,
    testRowsBefore,
    testRows: kept.length,
    testFraudsBefore,
    testFrauds,
    testCards: keptCards.size,
    removedRows: testRowsBefore - kept.length,
    removedFrauds,
    removedCards: removedCards.size,
  };
}
