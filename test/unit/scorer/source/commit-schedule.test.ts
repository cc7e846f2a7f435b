import { describe, expect, it } from 'vitest';
import { createCommitSchedule } from '../../../../services/scorer/src/source/commit-schedule.js';

const at = (partition: number, offset: number) => ({ topic: 't', partition, offset: String(offset) });

describe('commit schedule', () => {
  it('commits once the oldest uncommitted chunk is an interval old', () => {
    const s = createCommitSchedule({ intervalMs: 100, commitWhenCaughtUp: false });
    expect(s.scored(at(0, 10), false, 1_000)).toBe(false);
    expect(s.scored(at(0, 20), false, 1_050)).toBe(false);
    expect(s.scored(at(0, 30), false, 1_100)).toBe(true);
    expect(s.pending().get(0)).toEqual(at(0, 30));
    s.committed(0);
    expect(s.pending().size).toBe(0);
    // The interval starts again with the next uncommitted chunk, not at the commit.
    expect(s.scored(at(0, 40), false, 5_000)).toBe(false);
    expect(s.overdue(5_099)).toEqual([]);
    expect(s.overdue(5_100)).toEqual([0]);
  });

  it('keeps partitions apart', () => {
    const s = createCommitSchedule({ intervalMs: 100, commitWhenCaughtUp: false });
    s.scored(at(0, 5), false, 0);
    s.scored(at(1, 7), false, 60);
    expect(s.overdue(100)).toEqual([0]);
    expect(s.overdue(160).sort()).toEqual([0, 1]);
    expect([...s.pending()]).toEqual([
      [0, at(0, 5)],
      [1, at(1, 7)],
    ]);
  });

  it('commits a caught-up partition at once only when told to (exactly-once visibility)', () => {
    expect(createCommitSchedule({ intervalMs: 100, commitWhenCaughtUp: true }).scored(at(0, 1), true, 0)).toBe(true);
    expect(createCommitSchedule({ intervalMs: 100, commitWhenCaughtUp: true }).scored(at(0, 1), false, 0)).toBe(false);
    expect(createCommitSchedule({ intervalMs: 1000, commitWhenCaughtUp: false }).scored(at(0, 1), true, 0)).toBe(false);
  });

  it('an interval of 0 commits every chunk', () => {
    const s = createCommitSchedule({ intervalMs: 0, commitWhenCaughtUp: false });
    expect(s.scored(at(2, 1), false, 0)).toBe(true);
  });

  it('drop forgets every pending partition and says which', () => {
    const s = createCommitSchedule({ intervalMs: 100, commitWhenCaughtUp: false });
    s.scored(at(0, 1), false, 0);
    s.scored(at(3, 1), false, 0);
    expect(s.drop().sort()).toEqual([0, 3]);
    expect(s.pending().size).toBe(0);
    expect(s.overdue(1_000)).toEqual([]);
  });
});
