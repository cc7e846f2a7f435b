/**
 * The monitor on a real broker: a scorer decides a simulated world; one monitor reads it
 * straight through, another is killed -9 part way and restarted on the same store. Both must
 * end with the same realized performance, estimates and drift, every figure equal: the store
 * and the offsets it resumes from agree, and nothing is counted twice.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kafka } from 'kafkajs';
import { parseExposition } from '../../../services/cli/src/report/prometheus.js';
import { freePort } from '../../../services/cli/src/scorer-child.js';
import type { RunningScorer } from '../../../services/scorer/src/service.js';
import { publishEvents, simulate } from '../../../services/simulator/src/index.js';
import { brokers, deleteTopics, freshTopics, readTopic, testKafka, type TestTopics } from '../../helpers/kafka.js';
import { scorerConfig, startInProcessScorer } from '../../helpers/scorer.js';
import { ON_DEFAULT_CLIENT } from '../../helpers/clients.js';

const dir = mkdtempSync(join(tmpdir(), 'fraudscore-monitor-it-'));

interface MonitorProc {
  child: ChildProcess;
  url: string;
  exited: Promise<void>;
}

async function startMonitorProc(topics: TestTopics, db: string, group: string, name: string): Promise<MonitorProc> {
  const port = await freePort();
  mkdirSync('runs/test-logs', { recursive: true });
  const log = createWriteStream(join('runs/test-logs', `${name}.log`), { flags: 'a' });
  const child = spawn(process.execPath, ['--import', 'tsx', 'services/cli/src/main.ts', 'monitor'], {
    env: {
      ...process.env, FRAUD_KAFKA_BROKERS: brokers(), FRAUD_MONITOR_GROUP_ID: group, FRAUD_MONITOR_DB: db, FRAUD_MONITOR_ADMIN_HOST: '127.0.0.1', FRAUD_MONITOR_ADMIN_PORT: String(port),
      FRAUD_TOPIC_DECISIONS: topics.decisions, FRAUD_TOPIC_SHADOW_DECISIONS: topics.shadowDecisions, FRAUD_TOPIC_OUTCOMES: topics.outcomes, FRAUD_MONITOR_INTERVAL_MS: '300', FRAUD_LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const url = `http://127.0.0.1:${port}`;
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; ) {
    if (child.exitCode !== null) throw new Error(`monitor ${name} exited early; see runs/test-logs/${name}.log`);
    if (await fetch(`${url}/readyz`).then((r) => r.ok, () => false)) return { child, url, exited };
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`monitor ${name} not ready`);
}

/** The monitor's own figures: decisions and labels in its store, and every performance and drift gauge, by labels. */
async function figures(url: string) {
  const families = parseExposition(await (await fetch(`${url}/metrics`)).text());
  const read = (name: string) => new Map((families.get(name)?.samples ?? []).map((s) => [JSON.stringify(Object.entries(s.labels).filter(([k]) => !k.startsWith('otel_')).sort()), s.value]));
  const store = read('fraudscore_monitor_store');
  const total = [...store].filter(([k]) => !k.includes('bytes')).reduce((a, [, v]) => a + v, 0);
  return { total, performance: read('fraudscore_monitor_performance'), drift: read('fraudscore_monitor_drift'), estimated: read('fraudscore_monitor_estimated') };
}

// The monitor, the models CLI and the Python parity do not use the scorer's Kafka client (test/helpers/clients.ts).
describe.runIf(ON_DEFAULT_CLIENT)('monitor on a real broker', () => {
  let kafka: Kafka;
  let topics: TestTopics;
  let scorer: RunningScorer;
  let expected = 0;

  beforeAll(async () => {
    kafka = testKafka();
    topics = await freshTopics(kafka, 2);
    const events = [...simulate({ seed: 9, customers: 300, terminals: 600, days: 20 })];
    const stats = await publishEvents(kafka, events, { topics });
    scorer = await startInProcessScorer(scorerConfig(topics));
    await readTopic(kafka, topics.decisions, stats.transactions, 120_000);
    expected = stats.transactions + stats.outcomes;
  });

  afterAll(async () => {
    await scorer?.stop();
    if (topics) await deleteTopics(kafka, topics);
    rmSync(dir, { recursive: true, force: true });
  });

  it('ends with the same figures after a kill -9 and restart as straight through', async () => {
    const straight = await startMonitorProc(topics, join(dir, 'straight.db'), `${topics.group}-mon-a`, 'monitor-straight');
    const crashy = await startMonitorProc(topics, join(dir, 'crashy.db'), `${topics.group}-mon-b`, 'monitor-crashy-1');
    // Kill the second one once it has read part of the inputs.
    let seen = 0;
    for (const deadline = Date.now() + 60_000; Date.now() < deadline && seen < expected / 4; ) {
      seen = (await figures(crashy.url)).total;
      await new Promise((r) => setTimeout(r, 50));
    }
    crashy.child.kill('SIGKILL');
    await crashy.exited;
    console.log(`monitor: killed -9 after ${seen} of ${expected} records`);
    const restarted = await startMonitorProc(topics, join(dir, 'crashy.db'), `${topics.group}-mon-b`, 'monitor-crashy-2');
    const done = async (url: string) => {
      for (const deadline = Date.now() + 90_000; Date.now() < deadline; ) {
        const f = await figures(url);
        if (f.total >= expected && f.performance.size > 0) {
          await new Promise((r) => setTimeout(r, 700)); // one more computation over everything
          return figures(url);
        }
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error('monitor did not read everything in 90 s');
    };
    const [a, b] = await Promise.all([done(straight.url), done(restarted.url)]);
    straight.child.kill('SIGTERM');
    restarted.child.kill('SIGTERM');
    await Promise.all([straight.exited, restarted.exited]);

    expect(a.total).toBe(expected);
    expect(a.performance.size).toBeGreaterThan(10);
    expect(a.drift.size).toBeGreaterThan(10);
    expect(b.performance).toEqual(a.performance);
    expect(b.drift).toEqual(a.drift);
    expect(a.estimated.size).toBeGreaterThan(10);
    expect(b.estimated).toEqual(a.estimated);
    const ap = [...a.performance].find(([k]) => k.includes('"ap"') && k.includes('"7d"'))?.[1];
    console.log(`monitor: ${a.performance.size} performance, ${a.estimated.size} estimated and ${a.drift.size} drift figures equal after the restart; champion AP over 7 days ${ap?.toFixed(4)}`);
    expect(ap).toBeGreaterThan(0.3);
  });
});
