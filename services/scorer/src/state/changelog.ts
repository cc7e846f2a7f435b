/**
 * Card state survives restarts and rebalances through a compacted changelog topic,
 * co-partitioned with the input: the state of a card read from input partition p is written
 * to changelog partition p (key = card token, value = CardStore.serialize bytes, a tombstone
 * when the card is evicted). A new owner of p reads changelog partition p to its end before
 * scoring anything from p. In exactly-once mode the changelog records commit in the same
 * transaction as the decisions and the consumed offset, so restored state matches exactly
 * the decisions that exist.
 */
import type { Kafka } from 'kafkajs';
import type { CardStore } from '../features/index.js';
import type { OutMessage, TopicMessages } from '../sink/messages.js';
import { startTopicReader } from '../source/topic-reader.js';

/** The latest state of each touched card (or a tombstone), for partition p of the changelog. */
export function changelogMessages(topic: string, partition: number, cards: CardStore, touched: Iterable<string>): TopicMessages | undefined {
  const messages: OutMessage[] = [];
  for (const token of touched) {
    const bytes = cards.serialize(token);
    messages.push({ key: token, value: bytes ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) : null, partition, headers: {} });
  }
  return messages.length ? { topic, messages } : undefined;
}

/** Reads changelog partitions to their end into the given stores. Returns cards restored. */
export async function restoreCardState(kafka: Kafka, topic: string, groupPrefix: string, stores: Map<number, CardStore>): Promise<number> {
  if (stores.size === 0) return 0;
  let restored = 0;
  const reader = await startTopicReader({
    kafka,
    topic,
    groupPrefix: `${groupPrefix}-restore`,
    partitions: [...stores.keys()],
    onMessages(partition, messages) {
      const cards = stores.get(partition)!;
      for (const m of messages) {
        const token = m.key?.toString();
        if (!token) continue;
        if (m.value === null || m.value.length === 0) cards.delete(token);
        else {
          cards.restore(token, m.value);
          restored++;
        }
      }
    },
  });
  try {
    await reader.caughtUp;
  } finally {
    await reader.stop();
  }
  return restored;
}
