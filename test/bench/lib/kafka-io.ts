/**
 * The benchmark's Kafka side: topic sets, the preloaded backlog, drain progress (committed
 * offsets of the scorer's group), reading a run's outputs back, and a live latency monitor.
 */
import { randomUUID } from 'node:crypto';
import type { Admin, Kafka, KafkaMessage } from 'kafkajs';
import { fetchEndOffsets, retryTransient } from '../../../services/common/src/kafka.js';
import { HEADERS, parseSourceHeader } from '../../../services/scorer/src/sink/messages.js';
import { startTopicReader } from '../../../services/scorer/src/source/topic-reader.js';
import { ensureTopics, topicSpecs, type TopicPlan } from '../../../services/scorer/src/source/topics.js';
import { createSimulation, publishEvents, type PublishStats, type SimEvent } from '../../../services/simulator/src/index.js';
import { Samples } from './stats.js';

/** Topic names of one scorer run; the input and outcomes may be shared with other runs. */
export function runPlan(prefix: string, run: string, input: { transactions: string; outcomes: string }): TopicPlan {
  return {
    transactions: input.transactions,
    outcomes: input.outcomes,
    decisions: `${prefix}-${run}-decisions`,
    flags: `${prefix}-${run}-flags`,
    dlq: `${prefix}-${run}-dlq`,
    cardState: `${prefix}-${run}-card-state`,
    shadowDecisions: `${prefix}-${run}-shadow-decisions`,
    deployments: `${prefix}-${run}-deployments`,
    deploymentStatus: `${prefix}-${run}-deployment-status`,
    replies: `${prefix}-${run}-replies`,
  };
}

/** Creates the plan's topics that `own` names (the scorer's own specs: partitions, compaction). */
export async function createTopics(kafka: Kafka, plan: TopicPlan, partitions: number, own: (keyof TopicPlan)[]): Promise<string[]> {
  const names = new Set(own.map((k) => plan[k]));
  const created = await ensureTopics(kafka, topicSpecs(plan, partitions).filter((s) => names.has(s.topic)));
  await waitForLeaders(kafka, [...names]);
  return created;
}

