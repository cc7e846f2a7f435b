/**
 * An in-memory stand-in for Kafka topics behind the replay's TopicSource: partitions of
 * records with offsets (which may skip, as transaction markers make them) and timestamps,
 * offsets by timestamp as the broker answers them, and a read that hands the ranges over one
 * after another (the TopicSource contract) in batches of seeded random sizes. For unit tests
 * of the selection logic; the real broker is tested in test/integration/features-from-kafka.test.ts.
 */
import type { PartitionOffsets, PartitionRange, TopicRecord, TopicSource } from '../../../../services/cli/src/history/kafka-source.js';

export interface FakeRecord {
  offset: bigint;
  timestamp: number;
  value: Buffer | null;
}

interface FakePartition {
  records: FakeRecord[];
  low: bigint;
  next: bigint;
}

export class FakeTopics implements TopicSource {
  readonly topics = new Map<string, FakePartition[]>();
  /** Every range read, for assertions. */
  readonly ranges: PartitionRange[] = [];
  /** Records handed over. */
  delivered = 0;
  /** Runs between offsets() and offsetsForTime() of a topic: to write while a replay plans. */
  betweenLookups?: (topic: string) => void;
  private seed: number;

  constructor(seed = 1) {
    this.seed = seed;
  }

  create(topic: string, partitions: number): this {
    this.topics.set(topic, Array.from({ length: partitions }, () => ({ records: [], low: 0n, next: 0n })));
    return this;
  }

  /** Appends a record; `skip` offsets are left unused before it (markers, aborted records). */
  append(topic: string, partition: number, timestamp: number, value: Buffer | null, skip = 0): bigint {
    const p = this.partition(topic, partition);
    p.next += BigInt(skip);
    const offset = p.next++;
    p.records.push({ offset, timestamp, value });
    return offset;
  }

  /** Deletes the records before `offset` (retention). */
  deleteBefore(topic: string, partition: number, offset: bigint): void {
    const p = this.partition(topic, partition);
    p.records = p.records.filter((r) => r.offset >= offset);
    p.low = offset;
  }

  count(topic: string): number {
    return (this.topics.get(topic) ?? []).reduce((n, p) => n + p.records.length, 0);
  }

  async offsets(topic: string): Promise<PartitionOffsets[]> {
    const found = this.topics.get(topic);
    if (!found) throw new Error(`no topic ${topic}`);
    const answer = found.map((p, partition) => ({ partition, low: p.low, high: p.next }));
    this.betweenLookups?.(topic);
    return answer;
  }

  async offsetsForTime(topic: string, timestamp: number): Promise<Map<number, bigint>> {
    return new Map((this.topics.get(topic) ?? []).map((p, partition) => [partition, p.records.find((r) => r.timestamp >= timestamp)?.offset ?? p.next]));
  }

  async read(ranges: readonly PartitionRange[], onRecords: (range: PartitionRange, records: readonly TopicRecord[]) => void): Promise<void> {
    const cursors = ranges
      .filter((r) => r.start < r.end)
      .map((range) => ({ range, records: this.partition(range.topic, range.partition).records.filter((r) => r.offset >= range.start && r.offset < range.end), at: 0 }));
    this.ranges.push(...ranges);
    // The ranges one after another (the TopicSource contract), each in batches of random size.
    for (const c of cursors) {
      while (c.at < c.records.length) {
        const n = 1 + Math.floor(this.random() * 700);
        const batch = c.records.slice(c.at, c.at + n).map((r) => ({ offset: String(r.offset), timestamp: String(r.timestamp), value: r.value }));
        c.at += batch.length;
        this.delivered += batch.length;
        onRecords(c.range, batch);
        // Let other work run between batches, as a consumer's fetches do.
        if (this.random() < 0.05) await Promise.resolve();
      }
    }
  }

  async close(): Promise<void> {}

  private partition(topic: string, partition: number): FakePartition {
    const p = this.topics.get(topic)?.[partition];
    if (!p) throw new Error(`no partition ${topic}/${partition}`);
    return p;
  }

  private random(): number {
    this.seed = (this.seed * 48_271) % 2_147_483_647;
    return this.seed / 2_147_483_647;
  }
}

/** Java-compatible murmur2 is not needed here: any stable key → partition map will do. */
export function partitionOf(key: string, partitions: number): number {
  let h = 0;
  for (let i = 0; i < key.length; i++) h = (h * 31 + key.charCodeAt(i)) | 0;
  return Math.abs(h) % partitions;
}
