import { describe, expect, it } from 'vitest';
import { dayIso, dayOf, describeSplit, makeSplit, selectTestRows } from '../../../../services/cli/src/evaluate/protocol.js';
import { PROTOCOL } from './reference-values.js';

const DAY = 86_400_000;

describe('makeSplit', () => {
  it('the handbook split: train 07-25..07-31, test 08-08..08-14', () => {
    const s = makeSplit({ trainStart: '2018-07-25' });
    expect(s.trainDays).toEqual([0, 6]);
    expect(s.testDays).toEqual([14, 20]);
    expect(describeSplit(s)).toEqual({ train: ['2018-07-25', '2018-07-31'], delayDays: 7, test: ['2018-08-08', '2018-08-14'] });
  });

  it('days are UTC days counted from the training start', () => {
    const s = makeSplit({ trainStart: '2018-07-25' });
    const start = Date.UTC(2018, 6, 25);
    expect(dayOf(s, start)).toBe(0);
    expect(dayOf(s, start + DAY - 1)).toBe(0);
    expect(dayOf(s, start - 1)).toBe(-1);
    expect(dayOf(s, start + 14 * DAY + 5)).toBe(14);
    expect(dayIso(s, 14)).toBe('2018-08-08');
  });

  it('other lengths', () => {
    const s = makeSplit({ trainStart: '2018-05-01', deltaTrain: 3, deltaDelay: 0, deltaTest: 2 });
    expect(s.testDays).toEqual([3, 4]);
  });

  it('refuses bad dates and lengths', () => {
    expect(() => makeSplit({ trainStart: '25/07/2018' })).toThrow(/YYYY-MM-DD/);
    expect(() => makeSplit({ trainStart: '2018-07-25', deltaTest: 0 })).toThrow(/deltaTest/);
    expect(() => makeSplit({ trainStart: '2018-07-25', deltaDelay: -1 })).toThrow(/deltaDelay/);
  });
});

describe('selectTestRows (known-compromised cards)', () => {
  // train days 0..1, delay 2, test days 4..5: a card is known on test day D when it had a
  // fraud on a day in [0, D − 3].
  const split = makeSplit({ trainStart: '2018-01-01', deltaTrain: 2, deltaDelay: 2, deltaTest: 2 });

  it('removes cards with a training fraud from every test day', () => {
    const r = selectTestRows({ days: [1, 4, 5], cards: [9, 9, 9], labels: [1, 0, 1] }, split);
    expect([...r.rows]).toEqual([]);
    expect(r).toMatchObject({ trainRows: 1, trainFrauds: 1, testRowsBefore: 2, removedRows: 2, removedFrauds: 1, removedCards: 1 });
  });

  it('a fraud in the delay period counts from test day = its day + delay + 1 on', () => {
    // fraud on day 2: known on day 5 (2 <= 5 − 3), not on day 4 (2 > 4 − 3)
    const r = selectTestRows({ days: [2, 4, 5], cards: [3, 3, 3], labels: [1, 0, 0] }, split);
    expect([...r.rows]).toEqual([1]);
    // fraud on day 3 (= 5 − 2, the day the handbook does not count yet): known on neither
    const r3 = selectTestRows({ days: [3, 4, 5], cards: [3, 3, 3], labels: [1, 1, 0] }, split);
    expect([...r3.rows]).toEqual([1, 2]);
    expect(r3.testFrauds).toBe(1);
  });

  it('frauds inside the test days never remove the card (their labels are not known yet)', () => {
    const r = selectTestRows({ days: [4, 5, 5], cards: [1, 1, 2], labels: [1, 1, 0] }, split);
    expect([...r.rows]).toEqual([0, 1, 2]);
    expect(r.testCards).toBe(2);
  });

  it('frauds before the training start are ignored, as in the handbook', () => {
    const r = selectTestRows({ days: [-3, 4], cards: [1, 1], labels: [1, 0] }, split);
    expect([...r.rows]).toEqual([1]);
  });

  it('keeps exactly the rows the Python trainer keeps (split_masks)', () => {
    const s = makeSplit({ trainStart: '2018-01-01', deltaTrain: PROTOCOL.deltaTrain, deltaDelay: PROTOCOL.deltaDelay, deltaTest: PROTOCOL.deltaTest });
    const days = PROTOCOL.days.map((d) => d - PROTOCOL.trainStart);
    const r = selectTestRows({ days, cards: PROTOCOL.cards, labels: PROTOCOL.labels }, s);
    expect([...r.rows]).toEqual(PROTOCOL.testRows);
    expect(r.trainRows).toBe(PROTOCOL.trainRows);
    expect(r.testRowsBefore).toBe(PROTOCOL.testRowsBefore);
    expect(r.removedRows).toBe(PROTOCOL.testRowsBefore - PROTOCOL.testRows.length);
    expect(r.removedRows).toBeGreaterThan(0);
  });
});
