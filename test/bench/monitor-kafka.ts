/**
 * The monitor end to end through Kafka: a backlog of decisions that carry their 15 inputs
 * (FRAUD_DECISION_FEATURES=true, what drift needs) on 4 partitions and of their outcomes on 1
 * is written to fresh topics first; then the monitor's own feed (monitor/feed.ts: kafkajs,
 * read_committed, a store transaction per fetched batch with its offsets, drift counts) reads
 * it into a file-backed store, timed from start to the last record stored. The baseline, in
 * the same run and on the same topics: a bare kafkajs consumer that only counts the records.
 * Prints one JSON line: eps (the monitor), rawEps (the baseline), ratio, storeBytes, the RSS
 * growth while storing, and computeMs (one recomputation of every window on that store).
 * Usage: node --import tsx test/bench/monitor-kafka.ts <brokers> [transactions]
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Partitioners, type Message } from 'kafkajs';
import { createCodecs, type Decision } from '../../services/common/src/contracts.js';
import { createKafka, parseBrokers } from '../../services/common/src/kafka.js';
import { startFeed } from '../../services/monitor/src/feed.js';
import { referenceLoader } from '../../services/monitor/src/references.js';
import { openStore } from '../../services/monitor/src/store.js';
import { computeAll } from '../../services/monitor/src/windows.js';
import { batchFeatures } from '../../services/scorer/src/features/batch.js';
import { createLogger } from '../../services/scorer/src/telemetry/log.js';
import { createSimulation } from '../../services/simulator/src/index.js';

const brokers = parseBrokers(process.argv[2] ?? process.env.KAFKA_BROKERS ?? '');
const wanted = Number(process.argv[3] ?? 200_000);
const progress = (line: string) => process.stderr.write(`  monitor via Kafka: ${line}\n`);
const codecs = createCodecs('confluent');
const manifest = (await import('../../models/fraud-lgbm/1.0.0/manifest.json', { with: { type: 'json' } })).default as { name: string; version: string; sha256: string; thresholds: { review: number; block: number } };
const model = { name: manifest.name, version: manifest.version, digest: manifest.sha256 };
const kafka = createKafka({ brokers, clientId: 'fraudscore-bench-monitor' });
const run = randomUUID().slice(0, 8);
const topics = { decisions: `bench-monitor-decisions-${run}`, shadowDecisions: `bench-monitor-shadow-${run}`, outcomes: `bench-monitor-outcomes-${run}` };

// Decisions of a simulated world with their real inputs (the scorer's feature engine), their
// outcomes as the simulator labels them.
const decisions: Message[] = [];
const outcomes: Message[] = [];
const sim = createSimulation({ seed: 42, customers: 5000, terminals: 10000, days: 120 });
const labelled = (function* () {
  for (const e of sim.events()) {
    if (e.kind === 'outcome' && outcomes.length < wanted) outcomes.push({ key: e.outcome.terminalId, value: codecs.outcome.encode(e.outcome) });
    yield e;
  }
})();
for await (const row of batchFeatures(labelled)) {
  if (decisions.length >= wanted) {
    if (outcomes.length >= wanted) break;
    continue;
  }
  // Any score will do for throughput; the decision follows the manifest's thresholds.
  const score = Math.min(1, row.features[0]! / 1000);
  const d: Decision = {
    transactionId: row.tx.transactionId, cardToken: row.tx.cardToken, score, decision: score >= manifest.thresholds.block ? 'BLOCK' : score >= manifest.thresholds.review ? 'REVIEW' : 'ALLOW',
    reasons: [], model, policyVersion: 'policy-v1', eventTime: row.tx.eventTime, scoredAt: row.tx.eventTime, source: { topic: 'transactions', partition: 0, offset: decisions.length },
    featureSetVersion: 'handbook-15-v1', features: Array.from(row.features), role: 'CHAMPION', deploymentRevision: 0,
  };
  decisions.push({ key: d.cardToken, value: codecs.decision.encode(d) });
}
progress(`${decisions.length} decisions and ${outcomes.length} outcomes built; writing them to Kafka`);

const admin = kafka.admin();
await admin.connect();
const dir = mkdtempSync(join(tmpdir(), 'fraudscore-monitor-kafka-bench-'));
try {
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic: topics.decisions, numPartitions: 4 }, { topic: topics.shadowDecisions, numPartitions: 1 }, { topic: topics.outcomes, numPartitions: 1 }] });
  const producer = kafka.producer({ idempotent: true, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  for (const [topic, messages] of [[topics.decisions, decisions], [topics.outcomes, outcomes]] as const) {
    for (let i = 0; i < messages.length; i += 5000) await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 5000) });
  }
  await producer.disconnect();
  const total = decisions.length + outcomes.length;

  // Baseline: a bare kafkajs consumer counting the same records.
  const raw = kafka.consumer({ groupId: `bench-monitor-raw-${run}`, readUncommitted: false, maxWaitTimeInMs: 500, maxBytes: 20 * 1024 * 1024 });
  await raw.connect();
  await raw.subscribe({ topics: [topics.decisions, topics.outcomes], fromBeginning: true });
  let counted = 0;
  const rawStarted = performance.now();
  const rawDone = new Promise<number>((resolve) => {
    void raw.run({
      eachBatch: async ({ batch }) => {
        counted += batch.messages.length;
        if (counted >= total) resolve(performance.now());
      },
    });
  });
  const rawEps = total / (((await rawDone) - rawStarted) / 1000);
  await raw.disconnect();
  progress(`baseline (bare kafkajs consumer): ${Math.round(rawEps).toLocaleString('en')} records/s`);

  // The monitor's feed into its store.
  const store = openStore(join(dir, 'monitor.db'), referenceLoader('models', () => {}));
  const rssBefore = process.memoryUsage().rss;
  const started = performance.now();
  const feed = await startFeed({ kafka, groupId: `bench-monitor-${run}`, topics, codecs, store, log: createLogger('warn', 'bench-monitor') });
  const ticker = setInterval(() => progress(`${(feed.stats.decisions + feed.stats.outcomes).toLocaleString('en')} of ${total.toLocaleString('en')} stored`), 2000);
  // Polled every 20 ms: a negligible error on a run of seconds.
  while (feed.stats.decisions + feed.stats.outcomes < total) await new Promise((r) => setTimeout(r, 20));
  const seconds = (performance.now() - started) / 1000;
  clearInterval(ticker);
  const rssMb = (process.memoryUsage().rss - rssBefore) / 1e6;
  await feed.stop();
  const size = store.size();
  // What one recomputation of every window costs on this store (the service runs it every
  // FRAUD_MONITOR_INTERVAL_MS, on the same thread as the feed): median of 3.
  const refs = referenceLoader('models', () => {});
  const computeMs = [0, 1, 2].map(() => {
    const t = performance.now();
    computeAll(store, refs);
    return performance.now() - t;
  }).sort((a, b) => a - b)[1]!;
  store.close();
  console.log(JSON.stringify({ records: total, seconds: Number(seconds.toFixed(2)), eps: Math.round(total / seconds), rawEps: Math.round(rawEps), ratio: Number((total / seconds / rawEps).toFixed(3)), storeBytes: size.bytes, rssGrowthMb: Number(rssMb.toFixed(1)), computeMs: Math.round(computeMs) }));
} finally {
  await admin.deleteTopics({ topics: Object.values(topics) }).catch(() => {});
  await admin.disconnect();
  rmSync(dir, { recursive: true, force: true });
}
