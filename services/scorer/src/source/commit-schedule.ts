/**
 * When a partition commits its consumed position (together with its card-state changelog
 * and, exactly-once, the transaction holding its outputs).
 *
 * Committing every chunk puts one more broker round trip (three, exactly-once: offsets,
 * end-transaction markers, a new transaction) on every chunk's path and writes the
 * changelog once per chunk. Committing on an interval amortises both: a card touched by ten
 * chunks is written once. What it costs:
 * - at-least-once: decisions go out at once; a crash re-scores up to one interval of events
 *   (duplicates, never losses). Caught-up partitions do not commit early: that would only add
 *   round trips without making anything visible sooner.
 * - exactly-once: decisions become visible at commit, so a partition also commits as soon as
 *   it has caught up with its high watermark; the interval bounds the delay under load.
 * An interval of 0 commits every chunk.
 */

/** The next position to read after a chunk: last offset + 1 (Kafka's commit convention). */
export interface NextOffset {
  topic: string;
  partition: number;
  offset: string;
}

export interface CommitSchedule {
  readonly intervalMs: number;
  /**
   * A chunk of `next.partition` was scored up to `next.offset`. True when the partition
   * should commit with this chunk.
   */
  scored(next: NextOffset, caughtUp: boolean, now: number): boolean;
  /** The partition committed everything it had scored. */
  committed(partition: number): void;
  /** Offsets scored but not committed, by partition. */
  pending(): Map<number, NextOffset>;
  /** Pending partitions whose oldest uncommitted chunk is at least an interval old. */
  overdue(now: number): number[];
  /** Forgets every pending partition (their work will be redone) and returns them. */
  drop(): number[];
}

export function createCommitSchedule(opts: { intervalMs: number; commitWhenCaughtUp: boolean }): CommitSchedule {
  /** Per partition: the offset to commit and when its oldest uncommitted chunk was scored. */
  const open = new Map<number, { next: NextOffset; since: number }>();
  return {
    intervalMs: opts.intervalMs,
    scored(next, caughtUp, now) {
      const since = open.get(next.partition)?.since ?? now;
      open.set(next.partition, { next, since });
      return now - since >= opts.intervalMs || (opts.commitWhenCaughtUp && caughtUp);
    },
    committed(partition) {
      open.delete(partition);
    },
    pending: () => new Map([...open].map(([p, o]) => [p, o.next])),
    overdue: (now) => [...open].filter(([, o]) => now - o.since >= opts.intervalMs).map(([p]) => p),
    drop() {
      const dropped = [...open.keys()];
      open.clear();
      return dropped;
    },
  };
}
