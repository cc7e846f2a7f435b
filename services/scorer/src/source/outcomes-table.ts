/**
 * The global terminal table: every scorer instance reads the whole outcomes topic (delayed
 * labels) from the beginning, in its own throw-away consumer group, and feeds each outcome
 * to the terminal table. The table applies an outcome only once the scoring watermark passes
 * its knownAt, so reading ahead is safe. Start-up waits until the topic's end (as of start)
 * has been read: the scorer is not ready before the table is restored.
 */
import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import type { Codec } from '../../../common/src/avro.js';
import type { TransactionOutcome } from '../../../common/src/contracts.js';
import type { Logger } from '../telemetry/log.js';

export interface OutcomeSink {
  addOutcome(outcome: TransactionOutcome): void;
}

export interface OutcomesFeed {
  /** Resolves once every partition has been read up to its end offset at start-up. */
  readonly restored: Promise<void>;
  readonly stats: { applied: number; skipped: number; maxKnownAt: number };
  stop(): Promise<void>;
}

export async function startOutcomesFeed(opts: {
  kafka: Kafka;
  topic: string;
  groupPrefix: string;
  codec: Codec<TransactionOutcome>;
  table: OutcomeSink;
  log: Logger;
}): Promise<OutcomesFeed> {
  const { kafka, topic, codec, table, log } = opts;
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map<number, bigint>();
  try {
    for (const p of await admin.fetchTopicOffsets(topic)) ends.set(p.partition, BigInt(p.high));
  } finally {
    await admin.disconnect();
  }
  const pending = new Set([...ends].filter(([, high]) => high > 0n).map(([p]) => p));
  let markRestored: () => void = () => {};
  const restored = new Promise<void>((resolve) => (markRestored = resolve));
  if (pending.size === 0) markRestored();

  const stats = { applied: 0, skipped: 0, maxKnownAt: 0 };
  // A group of its own, never committed: each instance must see every outcome.
  const consumer = kafka.consumer({ groupId: `${opts.groupPrefix}-outcomes-${randomUUID()}`, readUncommitted: false });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch, heartbeat }) => {
      for (const m of batch.messages) {
        try {
          const outcome = codec.decode(m.value ?? Buffer.alloc(0));
          table.addOutcome(outcome);
          stats.applied++;
          if (outcome.knownAt > stats.maxKnownAt) stats.maxKnownAt = outcome.knownAt;
        } catch (err) {
          // An outcome we cannot read cannot teach the terminal table anything: count, skip.
          stats.skipped++;
          log.warn({ partition: batch.partition, offset: m.offset, err: (err as Error).message }, 'skipping unreadable outcome');
        }
      }
      const end = ends.get(batch.partition);
      const last = batch.messages.at(-1);
      if (end !== undefined && last && BigInt(last.offset) + 1n >= end && pending.delete(batch.partition) && pending.size === 0) {
        markRestored();
      }
      await heartbeat();
    },
  });
  return { restored, stats, stop: () => consumer.disconnect() };
}
