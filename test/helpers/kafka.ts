/**
 * Helpers for integration tests on the real broker: a fresh random topic set and group per
 * test, deleted afterwards, and a reader that collects a topic up to its end.
 */
import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import type { Kafka } from 'kafkajs';
import { createKafka } from '../../services/common/src/kafka.js';
import { ensureTopics, topicSpecs, type TopicPlan } from '../../services/scorer/src/source/topics.js';

export function testKafka(clientId = 'fraudscore-test'): Kafka {
  return createKafka({ brokers: inject('kafkaBrokers').split(','), clientId });
}

export function brokers(): string {
  return inject('kafkaBrokers');
}

export interface TestTopics extends TopicPlan {
  group: string;
}

export async function freshTopics(kafka: Kafka, partitions = 2): Promise<TestTopics> {
  const id = randomUUID().slice(0, 8);
  const plan: TestTopics = {
    transactions: `t-${id}-transactions`,
    outcomes: `t-${id}-outcomes`,
    decisions: `t-${id}-decisions`,
    flags: `t-${id}-flags`,
    dlq: `t-${id}-dlq`,
    cardState: `t-${id}-card-state`,
    shadowDecisions: `t-${id}-shadow-decisions`,
    deployments: `t-${id}-deployments`,
    deploymentStatus: `t-${id}-deployment-status`,
    replies: `t-${id}-replies`,
    group: `g-${id}`,
  };
  await ensureTopics(kafka, topicSpecs(plan, partitions));
  return plan;
}

export async function deleteTopics(kafka: Kafka, plan: TopicPlan): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics: Object.values(plan).filter((v) => typeof v === 'string' && v.startsWith('t-')) });
  } finally {
    await admin.disconnect();
  }
}

export interface ReadRecord {
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

/** Reads a topic from the beginning until `count` records arrived or the timeout passes. */
/** Reads a topic from the beginning until `count` records (or `until` says so) or the timeout. */
export async function readTopic(kafka: Kafka, topic: string, count: number | ((read: readonly ReadRecord[]) => boolean), timeoutMs = 60_000, readUncommitted = false): Promise<ReadRecord[]> {
  const enough = typeof count === 'number' ? (read: readonly ReadRecord[]) => read.length >= count : count;
  const out: ReadRecord[] = [];
  const consumer = kafka.consumer({ groupId: `reader-${randomUUID()}`, readUncommitted });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let done: () => void = () => {};
  const finished = new Promise<void>((r) => (done = r));
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
      out.push({ partition, offset: message.offset, key: message.key, value: message.value, headers });
      if (enough(out)) done();
    },
  });
  await Promise.race([finished, new Promise((r) => setTimeout(r, timeoutMs))]);
  await consumer.disconnect();
  return out;
}
