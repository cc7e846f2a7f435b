/**
 * The global terminal table: every scorer instance reads the whole outcomes topic (delayed
 * labels) from the beginning and keeps following it, feeding each outcome to the terminal
 * table. The table applies an outcome only once the scoring watermark passes its knownAt,
 * so reading ahead is safe. The scorer is not ready before the table is restored.
 */
import type { Kafka } from 'kafkajs';
import type { Codec } from '../../../common/src/avro.js';
import type { RegistryResolver } from '../../../common/src/registry-resolver.js';
import type { TransactionOutcome } from '../../../common/src/contracts.js';
import type { Logger } from '../telemetry/log.js';
import { startTopicReader } from './topic-reader.js';

export interface OutcomeSink {
  addOutcome(outcome: TransactionOutcome): void;
}

export interface OutcomesFeed {
  /** Resolves once the topic was read up to its end offsets at start-up. */
  readonly restored: Promise<void>;
  /**
   * Resolves once the feed is current: it read what the topic held within the last `maxAgeMs`.
   * Scoring waits for this, so terminal features never miss labels because the feed fell
   * behind the scoring loop (after a broker outage, kafkajs's reader rejoins its group seconds
   * after librdkafka's loop is back). `keepAlive` runs every second while waiting (kafkajs
   * heartbeats only when asked).
   */
  current(maxAgeMs: number, keepAlive?: () => Promise<void>): Promise<void>;
  readonly stats: { read: number; skipped: number; maxKnownAt: number };
  stop(): Promise<void>;
}

export async function startOutcomesFeed(opts: {
  kafka: Kafka;
  topic: string;
  groupPrefix: string;
  codec: Codec<TransactionOutcome>;
  /** With a schema registry: fetches the batch's writer schemas that are not cached (registry-resolver.ts). */
  prepare?: RegistryResolver['prepare'];
  table: OutcomeSink;
  log: Logger;
}): Promise<OutcomesFeed> {
  const stats = { read: 0, skipped: 0, maxKnownAt: 0 };
  const reader = await startTopicReader({
    kafka: opts.kafka,
    topic: opts.topic,
    groupPrefix: `${opts.groupPrefix}-outcomes`,
    async onMessages(partition, messages) {
      const fetching = opts.prepare?.(messages, (m) => m.value);
      if (fetching) await fetching;
      for (const m of messages) {
        try {
          const outcome = opts.codec.decode(m.value ?? Buffer.alloc(0));
          opts.table.addOutcome(outcome);
          stats.read++;
          if (outcome.knownAt > stats.maxKnownAt) stats.maxKnownAt = outcome.knownAt;
        } catch (err) {
          // An outcome we cannot read cannot teach the terminal table anything: count, skip.
          stats.skipped++;
          opts.log.warn({ partition, offset: m.offset, err: (err as Error).message }, 'skipping unreadable outcome');
        }
      }
    },
  });
  let waitingSince = 0;
  return {
    restored: reader.caughtUp,
    stats,
    async current(maxAgeMs, keepAlive) {
      let lastKeptAlive = Date.now();
      while (Date.now() - reader.currentAt() > maxAgeMs) {
        if (!waitingSince) {
          waitingSince = Date.now();
          opts.log.warn({ behindMs: Date.now() - reader.currentAt() }, 'waiting for the outcomes feed to catch up before scoring');
        }
        await new Promise((r) => setTimeout(r, 20));
        if (keepAlive && Date.now() - lastKeptAlive >= 1_000) {
          lastKeptAlive = Date.now();
          await keepAlive();
        }
      }
      if (waitingSince) {
        opts.log.info({ waitedMs: Date.now() - waitingSince }, 'outcomes feed current again; scoring resumes');
        waitingSince = 0;
      }
    },
    stop: () => reader.stop(),
  };
}
