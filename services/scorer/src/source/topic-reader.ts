/**
 * Reads a whole topic from the beginning in a consumer group of its own (never committed),
 * and says when it has caught up with the end offsets the topic had when reading began.
 * Used to rebuild state: the terminal table from outcomes (then keeps following) and card
 * state from the changelog (then stops).
 *
 * "Caught up" is judged from kafkajs's END_BATCH_PROCESS event, not from the last message:
 * a transactional topic ends with a commit marker that no message handler ever sees.
 */
import { randomUUID } from 'node:crypto';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { fetchEndOffsets } from '../../../common/src/kafka.js';

export interface TopicReader {
  /** Resolves once every (selected) partition was read up to its end offset at start. */
  readonly caughtUp: Promise<void>;
  /**
   * When the reader last knew it had everything the topic held (epoch ms): a fetch that found
   * nothing new, or a batch that reached its partition's high watermark with no partition
   * behind. 0 until then. A reader cut off from the broker stops moving it.
   */
  currentAt(): number;
  stop(): Promise<void>;
}

export interface TopicReaderOptions {
  kafka: Kafka;
  topic: string;
  groupPrefix: string;
  /** Only these partitions' messages are handed over (and awaited); default all. */
  partitions?: readonly number[];
  /** Awaited before the batch counts as read (a reader may fetch writer schemas first). */
  onMessages(partition: number, messages: KafkaMessage[]): void | Promise<void>;
}

export async function startTopicReader(opts: TopicReaderOptions): Promise<TopicReader> {
  const { kafka, topic } = opts;
  const wanted = opts.partitions ? new Set(opts.partitions) : undefined;
  const pending = new Map<number, bigint>();
  for (const [partition, { low, high }] of await fetchEndOffsets(kafka, topic)) {
    if (wanted && !wanted.has(partition)) continue;
    if (high > low) pending.set(partition, high);
  }
  let markCaughtUp: () => void = () => {};
  const caughtUp = new Promise<void>((resolve) => (markCaughtUp = resolve));
  if (pending.size === 0) markCaughtUp();

  const consumer = kafka.consumer({ groupId: `${opts.groupPrefix}-${randomUUID()}`, readUncommitted: false, maxWaitTimeInMs: 200 });
  /** Partitions known to be behind their high watermark after their last batch. */
  const behind = new Set<number>();
  let currentAt = 0;
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    const end = pending.get(payload.partition);
    if (end !== undefined && BigInt(payload.lastOffset) + 1n >= end) {
      pending.delete(payload.partition);
      if (pending.size === 0) markCaughtUp();
    }
    if (Number(payload.offsetLag) > 0) behind.add(payload.partition);
    else behind.delete(payload.partition);
    if (behind.size === 0 && pending.size === 0) currentAt = Date.now();
  });
  // A fetch answered with no partition known to be behind: the reader is connected and has
  // read what the topic held (kafkajs long-polls every maxWaitTimeInMs when there is nothing).
  consumer.on(consumer.events.FETCH, () => {
    if (behind.size === 0 && pending.size === 0) currentAt = Date.now();
  });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch, heartbeat }) => {
      if (!wanted || wanted.has(batch.partition)) await opts.onMessages(batch.partition, batch.messages);
      await heartbeat();
    },
  });
  return { caughtUp, currentAt: () => currentAt, stop: () => consumer.disconnect() };
}
