/**
 * The scoring session (source/scoring-session.ts) on kafkajs: the consumer, the delivery of
 * the configured mode, the commit schedule, and what a rebalance and a stop must do to keep
 * outputs, card state and committed positions in step.
 */
import { Partitioners } from 'kafkajs';
import { createChunkScoring } from '../../source/chunk-scoring.js';
import { createCommitSchedule } from '../../source/commit-schedule.js';
import type { ScoringSession, ScoringSessionOptions } from '../../source/scoring-session.js';
import { atLeastOnceDelivery, exactlyOnceDelivery, type Delivery } from './delivery.js';
import { runScoringLoop } from './loop.js';

/**
 * A transaction that starts right after the previous commit often finds the broker still
 * writing that commit's markers: AddPartitionsToTxn answers CONCURRENT_TRANSACTIONS for a few
 * milliseconds. kafkajs retries it on the client's schedule (first retry after ~100 ms),
 * which stalls the partition, and every event behind it, for 100 ms: measured as the
 * exactly-once p99. Retry quickly instead (as the Java client does, 20 ms), with more
 * attempts so a broker outage is still ridden out for as long as before (~25 s).
 */
const TRANSACTIONAL_RETRY = { initialRetryTime: 10, maxRetryTime: 5_000, retries: 12 };

export async function startKafkajsSession(o: ScoringSessionOptions): Promise<ScoringSession> {
  const { kafka, config, log } = o;
  const t = config.topics;
  const consumer = kafka.consumer({
    groupId: config.groupId,
    readUncommitted: false,
    sessionTimeout: config.sessionTimeoutMs,
    heartbeatInterval: Math.min(3_000, Math.floor(config.sessionTimeoutMs / 3)),
  });
  await consumer.connect();
  const exactlyOnce = config.delivery === 'exactly-once';
  const producerOptions = { idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner };
  let delivery: Delivery;
  if (exactlyOnce) {
    delivery = exactlyOnceDelivery({
      groupId: config.groupId,
      topic: t.transactions,
      crash: o.crash,
      producerFor: (transactionalId) => kafka.producer({ ...producerOptions, transactionalId, transactionTimeout: config.transactionTimeoutMs, retry: TRANSACTIONAL_RETRY }),
    });
  } else {
    const producer = kafka.producer(producerOptions);
    await producer.connect();
    delivery = atLeastOnceDelivery(producer, consumer, o.crash);
  }
  const commits = createCommitSchedule({ intervalMs: config.commitIntervalMs, commitWhenCaughtUp: exactlyOnce });

  consumer.on(consumer.events.CRASH, ({ payload }) => {
    // kafkajs may restart the consumer itself for retriable errors; only a final crash counts.
    if (!payload.restart) o.onFatal('consumer crashed', payload.error);
  });
  let joins = 0;
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    const mine = (payload.memberAssignment[t.transactions] ?? []) as number[];
    // No batch runs during a join (kafkajs lets the last fetch's batches finish first).
    // Whatever was scored but not committed will be scored again from the committed offset.
    const uncommitted = commits.drop();
    const reload = uncommitted.filter((p) => mine.includes(p));
    o.onAssigned?.(mine, reload);
    const join = ++joins;
    delivery.assign(mine, uncommitted).then(
      () => join === joins && o.onProducersReady?.(),
      (err: Error) => o.onFatal('cannot prepare the producers for the new assignment', err),
    );
    log.info({ partitions: mine, reloaded: reload }, 'partitions assigned');
  });

  const loop = await runScoringLoop({
    consumer,
    topic: t.transactions,
    fromBeginning: config.fromBeginning,
    maxBatch: config.maxBatch,
    concurrentPartitions: config.concurrentPartitions,
    commits,
    chunks: createChunkScoring({ pipeline: o.pipeline, topics: { decisions: t.decisions, flags: t.flags, dlq: t.dlq, shadowDecisions: t.shadowDecisions, replies: o.replies }, codecs: o.codecs, tracer: o.tracer, metrics: o.metrics }),
    delivery,
    crash: o.crash,
    beforeBatch: o.beforeBatch,
    stateUpdates: o.stateUpdates,
    onFatal: (err) => o.onFatal('a chunk failed after its features were computed', err),
  });

  return {
    stats: loop.stats,
    async stop() {
      // Commit while still a member (an at-least-once offset commit needs the generation).
      await loop.drain().catch((err: Error) => log.warn({ err: err.message }, 'final commit failed; the next owner re-scores from the last committed position'));
      await consumer.disconnect().catch(() => {});
      await delivery.close().catch(() => {});
    },
  };
}
