/**
 * The demo's Jaeger: FRAUD_OTEL_ENDPOINT when configured; otherwise the project's local Jaeger
 * (deploy/local/jaeger.sh) if its binary was already built (building takes minutes, so the
 * demo never triggers it: run `npm run jaeger:up` once). Stopped again if started here.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../common/src/paths.js';
import { CACHE_DIR } from './env.js';

const SCRIPT = join(PROJECT_ROOT, 'deploy/local/jaeger.sh');

export interface TracingBackend {
  otlpHttp: string;
  /** Jaeger's query API, when it is ours. */
  query?: string;
  stop(): void;
}

export function acquireTracing(): TracingBackend | undefined {
  const configured = process.env.FRAUD_OTEL_ENDPOINT;
  if (configured) return { otlpHttp: configured, stop: () => {} };
  const version = process.env.JAEGER_MODULE_VERSION ?? 'v1.76.0';
  if (!existsSync(join(CACHE_DIR, `jaeger-${version}`, '.complete'))) return undefined;
  let running = true;
  try {
    execFileSync('bash', [SCRIPT, 'status'], { stdio: 'ignore' });
  } catch {
    running = false;
  }
  const out = execFileSync('bash', [SCRIPT, 'up'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const value = (key: string) => out.match(new RegExp(`^${key}=(.+)$`, 'm'))?.[1];
  const otlpHttp = value('JAEGER_OTLP_HTTP');
  if (!otlpHttp) return undefined;
  return {
    otlpHttp,
    query: value('JAEGER_QUERY'),
    stop: () => {
      if (!running) execFileSync('bash', [SCRIPT, 'down'], { stdio: 'ignore' });
    },
  };
}
