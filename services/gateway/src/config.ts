/**
 * The gateway's settings, from FRAUD_* variables; what it shares with the scorers (brokers,
 * topics, wire format, input limits, models) is read by the scorer's own config, so both sides
 * agree. A bad value fails at start-up naming the setting (ConfigError, exit 2).
 */
import { hostname } from 'node:os';
import { z } from 'zod';
import { ConfigError, loadConfig, type ScorerConfig } from '../../scorer/src/config.js';

const schema = z.object({
  FRAUD_GATEWAY_HOST: z.string().min(1).default('0.0.0.0'),
  FRAUD_GATEWAY_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  /** /healthz, /readyz and /metrics, apart from the API. */
  FRAUD_GATEWAY_ADMIN_PORT: z.coerce.number().int().min(0).max(65535).default(9465),
  /** Default: FRAUD_GATEWAY_HOST. */
  FRAUD_GATEWAY_ADMIN_HOST: z.string().min(1).optional(),
  FRAUD_DECISION_DEADLINE_MS: z.coerce.number().int().min(1).max(60_000).default(150),
  FRAUD_GATEWAY_INSTANCE_ID: z.string().regex(/^[\w.-]{1,100}$/).default(hostname().replace(/[^\w.-]/g, '_').slice(0, 100)),
  /** Reply partitions this instance owns: "0-3", "4,5", or empty for all of them (one gateway). */
  FRAUD_GATEWAY_REPLY_PARTITIONS: z.string().regex(/^(\d+(-\d+)?)(,\d+(-\d+)?)*$|^$/, 'a list like 0-3 or 4,5').default(''),
  FRAUD_GATEWAY_API_KEYS_FILE: z.string().optional(),
  FRAUD_GATEWAY_API_KEYS: z.string().optional(),
  FRAUD_GATEWAY_RATE_LIMIT: z.coerce.number().int().min(1).default(6000),
  FRAUD_GATEWAY_MAX_BODY_BYTES: z.coerce.number().int().min(256).max(1 << 20).default(16_384),
  FRAUD_GATEWAY_TLS_CERT_FILE: z.string().optional(),
  FRAUD_GATEWAY_TLS_KEY_FILE: z.string().optional(),
});

export interface GatewayConfig {
  shared: ScorerConfig;
  host: string;
  port: number;
  adminHost: string;
  adminPort: number;
  deadlineMs: number;
  instanceId: string;
  /** Undefined: every partition of the replies topic. */
  replyPartitions?: number[];
  apiKeysFile?: string;
  apiKeys?: string;
  rateLimitPerMinute: number;
  maxBodyBytes: number;
  tls?: { certFile: string; keyFile: string };
}

function partitions(text: string): number[] | undefined {
  if (!text) return undefined;
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const [a, b = a] = part.split('-').map(Number) as [number, number?];
    if ((b as number) < a) throw new ConfigError(`FRAUD_GATEWAY_REPLY_PARTITIONS: ${part} is an empty range`);
    for (let p = a; p <= (b as number); p++) out.add(p);
  }
  return [...out].sort((x, y) => x - y);
}

export function loadGatewayConfig(env: Record<string, string | undefined>): GatewayConfig {
  const shared = loadConfig({ ...env, FRAUD_INSTANCE_ID: env.FRAUD_INSTANCE_ID ?? 'gateway' });
  const parsed = schema.safeParse(env);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  const c = parsed.data;
  if (!c.FRAUD_GATEWAY_API_KEYS_FILE && !c.FRAUD_GATEWAY_API_KEYS) throw new ConfigError('FRAUD_GATEWAY_API_KEYS_FILE or FRAUD_GATEWAY_API_KEYS: no API key configured (make one with `fraudscore gateway new-key <name>`)');
  if (Boolean(c.FRAUD_GATEWAY_TLS_CERT_FILE) !== Boolean(c.FRAUD_GATEWAY_TLS_KEY_FILE)) throw new ConfigError('FRAUD_GATEWAY_TLS_CERT_FILE and FRAUD_GATEWAY_TLS_KEY_FILE: set both, or neither');
  return {
    shared,
    host: c.FRAUD_GATEWAY_HOST,
    port: c.FRAUD_GATEWAY_PORT,
    adminHost: c.FRAUD_GATEWAY_ADMIN_HOST ?? c.FRAUD_GATEWAY_HOST,
    adminPort: c.FRAUD_GATEWAY_ADMIN_PORT,
    deadlineMs: c.FRAUD_DECISION_DEADLINE_MS,
    instanceId: c.FRAUD_GATEWAY_INSTANCE_ID,
    replyPartitions: partitions(c.FRAUD_GATEWAY_REPLY_PARTITIONS),
    apiKeysFile: c.FRAUD_GATEWAY_API_KEYS_FILE,
    apiKeys: c.FRAUD_GATEWAY_API_KEYS,
    rateLimitPerMinute: c.FRAUD_GATEWAY_RATE_LIMIT,
    maxBodyBytes: c.FRAUD_GATEWAY_MAX_BODY_BYTES,
    tls: c.FRAUD_GATEWAY_TLS_CERT_FILE && c.FRAUD_GATEWAY_TLS_KEY_FILE ? { certFile: c.FRAUD_GATEWAY_TLS_CERT_FILE, keyFile: c.FRAUD_GATEWAY_TLS_KEY_FILE } : undefined,
  };
}
