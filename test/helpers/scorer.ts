/**
 * Starting scorers for integration tests: in-process (fast, shares the test's event loop) or
 * as a child process through the real CLI (for kill -9 and restarts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, type ScorerConfig } from '../../services/scorer/src/config.js';
import { freePort } from '../../services/cli/src/scorer-child.js';
import { brokers, type TestTopics } from './kafka.js';
import { loadServingModel, startScorer, type RunningScorer } from '../../services/scorer/src/service.js';
import { createLogger } from '../../services/scorer/src/telemetry/log.js';
import { startTelemetry, type Telemetry } from '../../services/scorer/src/telemetry/otel.js';

/**
 * The scorer's environment for a test's topics. FRAUD_KAFKA_CLIENT passes through from the
 * test run's environment, so one suite runs on either client (`FRAUD_KAFKA_CLIENT=librdkafka
 * npm run test:integration`; npm test runs the Kafka suites on both).
 */
export function scorerEnv(topics: TestTopics, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...(process.env.FRAUD_KAFKA_CLIENT ? { FRAUD_KAFKA_CLIENT: process.env.FRAUD_KAFKA_CLIENT } : {}),
    FRAUD_KAFKA_BROKERS: brokers(),
    FRAUD_GROUP_ID: topics.group,
    FRAUD_TOPIC_TRANSACTIONS: topics.transactions,
    FRAUD_TOPIC_OUTCOMES: topics.outcomes,
    FRAUD_TOPIC_DECISIONS: topics.decisions,
    FRAUD_TOPIC_FLAGS: topics.flags,
    FRAUD_TOPIC_DLQ: topics.dlq,
    FRAUD_TOPIC_CARD_STATE: topics.cardState,
    FRAUD_TOPIC_SHADOW_DECISIONS: topics.shadowDecisions,
    FRAUD_TOPIC_DEPLOYMENTS: topics.deployments,
    FRAUD_TOPIC_DEPLOYMENT_STATUS: topics.deploymentStatus,
    FRAUD_TOPIC_REPLIES: topics.replies,
    FRAUD_ADMIN_HOST: '127.0.0.1',
    FRAUD_ADMIN_PORT: '0',
    FRAUD_LOG_LEVEL: 'warn',
    // The audits compare every decision's features with the batch computation.
    FRAUD_DECISION_FEATURES: 'true',
    ...extra,
  };
}

export function scorerConfig(topics: TestTopics, extra: Record<string, string> = {}): ScorerConfig {
  return loadConfig(scorerEnv(topics, extra));
}

export interface ChildScorer {
  child: ChildProcess;
  adminUrl: string;
  exited: Promise<number | null>;
}

/** Spawns `fraudscore scorer` (via tsx, like `npm run fraudscore`) and waits for /readyz. */
export async function spawnScorer(env: Record<string, string>, logName: string): Promise<ChildScorer> {
  const port = await freePort();
  mkdirSync('runs/test-logs', { recursive: true });
  const log = createWriteStream(join('runs/test-logs', `${logName}.log`), { flags: 'a' });
  const child = spawn(process.execPath, ['--import', 'tsx', 'services/cli/src/main.ts', 'scorer'], {
    env: { ...process.env, ...env, FRAUD_ADMIN_PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let code: number | null | undefined;
  void exited.then((c) => (code = c));
  const adminUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (code !== undefined) throw new Error(`scorer exited (${code}) before ready; see runs/test-logs/${logName}.log`);
    const ok = await fetch(`${adminUrl}/readyz`).then((r) => r.ok, () => false);
    if (ok) return { child, adminUrl, exited };
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill('SIGKILL');
  throw new Error(`scorer not ready in 90 s; see runs/test-logs/${logName}.log`);
}

let sharedTelemetry: Telemetry | undefined;

/** Starts a scorer in this process; telemetry (metrics only, no trace export) is shared per test file. */
export async function startInProcessScorer(config: ScorerConfig): Promise<RunningScorer> {
  sharedTelemetry ??= startTelemetry({ serviceName: 'fraudscore-test', serviceVersion: 'test', endpoint: '', sampleRatio: 0 });
  const model = await loadServingModel(config);
  const scorer = await startScorer(config, createLogger('warn'), { model, telemetry: sharedTelemetry });
  return {
    ...scorer,
    stop: async () => {
      await scorer.stop();
      await model.dispose();
    },
  };
}
