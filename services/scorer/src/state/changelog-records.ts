/**
 * The card-state changelog's records (see changelog.ts): keys, the messages a commit writes,
 * and how a record read back is applied to a card store. Pure code, no I/O.
 */
import type { CardChanges, CardStore } from '../features/index.js';
import type { OutMessage, TopicMessages } from '../sink/messages.js';

/** Separates the card token from the day in a key; tokens match /^[\w.:-]{1,128}$/. */
export const DAY_KEY_SEPARATOR = '@';

/** The changelog key of a card's day record. */
export function dayKey(cardToken: string, day: number): string {
  return `${cardToken}${DAY_KEY_SEPARATOR}${day}`;
}

/** Splits a changelog key: a day record's key, or a bare token (format-1 record, day undefined). */
export function parseKey(key: string): { token: string; day?: number } {
  const at = key.lastIndexOf(DAY_KEY_SEPARATOR);
  if (at < 0) return { token: key };
  const day = Number(key.slice(at + 1));
  if (at === 0 || !Number.isSafeInteger(day) || key.length === at + 1) throw new RangeError('card state: malformed changelog key');
  return { token: key.slice(0, at), day };
}

/** The changed days of the changed cards (records or tombstones), for partition p of the changelog. */
export function changelogMessages(topic: string, partition: number, cards: CardStore, changes: CardChanges): TopicMessages | undefined {
  const messages: OutMessage[] = [];
  const put = (key: string, bytes: Uint8Array | undefined) =>
    messages.push({ key, value: bytes ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) : null, partition, headers: {} });
  for (const [token, change] of changes) {
    // First: restoring this tombstone deletes the card, the records below rebuild it.
    if (change.wholeKey) put(token, undefined);
    for (const day of change.days) put(dayKey(token, day), cards.dayRecord(token, day));
    for (const day of change.expired) {
      if (change.days.includes(day)) continue;
      const bytes = cards.dayRecord(token, day);
      if (bytes === undefined) put(dayKey(token, day), undefined);
    }
  }
  return messages.length ? { topic, messages } : undefined;
}

/** Applies one changelog record (null or empty value: a tombstone). Throws RangeError when malformed. */
export function applyRecord(cards: CardStore, key: string, value: Uint8Array | null): void {
  const { token, day } = parseKey(key);
  const bytes = value === null || value.length === 0 ? null : value;
  if (day !== undefined) cards.restoreDay(token, day, bytes);
  else if (bytes === null) cards.delete(token);
  else cards.restore(token, bytes);
}
