/**
 * What a replay needs from Kafka (replay.ts), behind an interface so the selection logic can
 * be tested on an in-memory topic: end offsets, offsets by record timestamp, and reading
 * offset ranges of partitions once, in offset order, committing nothing.
 *
 * The kafkajs implementation:
 *   - offsets: the admin client's ListOffsets, which kafkajs sends read_committed: the end of
 *     a partition is its last stable offset, so an open transaction of some producer cannot
 *     keep a read_committed reader from ever reaching it;
 *   - by timestamp: ListOffsets with a timestamp (the earliest offset whose record timestamp is
 *     at or after it; a partition with none answers its end offset);
 *   - reading: kafkajs reads only inside a consumer group, so a throwaway group
 *     (fraudscore-features-<uuid>) with autoCommit off, read_committed. Nothing is ever
 *     committed (no commitOffsets call; with autoCommit off, kafkajs's seek and stop commit
 *     nothing either), so no group of anyone else is touched and the throwaway one holds no
 *     offsets; it is deleted at the end (an empty group without offsets may already be gone:
 *     that is fine). Records outside a range (before its start while the seek is pending,
 *     at or after its end) and records seen twice (a refetch) are dropped here, so a range
 *     is delivered exactly once whatever kafkajs refetches. A partition is done when the
 *     batches reach its end offset: judged from kafkajs's END_BATCH_PROCESS event, not from
 *     the last message, because a transactional topic ends with a commit marker that no
 *     message handler ever sees (as the scorer's topic-reader.ts). One range is fetched at a
 *     time (the others paused) so ranges arrive in the order given; a fetch still brings up
 *     to 16 MB of the one partition.
 */
import { randomUUID } from 'node:crypto';
import type { Admin, Consumer, Kafka, KafkaMessage } from 'kafkajs';
import { retryTransient } from '../../../common/src/kafka.js';

export interface TopicRecord {
  offset: string;
  /** The record's timestamp (epoch ms as decimal text, kafkajs's form). */
  timestamp: string;
  value: Buffer | null;
}

export interface PartitionOffsets {
  partition: number;
  /** Earliest offset still held (retention and compaction delete before it). */
  low: bigint;
  /** End offset: the next one to be written (read_committed: the last stable offset). */
  high: bigint;
}

/** Offsets [start, end) of one partition. */
export interface PartitionRange {
  topic: string;
  partition: number;
  start: bigint;
  end: bigint;
}

export interface TopicSource {
  offsets(topic: string): Promise<PartitionOffsets[]>;
  /** Per partition: the earliest offset whose record timestamp is >= `timestamp`, or the end offset when there is none. */
  offsetsForTime(topic: string, timestamp: number): Promise<Map<number, bigint>>;
  /**
   * Reads every range once: committed records only, each partition's in offset order (offsets
   * may skip: transaction markers, aborted records, compaction), in batches handed to
   * `onRecords`, and the ranges one after another in the order given (a range's records all
   * come before the next range's), so the caller can use them as they come in a fixed order.
   * Resolves once every range was read to its end; commits no offsets anywhere.
   */
  read(ranges: readonly PartitionRange[], onRecords: (range: PartitionRange, records: readonly TopicRecord[]) => void): Promise<void>;
  close(): Promise<void>;
}

export interface KafkaTopicSourceOptions {
  /** Prefix of the throwaway consumer group. Default 'fraudscore-features'. */
  groupPrefix?: string;
}

const key = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

/** A TopicSource on a kafkajs client; connects an admin client now (close() disconnects it). */
export async function openKafkaTopicSource(kafka: Kafka, opts: KafkaTopicSourceOptions = {}): Promise<TopicSource> {
  const admin = kafka.admin();
  await admin.connect();
  return {
    async offsets(topic) {
      const found = await retryTransient(() => admin.fetchTopicOffsets(topic));
      return found.map((p) => ({ partition: p.partition, low: BigInt(p.low), high: BigInt(p.high) })).sort((a, b) => a.partition - b.partition);
    },
    async offsetsForTime(topic, timestamp) {
      const found = await retryTransient(() => admin.fetchTopicOffsetsByTimestamp(topic, timestamp));
      return new Map(found.map((p) => [p.partition, BigInt(p.offset)]));
    },
    read: (ranges, onRecords) => readRanges(kafka, admin, `${opts.groupPrefix ?? 'fraudscore-features'}-${randomUUID()}`, ranges, onRecords),
    close: () => admin.disconnect(),
  };
}

