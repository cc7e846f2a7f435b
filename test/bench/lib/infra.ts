/**
 * What the benchmark runs against: a dedicated local broker (KAFKA_INSTANCE=bench, unless
 * KAFKA_BROKERS names one) and a trace backend (FRAUD_OTEL_ENDPOINT, else the local Jaeger
 * when it was built, else an OTLP/HTTP sink in this process that accepts and discards).
 */
import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { CACHE_DIR } from '../../../services/cli/src/env.js';
import { acquireTracing } from '../../../services/cli/src/local-jaeger.js';
import { PROJECT_ROOT } from '../../../services/common/src/paths.js';
import { pidFromFile } from './proc.js';

const KAFKA_SCRIPT = join(PROJECT_ROOT, 'deploy/local/kafka.sh');
const INSTANCE = 'bench';

export interface Broker {
  brokers: string[];
  /** The broker's JVM, when it is ours to observe (for its CPU). */
  pid?: number;
  description: string;
  stop(): void;
}

export function acquireBroker(): Broker {
  const configured = process.env.KAFKA_BROKERS;
  if (configured) return { brokers: configured.split(','), description: `KAFKA_BROKERS=${configured}`, stop: () => {} };
  const env = { ...process.env, KAFKA_INSTANCE: INSTANCE };
  let running = true;
  try {
    execFileSync('bash', [KAFKA_SCRIPT, 'status'], { stdio: 'ignore', env });
  } catch {
    running = false;
  }
  const out = execFileSync('bash', [KAFKA_SCRIPT, 'up'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], env });
  const brokers = out.trim().split('\n').at(-1)!.split(',');
  const pid = pidFromFile(join(CACHE_DIR, 'run', `kafka-${INSTANCE}`, 'broker.pid'));
  return {
    brokers,
    pid,
    description: `dedicated local broker KAFKA_INSTANCE=${INSTANCE} at ${brokers.join(',')}${running ? ' (already running)' : ' (started here)'}`,
    stop: () => {
      if (!running) execFileSync('bash', [KAFKA_SCRIPT, 'down', '--purge'], { stdio: 'inherit', env });
    },
  };
}

export interface TraceBackend {
  otlpHttp: string;
  kind: 'configured' | 'jaeger' | 'discard';
  pid?: number;
  /** Spans the discard sink accepted (requests, bytes). */
  received?: () => { requests: number; bytes: number };
  stop(): Promise<void>;
}

export async function acquireTraceBackend(): Promise<TraceBackend> {
  const jaeger = acquireTracing();
  if (jaeger) {
    const kind = process.env.FRAUD_OTEL_ENDPOINT ? 'configured' : 'jaeger';
    const pid = kind === 'jaeger' ? pidFromFile(join(CACHE_DIR, 'run', 'jaeger', 'jaeger.pid')) : undefined;
    return { otlpHttp: jaeger.otlpHttp, kind, pid, stop: async () => jaeger.stop() };
  }
  // No Jaeger built: accept OTLP/HTTP and drop it, so the exporter still does all its work.
  let requests = 0;
  let bytes = 0;
  const server: Server = createServer((req, res) => {
    req.on('data', (b: Buffer) => (bytes += b.length));
    req.on('end', () => {
      requests++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    otlpHttp: `http://127.0.0.1:${port}`,
    kind: 'discard',
    received: () => ({ requests, bytes }),
    stop: () => new Promise<void>((r) => server.close(() => r())),
  };
}
