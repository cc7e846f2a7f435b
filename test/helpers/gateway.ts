/** Starting the REST gateway for integration tests, as a child process through the real CLI (for kill -9 and restarts). */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../services/cli/src/scorer-child.js';
import { hashKey } from '../../services/gateway/src/api-keys.js';
import { brokers, type TestTopics } from './kafka.js';

export const TEST_API_KEY = 'test-key-0123456789abcdefghijklmnop';

export interface ChildGateway {
  child: ChildProcess;
  url: string;
  adminUrl: string;
  exited: Promise<number | null>;
}

export function gatewayEnv(topics: TestTopics, extra: Record<string, string> = {}): Record<string, string> {
  return {
    FRAUD_KAFKA_BROKERS: brokers(),
    FRAUD_TOPIC_TRANSACTIONS: topics.transactions,
    FRAUD_TOPIC_REPLIES: topics.replies,
    FRAUD_GATEWAY_HOST: '127.0.0.1',
    FRAUD_GATEWAY_INSTANCE_ID: `gw-${topics.group}`,
    FRAUD_GATEWAY_API_KEYS: `test ${hashKey(TEST_API_KEY)}`,
    FRAUD_LOG_LEVEL: 'warn',
    ...extra,
  };
}

/** Spawns `fraudscore gateway` and waits for its /readyz (its reply partitions read back). */
export async function spawnGateway(env: Record<string, string>, logName: string): Promise<ChildGateway> {
  const [port, adminPort] = [await freePort(), await freePort()];
  mkdirSync('runs/test-logs', { recursive: true });
  const log = createWriteStream(join('runs/test-logs', `${logName}.log`), { flags: 'a' });
  const child = spawn(process.execPath, ['--import', 'tsx', 'services/cli/src/main.ts', 'gateway'], {
    env: { ...process.env, ...env, FRAUD_GATEWAY_PORT: String(port), FRAUD_GATEWAY_ADMIN_PORT: String(adminPort) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let code: number | null | undefined;
  void exited.then((c) => (code = c));
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (code !== undefined) throw new Error(`gateway exited (${code}) before ready; see runs/test-logs/${logName}.log`);
    if (await fetch(`${adminUrl}/readyz`).then((r) => r.ok, () => false)) return { child, url: `http://127.0.0.1:${port}`, adminUrl, exited };
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill('SIGKILL');
  throw new Error(`gateway not ready in 60 s; see runs/test-logs/${logName}.log`);
}

/** POST /v1/score with the test key; the status and the JSON answer. */
export async function score(url: string, body: unknown, key = TEST_API_KEY): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(`${url}/v1/score`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify(body) });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}
