/**
 * Baseline `rdk-pipe`: bare librdkafka (`@confluentinc/kafka-javascript`, its native
 * node-rdkafka-style API, not the KafkaJS-compatible one) consume → produce pass-through. No
 * decode, no headers, no metrics, no tracing: each input record's key and value are copied as
 * they are to the same partition of the output topic (the run's decisions topic, so the harness
 * reads it back and times it like every other mode).
 *
 * - consumer: `consume(n, cb)` in a loop, returning as soon as messages are ready
 *   (setDefaultIsTimeoutOnlyForFirstMessage), no auto commit;
 * - producer: acks=all, idempotent, `produce(topic, partition, value, key)`, delivery reports
 *   (dr_cb) polled on librdkafka's background thread, matched to inputs per partition in order;
 * - commits: the next offset after each partition's last *delivered* input, every
 *   FRAUD_COMMIT_INTERVAL_MS (default 1 s) and when caught up (so a drain ends committed).
 *
 *   node --import tsx test/bench/baselines/librdkafka-pipe.ts   (environment: FRAUD_KAFKA_BROKERS,
 *     FRAUD_GROUP_ID, FRAUD_TOPIC_TRANSACTIONS, FRAUD_TOPIC_DECISIONS, FRAUD_ADMIN_PORT, …)
 */
import { createRequire } from 'node:module';
import type * as RdKafka from '@confluentinc/kafka-javascript';
import { baselineConfig, log, runMain, startAdmin, stopOnSignals } from './common.js';

const NAME = 'rdk-pipe';
const require = createRequire(import.meta.url);
const Kafka = require('@confluentinc/kafka-javascript') as typeof RdKafka;

/** Messages per consume() call. */
const CONSUME_BATCH = 5000;
/** Produced but not yet delivered: consuming pauses above this (bounded memory). */
const MAX_IN_FLIGHT = 100_000;
const ERR_ASSIGN_PARTITIONS = -175;

/**
 * Input offsets produced to one partition and not yet delivered, in order. Outputs go to the
 * input's partition number and the idempotent producer delivers a partition's records in
 * order, so the k-th delivery report of a partition is its k-th produced record: no per-record
 * opaque (which the addon keeps as a persistent handle until the report) is needed.
 */
class OffsetFifo {
  private buf = new Float64Array(4096);
  private head = 0;
  private size = 0;
  push(offset: number): void {
    if (this.size === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      for (let i = 0; i < this.size; i++) next[i] = this.buf[(this.head + i) % this.buf.length]!;
      this.buf = next;
      this.head = 0;
    }
    this.buf[(this.head + this.size) % this.buf.length] = offset;
    this.size++;
  }
  shift(): number {
    const v = this.buf[this.head]!;
    this.head = (this.head + 1) % this.buf.length;
    this.size--;
    return v;
  }
}

/** The private-but-supported switch that makes consume(n) return as soon as one message is ready. */
interface ConsumerPrivate {
  setDefaultIsTimeoutOnlyForFirstMessage(on: boolean): void;
}

async function main(): Promise<void> {
  const c = baselineConfig(process.env, NAME);
  const brokers = c.brokers.join(',');
  const consumer = new Kafka.KafkaConsumer(
    {
      'metadata.broker.list': brokers,
      'client.id': c.clientId,
      'group.id': c.groupId,
      'enable.auto.commit': false,
      'enable.partition.eof': false,
      rebalance_cb: true,
    },
    { 'auto.offset.reset': c.fromBeginning ? 'earliest' : 'latest' },
  );
  const producer = new Kafka.Producer({
    'metadata.broker.list': brokers,
    'client.id': c.clientId,
    'enable.idempotence': true,
    acks: -1,
    dr_cb: true,
    'queue.buffering.max.messages': 1_000_000,
  });
  (consumer as unknown as ConsumerPrivate).setDefaultIsTimeoutOnlyForFirstMessage(true);
  consumer.setDefaultConsumeTimeout(100);

  let assigned = false;
  let produced = 0;
  let delivered = 0;
  let idle = false;
  let failed: string | null = null;
  /** Per partition: next offset after the last delivered input, and what was committed. */
  const next = new Map<number, number>();
  const committed = new Map<number, number>();
  const pending: OffsetFifo[] = [];
  let lastCommitAt = Date.now();

  const admin = await startAdmin(c.adminHost, c.adminPort, () => assigned && failed === null);
  const connect = (client: RdKafka.Producer | RdKafka.KafkaConsumer) =>
    new Promise<void>((resolve, reject) => client.connect({}, (err) => (err ? reject(new Error(err.message)) : resolve())));
  consumer.on('rebalance', (err, assignment) => {
    if (err.code === ERR_ASSIGN_PARTITIONS) assigned = assignment.length > 0;
    log(NAME, 'rebalance', { code: err.code, partitions: assignment.map((a) => a.partition) });
  });
  consumer.on('event.error', (err) => log(NAME, 'consumer error', { error: err.message }));
  producer.on('event.error', (err) => log(NAME, 'producer error', { error: err.message }));

  let waiting = false;
  producer.on('delivery-report', (err, report) => {
    if (err) {
      failed = `delivery failed: ${err.message}`;
      log(NAME, failed);
      process.exit(1);
    }
    delivered++;
    next.set(report.partition, pending[report.partition]!.shift() + 1);
    if (waiting && produced - delivered < MAX_IN_FLIGHT / 2) {
      waiting = false;
      setImmediate(loop);
    }
  });
  await Promise.all([connect(consumer), connect(producer)]);
  producer.setPollInBackground(true);
  consumer.subscribe([c.input]);

  let stopping = false;
  let consuming = false;
  const loop = (): void => {
    if (stopping) return;
    if (produced - delivered >= MAX_IN_FLIGHT) {
      waiting = true;
      return;
    }
    consuming = true;
    consumer.consume(CONSUME_BATCH, (err, messages) => {
      consuming = false;
      if (err) {
        log(NAME, 'consume error', { error: err.message });
        setTimeout(loop, 100);
        return;
      }
      idle = messages.length === 0;
      for (const m of messages) {
        (pending[m.partition] ??= new OffsetFifo()).push(m.offset);
        producer.produce(c.output, m.partition, m.value, m.key);
      }
      produced += messages.length;
      setImmediate(loop);
    });
  };
  loop();

  const commit = (force: boolean): void => {
    const due = force || (idle && produced === delivered) || Date.now() - lastCommitAt >= c.commitIntervalMs;
    if (!due) return;
    const offsets: RdKafka.TopicPartitionOffset[] = [];
    for (const [partition, offset] of next) if (committed.get(partition) !== offset) offsets.push({ topic: c.input, partition, offset });
    if (offsets.length === 0) return;
    consumer.commit(offsets);
    for (const o of offsets) committed.set(o.partition, o.offset);
    lastCommitAt = Date.now();
  };
  const commitTimer = setInterval(() => commit(false), 50);
  log(NAME, 'running', { group: c.groupId, input: c.input, output: c.output, librdkafka: Kafka.librdkafkaVersion });

  stopOnSignals(async (signal) => {
    stopping = true; // the consume loop stops taking batches
    log(NAME, 'stopping', { signal, produced, delivered });
    clearInterval(commitTimer);
    while (consuming) await new Promise((r) => setTimeout(r, 10));
    await new Promise<void>((resolve) => producer.flush(10_000, () => resolve()));
    try {
      commit(true);
    } catch {
      // leaving anyway
    }
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
    await new Promise<void>((resolve) => producer.disconnect(() => resolve()));
    admin.close();
  });
}

runMain(NAME, main);
