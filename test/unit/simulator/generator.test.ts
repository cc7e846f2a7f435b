import { describe, expect, it } from 'vitest';
import { createSimulation, generateAll, simulate, type SimEvent, type TransactionEvent } from '../../../services/simulator/src/generator.js';
import { DAY_MS, resolveSimulationOptions } from '../../../services/simulator/src/options.js';
import { customerIndexOf, terminalIndexOf } from '../../../services/simulator/src/world.js';

// A small world: fast (~0.1 s a run), yet every fraud scenario shows up. Checks collect
// violations in plain loops and assert once: an expect() per event would dominate the time.
const SMALL = { customers: 500, terminals: 1_000, days: 30, seed: 1 } as const;
const run = generateAll(SMALL);
const START = Date.UTC(2018, 3, 1);

const timeOf = (e: SimEvent): number => (e.kind === 'transaction' ? e.tx.eventTime : e.outcome.knownAt);

describe('simulation options', () => {
  it('defaults to the handbook run and names a bad option', () => {
    const o = resolveSimulationOptions();
    expect(o).toMatchObject({ customers: 5_000, terminals: 10_000, radius: 5, days: 183, labelDelayDays: 7, startMs: START });
    expect(o.labelDelayMs).toBe(7 * DAY_MS);
    expect(() => resolveSimulationOptions({ customers: 0 })).toThrow(/customers/);
    expect(() => resolveSimulationOptions({ startDate: 'not a date' })).toThrow(/startDate/);
    expect(() => resolveSimulationOptions({ compromisedShare: 2 })).toThrow(/compromisedShare/);
  });
});

