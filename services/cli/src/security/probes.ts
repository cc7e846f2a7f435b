/**
 * Attempts that a secured broker must refuse, each with the broker error that proves it was the
 * broker's authorizer (not a network hiccup) that said no. The secure tests assert every one;
 * `demo --secure` runs them and counts the refusals it saw. Each probe is what an attacker
 * holding one principal's password would try first: forge a decision or a model deployment,
 * read card data it has no business reading, or ride another service's consumer group.
 */
import { randomUUID } from 'node:crypto';
import kafkajs, { type Kafka, type logCreator } from 'kafkajs';
import { createKafka } from '../../../common/src/kafka.js';
import type { KafkaSecurity } from '../../../common/src/kafka-security.js';
import type { TopicPlan } from '../../../scorer/src/source/topics.js';
import { DEFAULT_ACL_PLAN, type Principal } from './acls.js';

export interface Probe {
  principal: Principal;
  /** What is tried, in words. */
  attempt: string;
  /** The broker's error type (kafkajs's `type`) that counts as refused. */
  expect: 'TOPIC_AUTHORIZATION_FAILED' | 'GROUP_AUTHORIZATION_FAILED' | 'CLUSTER_AUTHORIZATION_FAILED' | 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED';
  run(kafka: Kafka): Promise<void>;
}

export interface ProbeResult {
  probe: Probe;
  /** The broker error type seen, or 'ALLOWED' when the attempt succeeded. */
  outcome: string;
  refused: boolean;
}

async function produce(kafka: Kafka, topic: string): Promise<void> {
  const producer = kafka.producer({ allowAutoTopicCreation: false, retry: { retries: 0 } });
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages: [{ key: 'probe', value: 'probe' }] });
  } finally {
    await producer.disconnect();
  }
}

/**
 * Joins `groupId` on `topic` and waits for the first fetch or the crash. A group the principal
 * may not use fails at FindCoordinator, whose broker error kafkajs logs and then replaces with
 * "Failed to find group coordinator"; probeClient() keeps that logged error, and it is thrown.
 */
async function consume(kafka: Kafka, topic: string, groupId: string): Promise<void> {
  const consumer = kafka.consumer({ groupId, retry: { retries: 0, restartOnFailure: async () => false } });
  await consumer.connect();
  try {
    const crashed = new Promise<never>((_, reject) => consumer.on(consumer.events.CRASH, (e) => reject(e.payload.error)));
    const fetched = new Promise<void>((resolve) => consumer.on(consumer.events.FETCH_START, () => resolve()));
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({ eachMessage: async () => {} });
    await Promise.race([crashed, fetched, new Promise<void>((_, reject) => setTimeout(() => reject(new Error('no answer in 20 s')), 20_000))]);
  } finally {
    await consumer.disconnect();
  }
}

/** Starts a transaction under `transactionalId` (InitProducerId is where the broker checks it). */
async function transact(kafka: Kafka, transactionalId: string): Promise<void> {
  // kafkajs refuses an idempotent producer without retries; one retry, then the broker's answer.
  const producer = kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1, retry: { retries: 1 } });
  try {
    await producer.connect();
    const txn = await producer.transaction();
    await txn.abort();
  } finally {
    await producer.disconnect();
  }
}

async function createTopic(kafka: Kafka, topic: string): Promise<void> {
  const admin = kafka.admin({ retry: { retries: 0 } });
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
  } finally {
    await admin.disconnect();
  }
}

