/**
 * Baseline `kjs-raw`: bare kafkajs consume → produce pass-through. No decode, no headers, no
 * metrics, no tracing: each input record's key and value are copied as they are to the same
 * partition of the output topic (the run's decisions topic, so the harness reads it back and
 * times it like every other mode). eachBatch over 4 partitions at once, sendBatch with
 * acks=-1 (idempotent producer, like the scorer's at-least-once), and the next offset of what
 * was acknowledged committed every FRAUD_COMMIT_INTERVAL_MS (default 1 s) and when a partition
 * has caught up (so a drain ends committed).
 *
 *   node --import tsx test/bench/baselines/kafkajs-raw.ts      (environment: FRAUD_KAFKA_BROKERS,
 *     FRAUD_GROUP_ID, FRAUD_TOPIC_TRANSACTIONS, FRAUD_TOPIC_DECISIONS, FRAUD_ADMIN_PORT, …)
 */
import { Kafka, logLevel, type Message } from 'kafkajs';
import { baselineConfig, log, runMain, startAdmin, stopOnSignals } from './common.js';

const NAME = 'kjs-raw';

async function main(): Promise<void> {
  const c = baselineConfig(process.env, NAME);
  const kafka = new Kafka({ clientId: c.clientId, brokers: c.brokers, logLevel: logLevel.WARN });
  const consumer = kafka.consumer({ groupId: c.groupId });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  let assigned = false;
  let events = 0;
  const admin = await startAdmin(c.adminHost, c.adminPort, () => assigned);
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    assigned = Object.values(payload.memberAssignment).some((ps) => ps.length > 0);
    log(NAME, 'joined', { assignment: payload.memberAssignment });
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (payload.restart) return;
    log(NAME, 'consumer crashed', { error: payload.error.message });
    process.exit(1);
  });
  await Promise.all([consumer.connect(), producer.connect()]);
  await consumer.subscribe({ topic: c.input, fromBeginning: c.fromBeginning });
  const lastCommit = new Map<number, number>();
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: 4,
    eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
      if (batch.messages.length === 0) return;
      const messages: Message[] = batch.messages.map((m) => ({ key: m.key, value: m.value, partition: batch.partition }));
      await producer.sendBatch({ topicMessages: [{ topic: c.output, messages }], acks: -1 });
      const last = batch.lastOffset();
      resolveOffset(last);
      events += messages.length;
      const now = Date.now();
      if (batch.offsetLag() === '0' || now - (lastCommit.get(batch.partition) ?? 0) >= c.commitIntervalMs) {
        await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(last) + 1n).toString() }]);
        lastCommit.set(batch.partition, now);
      }
      await heartbeat();
    },
  });
  log(NAME, 'running', { group: c.groupId, input: c.input, output: c.output });

  stopOnSignals(async (signal) => {
    log(NAME, 'stopping', { signal, events });
    await consumer.disconnect().catch(() => {});
    await producer.disconnect().catch(() => {});
    admin.close();
  });
}

runMain(NAME, main);
