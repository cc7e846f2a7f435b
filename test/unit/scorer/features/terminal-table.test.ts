import { describe, expect, it } from 'vitest';
import { DEFAULT_TERMINAL_MARGIN_MS, TerminalTable, type OutcomeInput } from '../../../../services/scorer/src/features/terminal-table.js';

const DAY = 86_400_000;
const T = Date.UTC(2018, 6, 20, 9, 30);

let seq = 0;
function outcome(eventTime: number, isFraud: boolean, knownAt = eventTime + 7 * DAY, terminalId = 'T1'): OutcomeInput {
  return { transactionId: `tx-${seq++}`, terminalId, eventTime, knownAt, isFraud };
}

function windows(table: TerminalTable, t: number, terminalId = 'T1'): number[] {
  const out = new Float64Array(6);
  table.windows(terminalId, t, out, 0);
  return Array.from(out);
}

describe('TerminalTable windows', () => {
  it('cover (t - (7 + n) days, t - 7 days] by the outcome event time', () => {
    const table = new TerminalTable();
    // knownAt = eventTime: all known long before T, so only the event-time bounds matter.
    const at = (eventTime: number, fraud: boolean) => table.addOutcome(outcome(eventTime, fraud, eventTime));
    at(T - 7 * DAY + 1, true); // too recent for every window
    at(T - 7 * DAY, true); // upper bound: in all three
    at(T - 8 * DAY + 1, false); // in all three
    at(T - 8 * DAY, true); // 7d and 30d
    at(T - 14 * DAY + 1, false); // 7d and 30d
    at(T - 14 * DAY, false); // 30d
    at(T - 37 * DAY + 1, true); // 30d
    at(T - 37 * DAY, true); // lower bound: excluded
    table.advanceTo(T);
    expect(windows(table, T)).toEqual([2, 1 / 2, 4, 2 / 4, 6, 3 / 6]);
    expect(windows(table, T, 'unknown')).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('uses an outcome only once the query time reaches its knownAt (watermark rule)', () => {
    const table = new TerminalTable();
    table.addOutcome(outcome(T - 7 * DAY - 1000, true, T + 1));
    table.advanceTo(T);
    expect(table.pendingCount).toBe(1);
    expect(windows(table, T)).toEqual([0, 0, 0, 0, 0, 0]);
    table.advanceTo(T + 1);
    expect(table.pendingCount).toBe(0);
    expect(windows(table, T + 1)).toEqual([1, 1, 1, 1, 1, 1]);
    // A partition lagging behind the watermark still sees the table as of its own time.
    expect(windows(table, T)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(table.stats.applied).toBe(1);
  });

  it('gives the same answers whatever order outcomes arrive in', () => {
    const all = Array.from({ length: 300 }, (_, i) =>
      outcome(T - 40 * DAY + i * 3_600_000 * 3, i % 5 === 0, T - 40 * DAY + i * 3_600_000 * 3 + ((i * 37) % 11) * DAY),
    );
    const inOrder = new TerminalTable();
    const shuffled = new TerminalTable();
    [...all].sort((a, b) => a.knownAt - b.knownAt).forEach((o) => inOrder.addOutcome(o));
    [...all].sort((a, b) => ((a.eventTime * 7919) % 1009) - ((b.eventTime * 7919) % 1009)).forEach((o) => shuffled.addOutcome(o));
    for (let t = T - 35 * DAY; t <= T + 10 * DAY; t += 5 * 3_600_000) {
      inOrder.advanceTo(t);
      shuffled.advanceTo(t);
      expect(windows(shuffled, t)).toEqual(windows(inOrder, t));
    }
    expect(shuffled.stats.applied).toBe(inOrder.stats.applied);
  });

  it('counts a redelivered outcome once, whether it was pending or applied', () => {
    const table = new TerminalTable();
    const o = outcome(T - 10 * DAY, true);
    table.addOutcome(o);
    table.addOutcome({ ...o });
    table.advanceTo(T);
    table.addOutcome({ ...o }); // after the watermark: applied at once, still a duplicate
    // Same time, another transaction: not a duplicate.
    table.addOutcome({ ...o, transactionId: 'someone-else', isFraud: false });
    expect(windows(table, T)).toEqual([0, 0, 2, 1 / 2, 2, 1 / 2]);
    expect(table.stats).toEqual({ received: 4, applied: 2, duplicates: 2, late: 2, expired: 0, invalid: 0 });
  });

  it('skips invalid and expired outcomes, and counts them', () => {
    const table = new TerminalTable({ marginMs: 0 });
    table.advanceTo(T);
    table.addOutcome(outcome(T - 20 * DAY, false, T - 21 * DAY)); // known before it happened
    table.addOutcome(outcome(T - DAY + 0.5, false));
    table.addOutcome(outcome(T - 37 * DAY, false, T - 30 * DAY)); // out of every window at T
    table.addOutcome(outcome(T - 37 * DAY + 1, false, T - 30 * DAY));
    expect(table.stats).toMatchObject({ received: 4, applied: 1, late: 2, expired: 1, invalid: 2 });
    expect(windows(table, T)).toEqual([0, 0, 0, 0, 1, 0]);
  });

  it('evicts old entries without changing answers within the margin, and sweeps idle terminals', () => {
    const table = new TerminalTable({ marginMs: DAY });
    const reference = new TerminalTable({ marginMs: 12 * DAY });
    for (let i = 0; i < 2000; i++) {
      const o = outcome(T + i * 3_600_000, i % 3 === 0);
      table.addOutcome(o);
      reference.addOutcome(o);
      table.advanceTo(o.knownAt);
      reference.advanceTo(o.knownAt);
      for (const lag of [0, DAY / 2, DAY]) expect(windows(table, o.knownAt - lag)).toEqual(windows(reference, o.knownAt - lag));
    }
    expect(table.bytesUsed()).toBeLessThan(reference.bytesUsed());
    const t1Newest = T + 1999 * 3_600_000;
    table.addOutcome(outcome(t1Newest + 10 * DAY, true, t1Newest + 17 * DAY, 'T2'));
    table.advanceTo(t1Newest + 38 * DAY); // horizon = watermark - (37 days + margin) = t1Newest
    expect(table.size).toBe(2);
    expect(table.sweep()).toBe(1); // T1's newest is now out of every window; T2's is not
    expect(table.size).toBe(1);
    expect(DEFAULT_TERMINAL_MARGIN_MS).toBe(7 * DAY);
    expect(() => new TerminalTable({ marginMs: 13 * DAY })).toThrow(RangeError);
  });

  it('holds a start-up backlog compactly and drops what the first event makes useless', () => {
    const table = new TerminalTable();
    // Read before any transaction: the watermark is -Infinity, so everything waits.
    for (let i = 0; i < 50_000; i++) table.addOutcome(outcome(T - 200 * DAY + i * 300_000, i % 10 === 0, undefined, `T${i % 50}`));
    expect(table.pendingCount).toBe(50_000);
    expect(table.bytesUsed()).toBeLessThan(50_000 * 40);
    table.advanceTo(T);
    expect(table.pendingCount).toBe(0);
    // 50,000 outcomes 5 minutes apart span ~174 days; only the last 44 days are kept.
    const { applied, expired } = table.stats;
    expect(applied + expired).toBe(50_000);
    expect(applied).toBe(50_000 - Math.ceil((T - 44 * DAY - (T - 200 * DAY) + 1) / 300_000));
    let inWindow = 0;
    for (let i = 0; i < 50_000; i += 50) {
      const e = T - 200 * DAY + i * 300_000;
      if (e > T - 37 * DAY && e <= T - 7 * DAY) inWindow++;
    }
    expect(windows(table, T, 'T0').slice(4)).toEqual([inWindow, 1]); // i % 50 == 0 are all frauds
    expect(table.bytesUsed()).toBeLessThan(applied * 16 + 100_000);
  });
});
