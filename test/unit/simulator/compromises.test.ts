import { describe, expect, it } from 'vitest';
import { Compromises } from '../../../services/simulator/src/compromises.js';

describe('compromise windows', () => {
  it('keeps a terminal compromised from its draw day for exactly `terminalDays` days', () => {
    const c = new Compromises(28, 14);
    const active: number[] = [];
    for (let day = 0; day < 60; day++) {
      c.startDay(day, day === 5 ? [7] : [], []);
      if (c.terminal(7)) active.push(day);
    }
    expect(active).toEqual(Array.from({ length: 28 }, (_, i) => 5 + i));
  });

  it('counts overlapping card compromises and expires them after `cardDays`', () => {
    const c = new Compromises(28, 14);
    const counts: number[] = [];
    for (let day = 0; day < 30; day++) {
      c.startDay(day, [], day === 0 || day === 10 ? [3] : []);
      counts.push(c.card(3));
    }
    expect(counts.slice(0, 10)).toEqual(Array(10).fill(1));
    expect(counts.slice(10, 14)).toEqual(Array(4).fill(2));
    expect(counts.slice(14, 24)).toEqual(Array(10).fill(1));
    expect(counts.slice(24)).toEqual(Array(6).fill(0));
    expect(c.card(4)).toBe(0);
  });

  it('extends, not shortens, a terminal drawn again', () => {
    const c = new Compromises(3, 1);
    c.startDay(0, [1], []);
    c.startDay(1, [1], []);
    c.startDay(2, [], []);
    c.startDay(3, [], []);
    expect(c.terminal(1)).toBe(true);
    c.startDay(4, [], []);
    expect(c.terminal(1)).toBe(false);
    expect(() => c.startDay(4, [], [])).toThrow(RangeError);
  });
});