describe('generator', () => {
  it('is deterministic by seed', () => {
    // JSON text comparison: a deep toEqual over ~30k events is needlessly slow.
    const text = (r: { transactions: unknown[]; outcomes: unknown[] }): string => JSON.stringify([r.transactions, r.outcomes]);
    const again = generateAll(SMALL);
    expect(text(again) === text(run)).toBe(true);
    const other = generateAll({ ...SMALL, seed: 2 });
    expect(other.transactions.slice(0, 100)).not.toEqual(run.transactions.slice(0, 100));
  });

  it('orders the merged stream by time, outcomes first at the same millisecond', () => {
    const bad: string[] = [];
    let last = -Infinity;
    let lastKind: SimEvent['kind'] = 'outcome';
    let n = 0;
    let transactions = 0;
    for (const e of simulate({ ...SMALL, labelDelayDays: 1 })) {
      if (e.kind === 'transaction') transactions++;
      const t = timeOf(e);
      if (t < last) bad.push(`event ${n} goes back in time`);
      if (t === last && lastKind === 'transaction' && e.kind === 'outcome') bad.push(`event ${n}: outcome after a transaction at the same ms`);
      last = t;
      lastKind = e.kind;
      n++;
    }
    expect(bad).toEqual([]);
    expect(transactions).toBeGreaterThan(10_000);
    expect(n).toBe(2 * transactions);
  });

  it('emits each outcome once stream time reaches knownAt = eventTime + delay', () => {
    const delayMs = 2 * DAY_MS;
    const txTimes = new Map<string, number>();
    const bad: string[] = [];
    let streamTime = -Infinity;
    let waiting: number[] = []; // knownAt of outcomes emitted since the last transaction
    let outcomes = 0;
    for (const e of simulate({ ...SMALL, days: 10, labelDelayDays: 2 })) {
      if (e.kind === 'transaction') {
        // Everything emitted before this transaction was already known at its time...
        if (waiting.some((k) => k > e.tx.eventTime)) bad.push(`outcome emitted before its knownAt (${e.tx.transactionId})`);
        waiting = [];
        streamTime = e.tx.eventTime;
        txTimes.set(e.tx.transactionId, e.tx.eventTime);
        continue;
      }
      const o = e.outcome;
      outcomes++;
      if (txTimes.get(o.transactionId) !== o.eventTime) bad.push(`${o.transactionId}: outcome before or without its transaction`);
      if (o.knownAt !== o.eventTime + delayMs) bad.push(`${o.transactionId}: knownAt != eventTime + delay`);
      // ...and it was not held back: its knownAt is after the previous transaction.
      if (o.knownAt <= streamTime) bad.push(`${o.transactionId}: emitted late`);
      waiting.push(o.knownAt);
    }
    expect(bad).toEqual([]);
    // With flushing (the default) every transaction gets exactly one outcome.
    expect(outcomes).toBe(txTimes.size);
  });

  it('stops at the last transaction when flushOutcomes is false', () => {
    const events = [...simulate({ ...SMALL, days: 10, flushOutcomes: false })];
    const last = events.at(-1) as SimEvent;
    const lastTx = events.findLast((e): e is TransactionEvent => e.kind === 'transaction') as TransactionEvent;
    const outcomes = events.filter((e) => e.kind === 'outcome').length;
    expect(last.kind).toBe('transaction');
    expect(outcomes).toBeGreaterThan(0);
    expect(outcomes).toBeLessThan(events.length - outcomes);
    expect(lastTx.tx.eventTime).toBeGreaterThanOrEqual(START + 9 * DAY_MS);
  });

  it('produces all three fraud scenarios, with labels that agree with outcomes', () => {
    const byScenario = [0, 0, 0, 0];
    const bad: string[] = [];
    const labels = new Map(run.outcomes.map((o) => [o.transactionId, o]));
    for (const e of run.transactions) {
      byScenario[e.fraudScenario]! += 1;
      if (e.isFraud !== (e.fraudScenario !== 0)) bad.push(`${e.tx.transactionId}: isFraud disagrees with scenario`);
      if (e.fraudScenario === 1 && e.tx.amountMinor <= 22_000) bad.push(`${e.tx.transactionId}: scenario 1 at or below 220`);
      // Scenario 3 multiplies the (integer) cents amount by 5.
      if (e.fraudScenario === 3 && e.tx.amountMinor % 5 !== 0) bad.push(`${e.tx.transactionId}: scenario 3 amount not x5`);
      const o = labels.get(e.tx.transactionId);
      if (o?.isFraud !== e.isFraud || o.fraudScenario !== e.fraudScenario) bad.push(`${e.tx.transactionId}: outcome disagrees`);
    }
    expect(bad).toEqual([]);
    expect(byScenario[1]).toBeGreaterThan(0);
    expect(byScenario[2]).toBeGreaterThan(0);
    expect(byScenario[3]).toBeGreaterThan(0);
    const rate = (byScenario[1]! + byScenario[2]! + byScenario[3]!) / run.transactions.length;
    // Up to 56 of 1,000 terminals compromised at a time inflates the rate of a small world
    // (the default world measures ~0.85 %), but fraud stays a small minority.
    expect(rate).toBeGreaterThan(0.01);
    expect(rate).toBeLessThan(0.15);
  });

  it('marks every transaction of a compromised terminal on a compromised day', () => {
    // Only scenario 2 enabled: fraud is then a property of (terminal, day), never of one transaction.
    const only2 = generateAll({ ...SMALL, fraudAmountThreshold: 1e9, compromisedCustomersPerDay: 0 });
    const key = (e: TransactionEvent): string => `${e.tx.terminalId}@${Math.floor((e.tx.eventTime - START) / DAY_MS)}`;
    const fraudDays = new Set(only2.transactions.filter((e) => e.isFraud).map(key));
    expect(fraudDays.size).toBeGreaterThan(0);
    const bad = only2.transactions.filter((e) => (e.fraudScenario !== 0 && e.fraudScenario !== 2) || e.isFraud !== fraudDays.has(key(e)));
    expect(bad).toEqual([]);
    // At most 2 terminals a day become compromised.
    expect(new Set(only2.transactions.filter((e) => e.isFraud).map((e) => e.tx.terminalId)).size).toBeLessThanOrEqual(2 * SMALL.days);
  });

  it('writes contract-safe field values that map back to the world', () => {
    const { world } = createSimulation(SMALL);
    const bad: string[] = [];
    for (const { tx } of run.transactions) {
      const problems: string[] = [];
      if (!/^tx-\d{9}$/.test(tx.transactionId)) problems.push('transactionId');
      if (/\d{13}/.test(`${tx.transactionId} ${tx.cardToken} ${tx.terminalId} ${tx.merchantId}`)) problems.push('PAN-like digit run');
      if (!Number.isInteger(tx.amountMinor) || tx.amountMinor < 0) problems.push('amountMinor');
      if (tx.currency !== 'EUR') problems.push('currency');
      if (!/^\d{4}$/.test(tx.merchantCategoryCode ?? '')) problems.push('mcc');
      if (!/^[A-Z]{2}$/.test(tx.merchantCountry ?? '')) problems.push('country');
      if (tx.cardPresent !== (tx.channel === 'POS' || tx.channel === 'ATM')) problems.push('cardPresent vs channel');
      if (tx.eventTime % 1000 !== 0 || tx.eventTime < START || tx.eventTime >= START + SMALL.days * DAY_MS) problems.push('eventTime');
      const c = world.customers[customerIndexOf(tx.cardToken) ?? -1];
      const t = world.terminals[terminalIndexOf(tx.terminalId) ?? -1];
      if (!c || !t) problems.push('unknown card or terminal');
      else {
        if (Math.hypot(c.x - t.x, c.y - t.y) >= 5) problems.push('terminal out of reach');
        if (tx.merchantId !== t.merchantId || tx.merchantCategoryCode !== t.merchantCategoryCode) problems.push('merchant fields');
      }
      if (problems.length > 0) bad.push(`${tx.transactionId}: ${problems.join(', ')}`);
    }
    expect(bad.slice(0, 5)).toEqual([]);
    expect(new Set(run.transactions.map((e) => e.tx.transactionId)).size).toBe(run.transactions.length);
  });

  it.each([7, 0.2, 150])('finds exactly the terminals within radius %d', (radius) => {
    const { world } = createSimulation({ customers: 50, terminals: 2_000, radius, days: 1 });
    const got = world.customers.map((c) => [...c.terminals]);
    const brute = world.customers.map((c) => world.terminals.filter((t) => Math.hypot(t.x - c.x, t.y - c.y) < radius).map((t) => t.index));
    expect(got).toEqual(brute);
  });
});

describe('options from a wider object', () => {
  it('keeps only simulation options', () => {
    const o = resolveSimulationOptions({ days: 2, rate: 5, dir: '/x' } as Parameters<typeof resolveSimulationOptions>[0]);
    expect(o.days).toBe(2);
    expect(Object.keys(o)).not.toContain('rate');
    expect(Object.keys(o)).not.toContain('dir');
  });
});
