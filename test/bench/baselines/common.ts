/**
 * What the benchmark's bare baselines share: their configuration (the scorer's FRAUD_* names
 * for brokers, group, topics and admin port, so the harness's childEnv configures them like
 * every other mode; everything else is ignored) and a tiny admin server (/healthz, /readyz)
 * the harness polls before it starts timing.
 */
import { createServer, type Server } from 'node:http';

export interface BaselineConfig {
  brokers: string[];
  clientId: string;
  groupId: string;
  input: string;
  output: string;
  fromBeginning: boolean;
  /** How often positions are committed (the scorer's at-least-once default: 1 s). */
  commitIntervalMs: number;
  adminHost: string;
  adminPort: number;
}

export function baselineConfig(env: NodeJS.ProcessEnv, name: string): BaselineConfig {
  const brokers = (env.FRAUD_KAFKA_BROKERS || env.KAFKA_BROKERS || '').split(',').map((s) => s.trim()).filter(Boolean);
  if (brokers.length === 0) throw new Error(`${name}: FRAUD_KAFKA_BROKERS is not set`);
  const interval = Number(env.FRAUD_COMMIT_INTERVAL_MS || 1000);
  return {
    brokers,
    clientId: env.FRAUD_CLIENT_ID || name,
    groupId: env.FRAUD_GROUP_ID || name,
    input: env.FRAUD_TOPIC_TRANSACTIONS || 'transactions',
    output: env.FRAUD_TOPIC_DECISIONS || 'fraud-decisions',
    fromBeginning: (env.FRAUD_FROM_BEGINNING ?? 'true') !== 'false',
    commitIntervalMs: Number.isFinite(interval) && interval >= 0 ? interval : 1000,
    adminHost: env.FRAUD_ADMIN_HOST || '127.0.0.1',
    adminPort: Number(env.FRAUD_ADMIN_PORT || 9464),
  };
}

/** /healthz: 200 while running; /readyz: 200 once ready() says so. Nothing else (no /metrics). */
export async function startAdmin(host: string, port: number, ready: () => boolean): Promise<Server> {
  const server = createServer((req, res) => {
    const ok = req.url === '/healthz' ? true : req.url === '/readyz' ? ready() : null;
    if (ok === null) res.writeHead(404).end();
    else res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ok' : 'not ready');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}

export function log(name: string, msg: string, extra: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), name, msg, ...extra })}\n`);
}

/** Stops on SIGTERM or SIGINT (once), with `stop` doing the baseline's own cleanup before exit 0. */
export function stopOnSignals(stop: (signal: string) => Promise<void>): void {
  let stopping = false;
  const once = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    await stop(signal).catch(() => {});
    process.exit(0);
  };
  process.on('SIGTERM', () => void once('SIGTERM'));
  process.on('SIGINT', () => void once('SIGINT'));
}

/** Runs a baseline's main; an error that escapes it is printed and the process exits 1. */
export function runMain(name: string, main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    process.stderr.write(`${name}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