/** The probes for a topic plan and the scorer's and monitor's groups. */
export function aclProbes(t: TopicPlan, groups: { scorer: string; monitor: string }): Probe[] {
  const p = (principal: Principal, attempt: string, expect: Probe['expect'], run: Probe['run']): Probe => ({ principal, attempt, expect, run });
  return [
    p('scorer', `write a transaction to ${t.transactions}`, 'TOPIC_AUTHORIZATION_FAILED', (k) => produce(k, t.transactions)),
    p('scorer', `deploy a model (write ${t.deployments})`, 'TOPIC_AUTHORIZATION_FAILED', (k) => produce(k, t.deployments)),
    p('scorer', `read ${t.outcomes} in the monitor's group ${groups.monitor}`, 'GROUP_AUTHORIZATION_FAILED', (k) => consume(k, t.outcomes, groups.monitor)),
    p('scorer', 'create a topic', 'TOPIC_AUTHORIZATION_FAILED', (k) => createTopic(k, `probe-${randomUUID().slice(0, 8)}`)),
    p('publisher', `forge a decision (write ${t.decisions})`, 'TOPIC_AUTHORIZATION_FAILED', (k) => produce(k, t.decisions)),
    p('publisher', `read ${t.transactions} (it may join no consumer group at all)`, 'GROUP_AUTHORIZATION_FAILED', (k) => consume(k, t.transactions, `probe-${randomUUID().slice(0, 8)}`)),
    p('gateway', `read ${t.decisions}`, 'TOPIC_AUTHORIZATION_FAILED', (k) => consume(k, t.decisions, `fraudscore-gateway-probe-${randomUUID().slice(0, 8)}`)),
    p('gateway', `pose as a scorer instance (transactional id ${groups.scorer}.impostor)`, 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED', (k) => transact(k, `${groups.scorer}.impostor`)),
    p('gateway', `write a flag to ${t.flags}`, 'TOPIC_AUTHORIZATION_FAILED', (k) => produce(k, t.flags)),
    p('monitor', `forge a decision (write ${t.decisions})`, 'TOPIC_AUTHORIZATION_FAILED', (k) => produce(k, t.decisions)),
    p('monitor', `read the card-state changelog ${t.cardState}`, 'TOPIC_AUTHORIZATION_FAILED', (k) => consume(k, t.cardState, groups.monitor)),
    p('monitor', `read ${t.decisions} in the scorer's group ${groups.scorer}`, 'GROUP_AUTHORIZATION_FAILED', (k) => consume(k, t.decisions, groups.scorer)),
    p('trainer', `forge a decision (write ${t.decisions})`, 'TOPIC_AUTHORIZATION_FAILED', (k) => produce(k, t.decisions)),
    // In a replay group of its own: the topic, not the group, is what the broker refuses.
    p('trainer', `read the card-state changelog ${t.cardState}`, 'TOPIC_AUTHORIZATION_FAILED', (k) => consume(k, t.cardState, `${DEFAULT_ACL_PLAN.trainerReplayGroupPrefixes[0]}probe-${randomUUID().slice(0, 8)}`)),
  ];
}

/** A kafkajs client for probes: no retries, and the broker errors it logged along the way. */
export interface ProbeClient {
  kafka: Kafka;
  loggedErrors: string[];
}

export function probeClient(brokers: string[], security: KafkaSecurity, clientId: string): ProbeClient {
  const loggedErrors: string[] = [];
  const capture: logCreator = () => (entry) => {
    const type = (entry.log as { error?: { type?: string } }).error?.type;
    if (type) loggedErrors.push(type);
  };
  const kafka = createKafka({ brokers, clientId, security, retries: 0, logLevel: kafkajs.logLevel.DEBUG, logCreator: capture });
  return { kafka, loggedErrors };
}

/** Runs one probe with a client of its principal; never throws. */
export async function runProbe(probe: Probe, clientFor: (principal: Principal) => ProbeClient): Promise<ProbeResult> {
  const client = clientFor(probe.principal);
  try {
    await probe.run(client.kafka);
    return { probe, outcome: 'ALLOWED', refused: false };
  } catch (err) {
    const type = errorType(err, client.loggedErrors);
    return { probe, outcome: type, refused: type === probe.expect };
  }
}

type ErrorLike = { type?: string; cause?: unknown; originalError?: unknown; errors?: unknown[]; message?: string };

/**
 * kafkajs wraps the broker's error (retries, crashes, one error per topic on create): the
 * innermost protocol error's type, else an authorization error it logged before giving up.
 */
export function errorType(err: unknown, logged: readonly string[] = []): string {
  let e = err as ErrorLike | undefined;
  for (let depth = 0; e && depth < 5; depth++) {
    if (e.type && e.type !== 'UNKNOWN') return e.type;
    e = (e.originalError ?? e.cause ?? e.errors?.[0]) as ErrorLike | undefined;
  }
  return logged.find((t) => t.endsWith('_AUTHORIZATION_FAILED')) ?? (err as Error)?.message ?? String(err);
}
