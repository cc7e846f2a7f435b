/**
 * The monitor's store path, in process: Avro-encoded decisions and outcomes of a simulated
 * world are decoded and written in batches of 500 (as the feed writes what a fetch returns),
 * into a file-backed store in a temporary folder. Prints one JSON line:
 *   eps: decoded + stored records per second (decisions and outcomes; the Kafka fetch is not
 *        included: a bare kafkajs consumer reads ~70,000/s here, see kjs_raw_eps);
 *   bytesPerPending: the store's size on disk per decision, with every decision still waiting
 *        for its label (what issue 13's ≤ 100 B target is about);
 *   rssMbPerMillionPending: how the process's RSS grows per million pending decisions.
 * Usage: node --import tsx test/bench/monitor-store.ts [transactions]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCodecs, type Decision } from '../../services/common/src/contracts.js';
import { openStore } from '../../services/monitor/src/store.js';
import { referenceLoader } from '../../services/monitor/src/references.js';
import { simulate } from '../../services/simulator/src/index.js';

const wanted = Number(process.argv[2] ?? 200_000);
const codecs = createCodecs('confluent');
const manifest = (await import('../../models/fraud-lgbm/1.0.0/manifest.json', { with: { type: 'json' } })).default as { name: string; version: string; sha256: string; features: string[] };
const model = { name: manifest.name, version: manifest.version, digest: manifest.sha256 };

const decisions: Buffer[] = [];
const outcomes: Buffer[] = [];
for (const e of simulate({ seed: 42, customers: 5000, terminals: 10000, days: 120 })) {
  if (decisions.length >= wanted && outcomes.length >= wanted) break;
  if (e.kind === 'transaction' && decisions.length < wanted) {
    const score = (e.tx.amountMinor % 1000) / 1000;
    const d: Decision = {
      transactionId: e.tx.transactionId, cardToken: e.tx.cardToken, score, decision: score > 0.9 ? 'BLOCK' : score > 0.6 ? 'REVIEW' : 'ALLOW', reasons: [], model,
      policyVersion: 'policy-v1', eventTime: e.tx.eventTime, scoredAt: e.tx.eventTime, source: { topic: 'transactions', partition: 0, offset: decisions.length },
      featureSetVersion: 'handbook-15-v1', features: [], role: 'CHAMPION', deploymentRevision: 0,
    };
    decisions.push(codecs.decision.encode(d));
  } else if (e.kind === 'outcome' && outcomes.length < wanted) outcomes.push(codecs.outcome.encode(e.outcome));
}

const dir = mkdtempSync(join(tmpdir(), 'fraudscore-monitor-bench-'));
try {
  const store = openStore(join(dir, 'monitor.db'), referenceLoader('models', () => {}));
  const BATCH = 500;
  const started = performance.now();
  // RSS with half and with all the decisions pending: the difference is what pending decisions
  // cost in RAM (SQLite keeps them on disk behind a bounded page cache; this checks it).
  let rssHalf = 0;
  for (let i = 0; i < decisions.length; i += BATCH) {
    store.write({ decisions: decisions.slice(i, i + BATCH).map((b) => codecs.decision.decode(b)), labels: [], offsets: [{ topic: 'd', partition: 0, next: BigInt(i + BATCH) }] });
    if (!rssHalf && i + BATCH >= decisions.length / 2) rssHalf = process.memoryUsage().rss;
  }
  const rssFull = process.memoryUsage().rss;
  const pending = store.size();
  for (let i = 0; i < outcomes.length; i += BATCH) {
    store.write({ decisions: [], labels: outcomes.slice(i, i + BATCH).map((b) => codecs.outcome.decode(b)), offsets: [{ topic: 'o', partition: 0, next: BigInt(i + BATCH) }] });
  }
  const seconds = (performance.now() - started) / 1000;
  store.close();
  console.log(JSON.stringify({ records: decisions.length + outcomes.length, seconds: Number(seconds.toFixed(2)), eps: Math.round((decisions.length + outcomes.length) / seconds), pendingDecisions: pending.decisions, bytesPerPending: Math.round(pending.bytes / pending.decisions), rssMbPerMillionPending: Number((((rssFull - rssHalf) / (pending.decisions / 2)) * 1e6 / 1e6).toFixed(1)) }));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