/** Waits until every partition of the topics has a leader (right after creation, or while the broker deletes others). */
async function waitForLeaders(kafka: Kafka, topics: string[], timeoutMs = 30_000): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const ok = await admin
        .fetchTopicMetadata({ topics })
        .then((m) => m.topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0 && p.partitionErrorCode === 0)), () => false);
      if (ok) return;
      if (Date.now() > deadline) throw new Error(`topics without leaders after ${timeoutMs} ms: ${topics.join(', ')}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    await admin.disconnect();
  }
}

/** Retries a start-up step that can fail transiently on a busy broker (e.g. "does not host this topic-partition"). */
export async function retrying<T>(what: string, call: () => Promise<T>, attempts = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await call();
    } catch (err) {
      if (i >= attempts) throw new Error(`${what}: ${(err as Error).message} (after ${attempts} attempts)`);
      await new Promise((r) => setTimeout(r, 1000 * i));
    }
  }
}

export async function deleteTopics(kafka: Kafka, topics: string[], groups: string[] = []): Promise<void> {
  if (topics.length === 0 && groups.length === 0) return;
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const todo = topics.filter((t) => existing.has(t));
    if (todo.length) await retryTransient(() => admin.deleteTopics({ topics: todo, timeout: 30_000 }));
    if (groups.length) await admin.deleteGroups(groups).catch(() => undefined);
  } finally {
    await admin.disconnect();
  }
}

/** Transactions of the simulation (outcomes interleaved as the simulator orders them), up to nTx transactions. */
export function* simulationEvents(seed: number, customers: number, nTx: number, withOutcomes: boolean): Generator<SimEvent> {
  const sim = createSimulation({ seed, customers, terminals: customers * 2, days: 3650 });
  let tx = 0;
  for (const e of sim.events()) {
    if (e.kind === 'transaction') {
      if (tx >= nTx) return;
      tx++;
      yield e;
    } else if (withOutcomes) yield e;
  }
}

/** Publishes the backlog as fast as the publisher goes; progress through onProgress. */
export async function buildBacklog(
  kafka: Kafka,
  topics: { transactions: string; outcomes: string },
  opts: { seed: number; customers: number; transactions: number; onProgress: (s: PublishStats) => void },
): Promise<PublishStats> {
  return publishEvents(kafka, simulationEvents(opts.seed, opts.customers, opts.transactions, true), {
    topics,
    batchSize: 2000,
    onProgress: opts.onProgress,
    progressIntervalMs: 1000,
  });
}

export async function endOffsetSum(kafka: Kafka, topic: string): Promise<{ total: number; perPartition: Map<number, bigint> }> {
  const ends = await fetchEndOffsets(kafka, topic);
  let total = 0;
  const perPartition = new Map<number, bigint>();
  for (const [p, { low, high }] of ends) {
    total += Number(high - low);
    perPartition.set(p, high);
  }
  return { total, perPartition };
}

/** Sum of the group's committed offsets on a topic (-1 = none counts as 0). */
export async function committedSum(admin: Admin, groupId: string, topic: string): Promise<number> {
  const res = await admin.fetchOffsets({ groupId, topics: [topic] });
  let sum = 0;
  for (const t of res) for (const p of t.partitions) sum += Math.max(0, Number(p.offset));
  return sum;
}

/** One run's outputs as read back: decision timestamps and per-input dedup. */
export interface RunOutputs {
  decisions: number;
  deadLetters: number;
  duplicates: number;
  /** Outputs without source headers (the bare baselines): not deduplicated. */
  unattributed: number;
  /** Decision CreateTimes (epoch ms), in read order. */
  decisionTimes: Float64Array;
  /** Decision CreateTime − input CreateTime, ms. */
  latencies: Float64Array;
  firstDecision: number;
  lastDecision: number;
}

/** Reads the decisions and DLQ topics from the beginning to their current end (read committed). */
export async function readOutputs(kafka: Kafka, topics: { decisions: string; dlq: string }): Promise<RunOutputs> {
  const seen = new Set<number>();
  const times = new Samples();
  const lat = new Samples();
  let duplicates = 0;
  let deadLetters = 0;
  let unattributed = 0;
  let first = Infinity;
  let last = -Infinity;
  const handle = (dlq: boolean) => (_partition: number, messages: KafkaMessage[]) => {
    for (const m of messages) {
      const source = parseSourceHeader(m.headers?.[HEADERS.source]?.toString());
      if (source === undefined) {
        // The bare baselines copy records without headers: counted, not deduplicated, no latency.
        unattributed++;
        const t = Number(m.timestamp);
        if (dlq) deadLetters++;
        else times.push(t);
        if (t < first) first = t;
        if (t > last) last = t;
        continue;
      }
      const id = source.partition * 2 ** 40 + Number(source.offset);
      if (seen.has(id)) {
        duplicates++;
        continue;
      }
      seen.add(id);
      if (dlq) {
        deadLetters++;
        continue;
      }
      const t = Number(m.timestamp);
      times.push(t);
      lat.push(t - source.timestamp);
      if (t < first) first = t;
      if (t > last) last = t;
    }
  };
  await Promise.all(
    ([[topics.decisions, false], [topics.dlq, true]] as const).map(async ([topic, dlq]) => {
      const reader = await startTopicReader({ kafka, topic, groupPrefix: `bench-reader-${randomUUID().slice(0, 8)}`, onMessages: handle(dlq) });
      try {
        await reader.caughtUp;
      } finally {
        await reader.stop();
      }
    }),
  );
  return { decisions: times.length, deadLetters, duplicates, unattributed, decisionTimes: times.view(), latencies: lat.view(), firstDecision: first, lastDecision: last };
}

/** Follows decisions and DLQ as they become visible (read committed), for the latency runs. */
export interface LiveMonitor {
  /** Input CreateTime, decision CreateTime and arrival here (epoch ms) of each first output. */
  sourceTs: Samples;
  decisionTs: Samples;
  arrivalTs: Samples;
  accounted(): number;
  stop(): Promise<void>;
}

export async function startLiveMonitor(kafka: Kafka, topics: { decisions: string; dlq: string }): Promise<LiveMonitor> {
  const sourceTs = new Samples();
  const decisionTs = new Samples();
  const arrivalTs = new Samples();
  const seen = new Set<number>();
  const consumer = kafka.consumer({ groupId: `bench-monitor-${randomUUID()}`, readUncommitted: false, maxWaitTimeInMs: 50 });
  let joined: () => void = () => {};
  const hasJoined = new Promise<void>((r) => (joined = r));
  consumer.on(consumer.events.GROUP_JOIN, () => joined());
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topics.decisions, topics.dlq], fromBeginning: true });
  } catch (err) {
    await consumer.disconnect().catch(() => {});
    throw err;
  }
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      const now = Date.now();
      const dlq = batch.topic === topics.dlq;
      for (const m of batch.messages) {
        const source = parseSourceHeader(m.headers?.[HEADERS.source]?.toString());
        const id = (source?.partition ?? NaN) * 2 ** 40 + Number(source?.offset);
        if (seen.has(id)) continue;
        seen.add(id);
        if (dlq) continue;
        sourceTs.push(source?.timestamp ?? NaN);
        decisionTs.push(Number(m.timestamp));
        arrivalTs.push(now);
      }
    },
  });
  await hasJoined;
  return { sourceTs, decisionTs, arrivalTs, accounted: () => seen.size, stop: () => consumer.disconnect() };
}
