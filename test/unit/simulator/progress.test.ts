import { describe, expect, it } from 'vitest';
import { createProgress, summaryLine } from '../../../services/simulator/src/progress.js';

const fakeStream = (isTTY: boolean) => {
  const written: string[] = [];
  const stream = { isTTY, columns: 120, write: (s: string) => { written.push(s); return true; }, on: () => stream, removeListener: () => stream, cursorTo: () => true, clearLine: () => true, moveCursor: () => true } as unknown as NodeJS.WriteStream;
  return { stream, written };
};

describe('progress', () => {
  it('prints only one summary line when the output is not a terminal', () => {
    const { stream, written } = fakeStream(false);
    const p = createProgress({ label: 'publish', stream });
    p.update({ transactions: 10, outcomes: 0, frauds: 0, elapsedMs: 100 });
    p.update({ transactions: 6_000, outcomes: 6_000, frauds: 51, elapsedMs: 1_200 });
    expect(written).toEqual([]);
    p.stop();
    p.stop();
    expect(written).toEqual(['publish: 12,000 events (6,000 tx, 51 fraud, 6,000 outcomes) in 1.2 s, 10,000 ev/s\n']);
  });

  it('formats a summary line', () => {
    expect(summaryLine('sim', { transactions: 1, outcomes: 1, frauds: 0, elapsedMs: 0 })).toBe('sim: 2 events (1 tx, 0 fraud, 1 outcomes) in 0.0 s, 0 ev/s');
  });
});

describe('progress on a terminal', () => {
  it('draws a bar with events per second and stops cleanly', () => {
    const { stream, written } = fakeStream(true);
    const p = createProgress({ label: 'publish', stream, total: 100 });
    p.update({ transactions: 25, outcomes: 25, frauds: 1, elapsedMs: 500 });
    p.stop({ transactions: 50, outcomes: 50, frauds: 2, elapsedMs: 1_000 });
    const text = written.join('');
    expect(text).toContain('100/100 events');
    expect(text).toContain('100 ev/s');
  });
});
