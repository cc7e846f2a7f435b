/**
 * Reads decisions, shadow decisions and outcomes (read_committed, so aborted scorer
 * transactions never count) into the store. Each batch goes into the store in one SQLite
 * transaction with the offset it ends at; on every assignment the consumer seeks to the
 * offsets the store holds, so after a crash it resumes exactly where the store stopped.
 * Kafka's own committed offsets are written too, but only for lag dashboards: they are never
 * read back.
 *
 * One instance reads every partition: a decision (keyed by card) and its outcome (keyed by
 * terminal) land on unrelated partitions, so the join needs both sides in one store.
 */
import type { Kafka, KafkaMessage } from 'kafkajs';
import type { Codecs, Decision, TransactionOutcome } from '../../common/src/contracts.js';
import type { RegistryResolver } from '../../common/src/registry-resolver.js';
import type { Logger } from '../../scorer/src/telemetry/log.js';
import type { Store } from './store.js';

export interface FeedStats {
  decisions: number;
  shadowDecisions: number;
  outcomes: number;
  unreadable: number;
}

export interface Feed {
  readonly stats: FeedStats;
  stop(): Promise<void>;
}

export async function startFeed(opts: {
  kafka: Kafka;
  groupId: string;
  topics: { decisions: string; shadowDecisions: string; outcomes: string };
  codecs: Codecs;
  /** With a schema registry: fetches the writer schemas of a batch that are not cached (registry-resolver.ts). */
  prepare?: RegistryResolver['prepare'];
  store: Store;
  log: Logger;
  /** After every stored batch (the service recomputes windows on its own clock). */
  onStored?(): void;
}): Promise<Feed> {
  const { store, codecs, log, topics } = opts;
  const stats: FeedStats = { decisions: 0, shadowDecisions: 0, outcomes: 0, unreadable: 0 };
  const consumer = opts.kafka.consumer({ groupId: opts.groupId, readUncommitted: false, maxWaitTimeInMs: 500, maxBytes: 20 * 1024 * 1024 });
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    const stored = store.offsets();
    for (const [topic, partitions] of Object.entries(payload.memberAssignment)) {
      for (const partition of partitions) {
        // The store decides where to resume, never the group's committed offsets: an empty
        // (new or deleted) store starts from the earliest record still on the topic (an offset
        // below it resets to the earliest, as fromBeginning says).
        const next = stored.get(`${topic}/${partition}`) ?? 0n;
        consumer.seek({ topic, partition, offset: next.toString() });
      }
    }
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [topics.decisions, topics.shadowDecisions, topics.outcomes], fromBeginning: true });

  const decode = <T>(m: KafkaMessage, codec: { decode(b: Buffer): T }, topic: string, partition: number): T | undefined => {
    try {
      return codec.decode(m.value ?? Buffer.alloc(0));
    } catch (err) {
      stats.unreadable++;
      log.warn({ topic, partition, offset: m.offset, err: (err as Error).message }, 'skipping an unreadable record');
      return undefined;
    }
  };

  await consumer.run({
    autoCommit: true,
    eachBatchAutoResolve: true,
    eachBatch: async ({ batch, heartbeat }) => {
      if (batch.messages.length === 0) return;
      const fetching = opts.prepare?.(batch.messages, (m) => m.value);
      if (fetching) await fetching;
      const decisions: Decision[] = [];
      const labels: TransactionOutcome[] = [];
      for (const m of batch.messages) {
        if (batch.topic === topics.outcomes) {
          const o = decode(m, codecs.outcome, batch.topic, batch.partition);
          if (o) labels.push(o);
        } else {
          const d = decode(m, codecs.decision, batch.topic, batch.partition);
          if (d) decisions.push(d);
        }
      }
      const next = BigInt(batch.messages[batch.messages.length - 1]!.offset) + 1n;
      store.write({ decisions, labels, offsets: [{ topic: batch.topic, partition: batch.partition, next }] });
      if (batch.topic === topics.outcomes) stats.outcomes += labels.length;
      else if (batch.topic === topics.shadowDecisions) stats.shadowDecisions += decisions.length;
      else stats.decisions += decisions.length;
      opts.onStored?.();
      await heartbeat();
    },
  });
  return { stats, stop: () => consumer.disconnect() };
}
