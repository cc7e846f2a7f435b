/**
 * A real Jaeger for trace tests: deploy/local/jaeger.sh (built from the Go module proxy,
 * cached), started if it is not running and stopped again by whoever started it.
 */
import { execFileSync } from 'node:child_process';

export interface JaegerHandle {
  otlpHttp: string;
  query: string;
  stop(): void;
}

export function acquireJaeger(): JaegerHandle {
  let running = true;
  try {
    execFileSync('bash', ['deploy/local/jaeger.sh', 'status'], { stdio: 'ignore' });
  } catch {
    running = false;
  }
  const out = execFileSync('bash', ['deploy/local/jaeger.sh', 'up'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 1_500_000 });
  const value = (key: string) => out.match(new RegExp(`^${key}=(.+)$`, 'm'))?.[1] ?? '';
  return {
    otlpHttp: value('JAEGER_OTLP_HTTP'),
    query: value('JAEGER_QUERY'),
    stop: () => {
      if (!running) execFileSync('bash', ['deploy/local/jaeger.sh', 'down'], { stdio: 'inherit' });
    },
  };
}

export interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references: { refType: string; traceID: string; spanID: string }[];
  startTime: number;
  duration: number;
  processID: string;
  tags: { key: string; value: unknown }[];
}

export interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string }>;
}

export async function findTraces(query: string, service: string, limit = 20): Promise<JaegerTrace[]> {
  const res = await fetch(`${query}/api/traces?service=${encodeURIComponent(service)}&limit=${limit}&lookback=1h`);
  if (!res.ok) return [];
  return ((await res.json()) as { data: JaegerTrace[] }).data ?? [];
}

export async function getTrace(query: string, traceId: string): Promise<JaegerTrace | undefined> {
  const res = await fetch(`${query}/api/traces/${traceId}`);
  if (!res.ok) return undefined;
  return ((await res.json()) as { data: JaegerTrace[] }).data?.[0];
}
