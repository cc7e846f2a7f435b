import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateAll, simulate, type GeneratedRun, type TransactionEvent } from '../../../services/simulator/src/generator.js';
import { DAY_MS, resolveSimulationOptions, type SimulationOptions } from '../../../services/simulator/src/options.js';
import { driftOptions } from '../../../services/cli/src/sim-options.js';

// Small enough for ~0.1 s a run; 14 days so each drift has a week before and a week after.
const SMALL = { customers: 300, terminals: 600, days: 14, seed: 7 } as const;
const FROM = 7;
const START = Date.UTC(2018, 3, 1);
const dayOf = (e: TransactionEvent): number => Math.floor((e.tx.eventTime - START) / DAY_MS);
const baseline = generateAll(SMALL);

/** sha256 of the merged event stream, as it would be written out. */
function streamHash(opts: SimulationOptions): string {
  const h = createHash('sha256');
  for (const e of simulate(opts)) h.update(`${JSON.stringify(e)}\n`);
  return h.digest('hex');
}

/** A transaction without its id: the id's sequence number shifts when events are added. */
const withoutId = (e: TransactionEvent): string => {
  const { transactionId: _id, ...rest } = e.tx;
  return JSON.stringify([rest, e.isFraud, e.fraudScenario]);
};

describe('drift off', () => {
  it('leaves the stream byte for byte as before drift existed', () => {
    // Hash of this world's stream taken from the generator before the drift options were added.
    const before = '732cefa30848c6d3159585655c437ad29adb6794a21b5e81c5e8b77b527806f1';
    const world = { ...SMALL, days: 12 };
    expect(streamHash(world)).toBe(before);
    // Drift that starts after the last day changes nothing either: it draws nothing until then.
    const late = { cardTesting: { fromDay: 12 }, amountInflation: { fromDay: 12, factor: 2 } };
    expect(streamHash({ ...world, drift: late })).toBe(before);
  });

  it('keeps the resolved options (manifest, cache keys) free of a drift entry', () => {
    expect('drift' in resolveSimulationOptions(SMALL)).toBe(false);
    expect('drift' in resolveSimulationOptions({ ...SMALL, drift: {} })).toBe(false);
    expect(resolveSimulationOptions({ ...SMALL, drift: { cardTesting: { fromDay: 3 }, amountInflation: { fromDay: 4 } } }).drift)
      .toEqual({ cardTesting: { fromDay: 3, cardsPerDay: 5 }, amountInflation: { fromDay: 4, factor: 1.3 } });
  });

  it('names a bad drift option', () => {
    expect(() => resolveSimulationOptions({ drift: { cardTesting: { fromDay: -1 } } })).toThrow(/drift\.cardTesting\.fromDay/);
    expect(() => resolveSimulationOptions({ drift: { cardTesting: { fromDay: 1.5 } } })).toThrow(/drift\.cardTesting\.fromDay/);
    expect(() => resolveSimulationOptions({ customers: 10, drift: { cardTesting: { fromDay: 0, cardsPerDay: 11 } } })).toThrow(/cardsPerDay/);
    expect(() => resolveSimulationOptions({ drift: { amountInflation: { fromDay: 0, factor: 0 } } })).toThrow(/factor/);
  });
});

describe('card testing drift', () => {
  const drifted = generateAll({ ...SMALL, drift: { cardTesting: { fromDay: FROM } } });
  const attacks = drifted.transactions.filter((e) => e.fraudScenario === 4);

  it('adds scenario 4 frauds from its day only, and changes nothing else', () => {
    expect(attacks.length).toBeGreaterThan(0);
    expect(attacks.filter((e) => dayOf(e) < FROM)).toEqual([]);
    expect(attacks.filter((e) => !e.isFraud)).toEqual([]);
    // Every other transaction is the stationary run's, in the same order (ids aside).
    const others = drifted.transactions.filter((e) => e.fraudScenario !== 4).map(withoutId);
    expect(others.join('\n') === baseline.transactions.map(withoutId).join('\n')).toBe(true);
    // The stream stays in time order, and each attack's outcome comes a label delay later.
    const times = drifted.transactions.map((e) => e.tx.eventTime);
    expect(times.every((t, i) => i === 0 || t >= (times[i - 1] as number))).toBe(true);
    const outcomes = new Map(drifted.outcomes.map((o) => [o.transactionId, o]));
    const bad = attacks.filter((e) => {
      const o = outcomes.get(e.tx.transactionId);
      return !o || !o.isFraud || o.fraudScenario !== 4 || o.knownAt !== e.tx.eventTime + 7 * DAY_MS;
    });
    expect(bad).toEqual([]);
  });

  it('attacks 5 cards a day with a burst of small amounts, then a large one on the same card', () => {
    const byCardDay = new Map<string, TransactionEvent[]>();
    for (const e of attacks) {
      const key = `${e.tx.cardToken}@${dayOf(e)}`;
      byCardDay.set(key, [...(byCardDay.get(key) ?? []), e]);
    }
    expect(byCardDay.size).toBe(5 * (SMALL.days - FROM));
    const bad: string[] = [];
    for (const [key, txs] of byCardDay) {
      const small = txs.filter((e) => e.tx.amountMinor <= 300);
      const large = txs.filter((e) => e.tx.amountMinor >= 10_000);
      if (small.length + large.length !== txs.length) bad.push(`${key}: amount neither small nor large`);
      if (small.length < 3 || large.length < 1) bad.push(`${key}: ${small.length} probes, ${large.length} cash-outs`);
      if (txs.slice(0, small.length).some((e) => e.tx.amountMinor > 300)) bad.push(`${key}: a cash-out before the last probe`);
      const burst = small.map((e) => e.tx.eventTime);
      if (Math.max(...burst) - Math.min(...burst) > 20 * 60_000) bad.push(`${key}: burst longer than minutes`);
      if (new Set(small.map((e) => e.tx.terminalId)).size > 2) bad.push(`${key}: probes on more than 2 terminals`);
      if ((large[0] as TransactionEvent).tx.eventTime - Math.max(...burst) < 10 * 60_000) bad.push(`${key}: cash-out within 10 min of the burst`);
      if (txs.some((e) => e.tx.channel !== 'ECOM' || e.tx.cardPresent)) bad.push(`${key}: not an online payment`);
    }
    expect(bad).toEqual([]);
  });

  it('is deterministic for a seed', () => {
    const again = generateAll({ ...SMALL, drift: { cardTesting: { fromDay: FROM } } });
    expect(JSON.stringify(again.transactions) === JSON.stringify(drifted.transactions)).toBe(true);
  });
});

