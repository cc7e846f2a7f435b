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
  stop(): Promise<void>;
}

export interface TopicReaderOptions {
  kafka: Kafka;
  topic: string;
  groupPrefix: string;
  /** Only these partitions' messages are handed over (and awaited); default all. */
  partitions?: readonly number[];
  onMessages(partition: number, messages: KafkaMessage[]): void;
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
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    const end = pending.get(payload.partition);
    if (end !== undefined && BigInt(payload.lastOffset) + 1n >= end) {
      pending.delete(payload.partition);
      if (pending.size === 0) markCaughtUp();
    }
  });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch, heartbeat }) => {
      if (!wanted || wanted.has(batch.partition)) opts.onMessages(batch.partition, batch.messages);
      await heartbeat();
    },
  });
  return { caughtUp, stop: () => consumer.disconnect() };
}
