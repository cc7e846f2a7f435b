/**
 * Topic checks and creation. The scorer never creates topics (partition counts and compaction
 * are an operator's choice); it refuses to start when one is missing, naming it.
 */
import type { Kafka, ITopicConfig } from 'kafkajs';
import { retryTransient } from '../../../common/src/kafka.js';

export async function assertTopicsExist(kafka: Kafka, topics: readonly string[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t));
    if (missing.length) throw new Error(`topic(s) missing: ${missing.join(', ')} (create them with \`fraudscore topics\`)`);
  } finally {
    await admin.disconnect();
  }
}

export interface TopicPlan {
  transactions: string;
  outcomes: string;
  decisions: string;
  flags: string;
  dlq: string;
  cardState: string;
  /** The shadow model's decisions (never flags). */
  shadowDecisions: string;
  /** Deployment specs: one partition, compacted on one key; offset = revision. */
  deployments: string;
  /** What each scorer instance serves: compacted, key = instance id. */
  deploymentStatus: string;
  /** Decisions for synchronous callers (the REST gateway): each gateway instance owns partitions. */
  replies: string;
}

/** The FRAUD_TOPIC_* variables that point a scorer (services/scorer/src/config.ts) at a plan's topics. */
export function topicEnvironment(plan: TopicPlan): Record<string, string> {
  return {
    FRAUD_TOPIC_TRANSACTIONS: plan.transactions,
    FRAUD_TOPIC_OUTCOMES: plan.outcomes,
    FRAUD_TOPIC_DECISIONS: plan.decisions,
    FRAUD_TOPIC_FLAGS: plan.flags,
    FRAUD_TOPIC_DLQ: plan.dlq,
    FRAUD_TOPIC_CARD_STATE: plan.cardState,
    FRAUD_TOPIC_SHADOW_DECISIONS: plan.shadowDecisions,
    FRAUD_TOPIC_DEPLOYMENTS: plan.deployments,
    FRAUD_TOPIC_DEPLOYMENT_STATUS: plan.deploymentStatus,
    FRAUD_TOPIC_REPLIES: plan.replies,
  };
}

/** Partitions of the replies topic: at most that many gateway instances, each owning some. */
export const REPLY_PARTITIONS = 8;

/** Days `transactions` keeps: the scheduled retrain's 42-day replay plus its 37 days of warm-up, and a margin. */
export const TRANSACTIONS_RETENTION_DAYS = 90;

/** Every topic the system uses, with partitions and configs; the card-state changelog is compacted and co-partitioned with the input. */
export function topicSpecs(names: TopicPlan, partitions: number): ITopicConfig[] {
  const keep = (days: number) => ({ name: 'retention.ms', value: String(days * 86_400_000) });
  return [
    // 90 days: `fraudscore retrain --from-kafka --since 42d` (the weekly CronJob) replays 42
    // days plus the 37 before them that warm the feature windows (history/replay.ts).
    { topic: names.transactions, numPartitions: partitions, configEntries: [keep(TRANSACTIONS_RETENTION_DAYS)] },
    { topic: names.outcomes, numPartitions: 1, configEntries: [{ name: 'retention.ms', value: '-1' }] },
    { topic: names.decisions, numPartitions: partitions, configEntries: [keep(30)] },
    { topic: names.flags, numPartitions: partitions, configEntries: [keep(30)] },
    { topic: names.dlq, numPartitions: 1, configEntries: [keep(30)] },
    { topic: names.cardState, numPartitions: partitions, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
    { topic: names.shadowDecisions, numPartitions: partitions, configEntries: [keep(30)] },
    // One key, compacted: the spec in force is never deleted, and the history (what rollback
    // walks back through) is kept at least a year before compaction may drop older specs.
    { topic: names.deployments, numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }, { name: 'min.compaction.lag.ms', value: String(365 * 86_400_000) }] },
    { topic: names.deploymentStatus, numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
    // A reply matters while its request waits or is retried: an hour. REPLY_PARTITIONS whatever
    // the input's count: gateway instances, not scorers, divide them.
    { topic: names.replies, numPartitions: REPLY_PARTITIONS, configEntries: [keep(1 / 24)] },
  ];
}

/** A topic's partition count, or undefined when it does not exist. */
export async function partitionCount(kafka: Kafka, topic: string): Promise<number | undefined> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    if (!(await admin.listTopics()).includes(topic)) return undefined;
    const { topics } = await retryTransient(() => admin.fetchTopicMetadata({ topics: [topic] }));
    return topics[0]?.partitions.length;
  } finally {
    await admin.disconnect();
  }
}

/** Creates whatever is missing; existing topics are left as they are. Returns the created names. */
export async function ensureTopics(kafka: Kafka, specs: ITopicConfig[]): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const todo = specs.filter((s) => !existing.has(s.topic));
    // On a broker started moments ago, waiting for the new topics' leaders can fail with
    // UNKNOWN_TOPIC_OR_PARTITION, which kafkajs does not retry there; creating again is safe
    // (existing topics are skipped).
    if (todo.length) await retryTransient(() => admin.createTopics({ topics: todo, waitForLeaders: true }), 8, 500);
    return todo.map((s) => s.topic);
  } finally {
    await admin.disconnect();
  }
}