describe('amount inflation drift', () => {
  const factor = 1.3;
  const inflated = generateAll({ ...SMALL, drift: { amountInflation: { fromDay: FROM, factor } } });
  const mean = (run: GeneratedRun, after: boolean, keep = (_: TransactionEvent) => true): number => {
    const amounts = run.transactions.filter((e) => (dayOf(e) >= FROM) === after && keep(e)).map((e) => e.tx.amountMinor);
    return amounts.reduce((a, b) => a + b, 0) / amounts.length;
  };

  it('multiplies every amount from its day, and none before', () => {
    expect(inflated.transactions.length).toBe(baseline.transactions.length);
    const bad: string[] = [];
    inflated.transactions.forEach((e, i) => {
      const b = baseline.transactions[i] as TransactionEvent;
      if (e.tx.transactionId !== b.tx.transactionId || e.tx.eventTime !== b.tx.eventTime) bad.push(`${i}: not the same transaction`);
      else if (dayOf(e) < FROM && withoutId(e) !== withoutId(b)) bad.push(`${e.tx.transactionId}: changed before the drift`);
      // Inflation scales the amount before it is rounded to cents: at most 1.15 cents off the product.
      else if (dayOf(e) >= FROM && e.fraudScenario === 0 && b.fraudScenario === 0 && Math.abs(e.tx.amountMinor - factor * b.tx.amountMinor) > 1.15) {
        bad.push(`${e.tx.transactionId}: ${e.tx.amountMinor} is not ${factor} x ${b.tx.amountMinor}`);
      }
      // The handbook's rule 1 applies to the inflated amount.
      if (e.fraudScenario === 1 && e.tx.amountMinor <= 22_000) bad.push(`${e.tx.transactionId}: scenario 1 at or below 220`);
    });
    expect(bad).toEqual([]);
    // Genuine and fraud alike: the mean of all amounts after the day is factor x the stationary run's...
    expect(mean(inflated, true) / mean(baseline, true)).toBeCloseTo(factor, 2);
    // ...and about factor x the same run's before the day. Scenario 3's x5 amounts are left out
    // of this one: its compromised cards pile up over the first 14 days (a warm-up, not drift).
    const notCard = (e: TransactionEvent): boolean => e.fraudScenario !== 3;
    expect(mean(inflated, true, notCard) / mean(inflated, false, notCard)).toBeGreaterThan(factor * 0.93);
    expect(mean(inflated, true, notCard) / mean(inflated, false, notCard)).toBeLessThan(factor * 1.07);
  });
});

describe('CLI drift flags', () => {
  it('map to simulator drift options, and need their from-day', () => {
    expect(driftOptions({})).toBeUndefined();
    expect(driftOptions({ driftCardTestingFromDay: 3, driftAmountInflationFromDay: 5, driftAmountFactor: 1.5 }))
      .toEqual({ cardTesting: { fromDay: 3, cardsPerDay: undefined }, amountInflation: { fromDay: 5, factor: 1.5 } });
    expect(() => driftOptions({ driftAmountFactor: 1.5 })).toThrow(/--drift-amount-inflation-from-day/);
    expect(() => driftOptions({ driftCardsPerDay: 2 })).toThrow(/--drift-card-testing-from-day/);
  });
});
