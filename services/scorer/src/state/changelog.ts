/**
 * Card state survives restarts and rebalances through a compacted changelog topic,
 * co-partitioned with the input: the state of a card read from input partition p is written
 * to changelog partition p. A new owner of p reads changelog partition p to its end before
 * scoring anything from p. In exactly-once mode the changelog records commit in the same
 * transaction as the decisions and the consumed offset, so restored state matches exactly
 * the decisions that exist.
 *
 * One record per (card, UTC day): key `<card token>@<epoch day>` ('@' cannot occur in a
 * token), value = the card's entries of that day (CardStore.dayRecord, format 2). A commit
 * rewrites only the days that changed since the last one (normally today's, growing through
 * the day), and tombstones the days that left the card's retention or belonged to a card
 * evicted as idle, so a compacted topic holds about 31 records per live card and nothing for
 * dead ones. Restore applies records in partition order: a later record of a (card, day)
 * replaces the earlier, a tombstone removes the day.
 *
 * Before format 2 the key was the bare card token and the value the card's whole history
 * (format 1); such records are still restored, and a card restored from one is rewritten as
 * days (with a tombstone for its bare-token key, written first) at its next event or eviction.
 */
import type { Kafka } from 'kafkajs';
import type { CardStore } from '../features/index.js';
import { startTopicReader } from '../source/topic-reader.js';
import { applyRecord } from './changelog-records.js';

export { applyRecord, changelogMessages, dayKey, DAY_KEY_SEPARATOR, parseKey } from './changelog-records.js';

/**
 * Reads changelog partitions to their end into the given stores (format-2 day records and
 * format-1 whole-history records alike). Returns the number of cards restored.
 */
export async function restoreCardState(kafka: Kafka, topic: string, groupPrefix: string, stores: Map<number, CardStore>): Promise<number> {
  if (stores.size === 0) return 0;
  const reader = await startTopicReader({
    kafka,
    topic,
    groupPrefix: `${groupPrefix}-restore`,
    partitions: [...stores.keys()],
    onMessages(partition, messages) {
      const cards = stores.get(partition)!;
      for (const m of messages) {
        const key = m.key?.toString();
        if (key) applyRecord(cards, key, m.value);
      }
    },
  });
  try {
    await reader.caughtUp;
  } finally {
    await reader.stop();
  }
  let restored = 0;
  for (const cards of stores.values()) restored += cards.size;
  return restored;
}
