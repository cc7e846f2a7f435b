/**
 * Monitor configuration, from FRAUD_* environment variables like the scorer's (the topic
 * names are the same variables, so one environment serves both); a bad value fails start-up
 * naming the variable.
 */
import { z } from 'zod';
import { ConfigError, parseEnvironment } from '../../scorer/src/config.js';
import { readRegistrySettings, type RegistrySettings } from '../../common/src/schema-registry.js';
import { SettingError } from '../../common/src/secrets.js';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const schema = z.object({
  FRAUD_KAFKA_BROKERS: z.string().regex(/^[^,\s]+:\d+(,[^,\s]+:\d+)*$/, 'expected host:port[,host:port…]'),
  FRAUD_MONITOR_GROUP_ID: z.string().min(1).default('fraudscore-monitor'),
  FRAUD_TOPIC_DECISIONS: z.string().min(1).default('fraud-decisions'),
  FRAUD_TOPIC_SHADOW_DECISIONS: z.string().min(1).default('fraud-shadow-decisions'),
  FRAUD_TOPIC_OUTCOMES: z.string().min(1).default('transaction-outcomes'),
  FRAUD_WIRE_FORMAT: z.enum(['confluent', 'plain']).default('confluent'),
  /** Where the models' manifests are (their reference histograms are the drift baseline). */
  FRAUD_MODELS_DIR: z.string().min(1).default('models'),
  /** The embedded store (SQLite): pending decisions, labels and the offsets read. */
  FRAUD_MONITOR_DB: z.string().min(1).default('.cache/monitor/monitor.db'),
  /** Decisions without a label this many days after their event time count as "no label" and leave the store. */
  FRAUD_LABEL_HORIZON_DAYS: int(1, 3650).default(30),
  /** How often the window metrics are recomputed. */
  FRAUD_MONITOR_INTERVAL_MS: int(100, 3_600_000).default(5_000),
  FRAUD_MONITOR_ADMIN_HOST: z.string().min(1).default('0.0.0.0'),
  FRAUD_MONITOR_ADMIN_PORT: int(0, 65_535).default(9465),
  FRAUD_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
});

export interface MonitorConfig {
  readonly brokers: readonly string[];
  readonly groupId: string;
  readonly topics: { readonly decisions: string; readonly shadowDecisions: string; readonly outcomes: string };
  readonly wireFormat: 'confluent' | 'plain';
  /** FRAUD_SCHEMA_REGISTRY_*: writer schemas fetched from a registry by id; undefined: schemas/ids.json. */
  readonly schemaRegistry?: RegistrySettings;
  readonly dbPath: string;
  readonly modelsDir: string;
  readonly labelHorizonMs: number;
  readonly intervalMs: number;
  readonly admin: { readonly host: string; readonly port: number };
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
}

export function loadMonitorConfig(env: Record<string, string | undefined>): MonitorConfig {
  const c = parseEnvironment(schema, env);
  let schemaRegistry: RegistrySettings | undefined;
  try {
    schemaRegistry = readRegistrySettings(env);
  } catch (err) {
    if (err instanceof SettingError) throw new ConfigError(`invalid configuration:\n  ${err.message}`);
    throw err;
  }
  return Object.freeze({
    brokers: c.FRAUD_KAFKA_BROKERS.split(','),
    groupId: c.FRAUD_MONITOR_GROUP_ID,
    topics: Object.freeze({ decisions: c.FRAUD_TOPIC_DECISIONS, shadowDecisions: c.FRAUD_TOPIC_SHADOW_DECISIONS, outcomes: c.FRAUD_TOPIC_OUTCOMES }),
    wireFormat: c.FRAUD_WIRE_FORMAT,
    ...(schemaRegistry ? { schemaRegistry } : {}),
    dbPath: c.FRAUD_MONITOR_DB,
    modelsDir: c.FRAUD_MODELS_DIR,
    labelHorizonMs: c.FRAUD_LABEL_HORIZON_DAYS * 86_400_000,
    intervalMs: c.FRAUD_MONITOR_INTERVAL_MS,
    admin: Object.freeze({ host: c.FRAUD_MONITOR_ADMIN_HOST, port: c.FRAUD_MONITOR_ADMIN_PORT }),
    logLevel: c.FRAUD_LOG_LEVEL,
  });
}