interface Cursor {
  range: PartitionRange;
  /** Next offset to hand over. */
  next: bigint;
}

async function readRanges(
  kafka: Kafka,
  admin: Admin,
  groupId: string,
  ranges: readonly PartitionRange[],
  onRecords: (range: PartitionRange, records: readonly TopicRecord[]) => void,
): Promise<void> {
  // Map order is the ranges' order: the first pending cursor is the one being read.
  const pending = new Map<string, Cursor>();
  for (const range of ranges) if (range.start < range.end) pending.set(key(range.topic, range.partition), { range, next: range.start });
  if (pending.size === 0) return;
  const current = (): Cursor | undefined => pending.values().next().value;
  const topics = [...new Set([...pending.values()].map((c) => c.range.topic))];

  const consumer: Consumer = kafka.consumer({
    groupId,
    readUncommitted: false,
    // Large fetches: a replay reads whole partitions as fast as it can.
    maxBytesPerPartition: 16 << 20,
    maxBytes: 64 << 20,
    maxWaitTimeInMs: 100,
  });
  let finish: () => void = () => {};
  let fail: (err: unknown) => void = () => {};
  const finished = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });

  const pauseOne = (topic: string, partition: number): void => consumer.pause([{ topic, partitions: [partition] }]);
  const start = (cursor: Cursor): void => {
    const { topic, partition } = cursor.range;
    consumer.seek({ topic, partition, offset: cursor.next.toString() });
    consumer.resume([{ topic, partitions: [partition] }]);
  };
  const complete = (cursor: Cursor): void => {
    const { topic, partition } = cursor.range;
    pending.delete(key(topic, partition));
    pauseOne(topic, partition);
    const next = current();
    if (next) start(next);
    else finish();
  };

  // On joining (and on any rejoin after a restart): pause every partition, then read the
  // current range from where it stands. kafkajs applies seeks at its next fetch, and a join
  // comes before any fetch of its generation.
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    for (const [topic, partitions] of Object.entries(payload.memberAssignment)) consumer.pause([{ topic, partitions }]);
    const cursor = current();
    if (cursor) start(cursor);
  });
  // After each batch (including batches of markers or aborted records only, which never reach
  // eachBatch): every record of the batch in range was handed over, so the cursor may move to
  // the batch's end, past records no handler sees.
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    const cursor = pending.get(key(payload.topic, payload.partition));
    // A batch of a paused range fetched before the pause took effect was not handed over: its
    // cursor stays, and the range is read from there in its turn.
    if (!cursor || cursor !== current()) return;
    const after = BigInt(payload.lastOffset) + 1n;
    if (after > cursor.next) cursor.next = after;
    if (cursor.next >= cursor.range.end) complete(cursor);
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (!payload.restart) fail(payload.error);
  });

  try {
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const cursor = pending.get(key(batch.topic, batch.partition));
        if (!cursor || cursor !== current()) return;
        // kafkajs's messages are TopicRecords already: the records in range are handed over
        // as they are (a slice of the batch, offsets ascending), not copied one by one.
        const { messages } = batch;
        let from = 0;
        while (from < messages.length && BigInt((messages[from] as KafkaMessage).offset) < cursor.next) from++;
        let to = from;
        while (to < messages.length && BigInt((messages[to] as KafkaMessage).offset) < cursor.range.end) to++;
        const records: readonly TopicRecord[] = from === 0 && to === messages.length ? messages : messages.slice(from, to);
        if (to > from) cursor.next = BigInt((messages[to - 1] as KafkaMessage).offset) + 1n;
        try {
          if (records.length > 0) onRecords(cursor.range, records);
        } catch (err) {
          fail(err);
        }
      },
    });
    await finished;
  } finally {
    await consumer.disconnect();
    // Nothing was committed, so the group holds no offsets; deleting it just tidies the list.
    await admin.deleteGroups([groupId]).catch(() => {});
  }
}
