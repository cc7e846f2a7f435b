/**
 * The latency floor under the scorer: bare kafkajs on the bench broker, no decode, no
 * scoring, no telemetry. A producer sends 150-byte records at a steady rate to 4 partitions;
 * a consumer (eachBatch, like the scorer) measures record CreateTime → batch received, then
 * also produces the batch (acks=all), then also commits the next offset, in three runs side by
 * side. Whatever p99 these show, the scorer cannot beat on this machine.
 *
 *   npm run bench:floor -- [rate=2500] [seconds=10]
 */
import { Partitioners } from 'kafkajs';
import { createKafka } from '../../services/common/src/kafka.js';
import { acquireBroker } from './lib/infra.js';
import { percentileSorted, sortedCopy } from './lib/stats.js';

type Step = 'receive' | 'receive + produce' | 'receive + produce + commit';
const STEPS: Step[] = ['receive', 'receive + produce', 'receive + produce + commit'];

async function measure(brokers: string[], step: Step, rate: number, seconds: number): Promise<{ latencies: number[]; sent: number }> {
  const kafka = createKafka({ brokers, clientId: 'bench-floor' });
  const id = Math.random().toString(36).slice(2, 8);
  const input = `floor-in-${id}`;
  const output = `floor-out-${id}`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: input, numPartitions: 4 }, { topic: output, numPartitions: 4 }], waitForLeaders: true });
  const producerOptions = { createPartitioner: Partitioners.DefaultPartitioner, idempotent: true, maxInFlightRequests: 1 };
  const source = kafka.producer(producerOptions);
  const sink = kafka.producer(producerOptions);
  const consumer = kafka.consumer({ groupId: `floor-${id}` });
  const latencies: number[] = [];
  try {
    await Promise.all([source.connect(), sink.connect(), consumer.connect()]);
    await consumer.subscribe({ topic: input, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 4,
      eachBatch: async ({ batch, resolveOffset }) => {
        if (step !== 'receive') await sink.sendBatch({ topicMessages: [{ topic: output, messages: batch.messages.map((m) => ({ key: m.key, value: m.value })) }], acks: -1 });
        const last = batch.messages.at(-1)!.offset;
        if (step === 'receive + produce + commit') await consumer.commitOffsets([{ topic: input, partition: batch.partition, offset: (BigInt(last) + 1n).toString() }]);
        const now = Date.now();
        for (const m of batch.messages) latencies.push(now - Number(m.timestamp));
        resolveOffset(last);
      },
    });
    await new Promise((r) => setTimeout(r, 3_000)); // joined, fetching
    const value = Buffer.alloc(150);
    const started = Date.now();
    let sent = 0;
    while (Date.now() - started < seconds * 1000) {
      const due = Math.floor(((Date.now() - started) / 1000) * rate) - sent;
      if (due <= 0) {
        await new Promise((r) => setTimeout(r, 1));
        continue;
      }
      await source.sendBatch({ topicMessages: [{ topic: input, messages: Array.from({ length: due }, (_, i) => ({ key: String((sent + i) % 1000), value })) }], acks: -1 });
      sent += due;
    }
    const deadline = Date.now() + 30_000;
    while (latencies.length < sent && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    return { latencies, sent };
  } finally {
    await consumer.disconnect().catch(() => {});
    await Promise.all([source.disconnect(), sink.disconnect()]).catch(() => {});
    await admin.deleteTopics({ topics: [input, output] }).catch(() => {});
    await admin.disconnect();
  }
}

async function main(): Promise<void> {
  const rate = Number(process.argv[2] ?? 2500);
  const seconds = Number(process.argv[3] ?? 10);
  if (!(rate > 0) || !(seconds > 0)) throw new Error('usage: kafka-floor.ts [rate>0] [seconds>0]');
  const broker = acquireBroker();
  try {
    console.log(`kafka floor: ${rate} records/s for ${seconds} s per run, 4 partitions, ${broker.description}`);
    for (const step of STEPS) {
      const { latencies, sent } = await measure(broker.brokers, step, rate, seconds);
      const l = sortedCopy(latencies);
      const p = (q: number) => percentileSorted(l, q).toFixed(0).padStart(5);
      console.log(`${step.padEnd(28)} received ${l.length} of ${sent}  p50 ${p(0.5)}  p90 ${p(0.9)}  p99 ${p(0.99)}  p99.9 ${p(0.999)} ms`);
    }
  } finally {
    broker.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:floor: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
