/**
 * Scorer configuration: read once from FRAUD_* environment variables, validated, frozen.
 * Nothing else in the scorer reads process.env. A bad value fails start-up with a message
 * that names the variable.
 */
import { z } from 'zod';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { CRASH_POINTS, type CrashPoint } from './crash-points.js';
import { readRegistrySettings, REGISTRY_UNKNOWN_ID_WAIT_MS, type RegistrySettings } from '../../common/src/schema-registry.js';
import { loadPublicKeys, type ModelPublicKey } from '../../common/src/model-signature.js';
import { kafkaSecurityFromEnv, type KafkaSecurity } from '../../common/src/kafka-security.js';
import { SettingError } from '../../common/src/secrets.js';

export const KAFKA_CLIENTS = ['kafkajs', 'librdkafka'] as const;
export type KafkaClientName = (typeof KAFKA_CLIENTS)[number];
/** The client the benchmark found faster on throughput and p99 (README, "Kafka clients"). */
export const DEFAULT_KAFKA_CLIENT: KafkaClientName = 'librdkafka';

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** Every setting, its variable, default and meaning. Documented in README "Configuration". */
const schema = z.object({
  FRAUD_KAFKA_BROKERS: z.string().regex(/^[^,\s]+:\d+(,[^,\s]+:\d+)*$/, 'expected host:port[,host:port…]'),
  FRAUD_CLIENT_ID: z.string().min(1).default('fraudscore-scorer'),
  /**
   * The Kafka client of the scoring loop: librdkafka (@confluentinc/kafka-javascript, native
   * API) or kafkajs. Both are supported and tested; the default is the faster one (README).
   */
  FRAUD_KAFKA_CLIENT: z.enum(KAFKA_CLIENTS).default(DEFAULT_KAFKA_CLIENT),
  /**
   * This instance's stable name in the group. librdkafka exactly-once: the transactional id is
   * <group>.<instance>, so a restarted instance fences its crashed predecessor's open transaction
   * at once. Empty: <hostname>-<admin port> (unique among the instances of one host), or a
   * random id when the admin port is 0.
   */
  FRAUD_INSTANCE_ID: z.string().regex(/^[\w.-]{1,100}$/, 'expected 1–100 of [A-Za-z0-9_.-]').optional(),
  FRAUD_GROUP_ID: z.string().min(1).default('fraudscore-scorer'),
  FRAUD_TOPIC_TRANSACTIONS: z.string().min(1).default('transactions'),
  FRAUD_TOPIC_OUTCOMES: z.string().min(1).default('transaction-outcomes'),
  FRAUD_TOPIC_DECISIONS: z.string().min(1).default('fraud-decisions'),
  FRAUD_TOPIC_FLAGS: z.string().min(1).default('fraud-flags'),
  FRAUD_TOPIC_DLQ: z.string().min(1).default('transactions-dlq'),
  FRAUD_TOPIC_CARD_STATE: z.string().min(1).default('fraudscore-card-state-changelog'),
  FRAUD_TOPIC_SHADOW_DECISIONS: z.string().min(1).default('fraud-shadow-decisions'),
  FRAUD_TOPIC_DEPLOYMENTS: z.string().min(1).default('fraudscore-deployments'),
  FRAUD_TOPIC_DEPLOYMENT_STATUS: z.string().min(1).default('fraudscore-deployment-status'),
  /** Where decisions for synchronous callers go (the REST gateway names a partition per request). */
  FRAUD_TOPIC_REPLIES: z.string().min(1).default('fraud-replies'),
  /** Wire format of values: Confluent framing (magic byte + schema id) or plain Avro. */
  FRAUD_WIRE_FORMAT: z.enum(['confluent', 'plain']).default('confluent'),
  /** Folder holding <name>/<version>/{model.onnx,manifest.json} and default.json. */
  FRAUD_MODELS_DIR: z.string().min(1).default('models'),
  /** "name/version"; empty means the one models/default.json names. */
  FRAUD_MODEL: z.string().regex(/^$|^[\w.-]+\/[\w.-]+$/, 'expected name/version').default(''),
  /**
   * Comma-separated SPKI PEM files of the Ed25519 keys that may sign models (manifest.sig). Set:
   * every model, at start and on a hot swap, must be signed by one of them. Unset: not checked.
   */
  FRAUD_MODEL_PUBLIC_KEYS: z.string().optional(),
  /** exactly-once (default): outputs, changelog and offsets in one transaction per chunk; at-least-once: offsets committed after outputs are acknowledged. */
  FRAUD_DELIVERY: z.enum(['at-least-once', 'exactly-once']).default('exactly-once'),
  /**
   * How often a partition commits its position, changelog and (exactly-once) transaction;
   * empty: 1000 at-least-once (a crash re-scores at most this much), 100 exactly-once
   * (decisions become visible at commit; a caught-up partition commits at once). 0: every chunk.
   */
  FRAUD_COMMIT_INTERVAL_MS: int(0, 60_000).optional(),
  /** Partitions handled at the same time: one's broker round trips overlap another's scoring. */
  FRAUD_CONCURRENT_PARTITIONS: int(1, 64).default(4),
  /**
   * Whether every Decision carries its 15 model inputs (`features`), for audits, drift
   * monitoring or retraining from the decisions topic. Off by default: 120 more bytes per
   * decision cost ~15 % of the scorer's throughput (bench: alo-features-rdk vs alo-rdk), and a
   * flag's subscriber does not read them. Off, the field is an empty array (its Avro default).
   */
  FRAUD_DECISION_FEATURES: bool.default(false),
  /** Upper bound of events scored in one model call (bounds event-loop blocking). */
  FRAUD_MAX_BATCH: int(1, 10_000).default(500),
  /** Events later than wall clock + this are implausible and dead-lettered. */
  FRAUD_MAX_FUTURE_SKEW_MS: int(0, 7 * 86_400_000).default(300_000),
  /** Largest plausible amount in minor units (cents); above it the event is dead-lettered. */
  // Card state stores amounts as int32 minor units: the cap keeps every accepted amount storable.
  FRAUD_MAX_AMOUNT_MINOR: int(1, 2 ** 31 - 1).default(100_000_000),
  FRAUD_ADMIN_PORT: int(0, 65_535).default(9464),
  FRAUD_ADMIN_HOST: z.string().min(1).default('0.0.0.0'),
  FRAUD_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  FRAUD_OTEL_ENDPOINT: z.string().url().or(z.literal('')).default(''),
  FRAUD_TRACE_SAMPLE_RATIO: z.coerce.number().min(0).max(1).default(0.01),
  FRAUD_FROM_BEGINNING: bool.default(true),
  /** Consumer group session timeout: a member silent this long is evicted (broker allows ≥ 6 s). */
  FRAUD_SESSION_TIMEOUT_MS: int(6_000, 1_800_000).default(30_000),
  /**
   * Exactly-once: the broker aborts a transaction left open this long (≤ the broker's
   * transaction.max.timeout.ms). Empty: 10 s on librdkafka (one transactional id per instance:
   * a hung instance's open transaction holds back read_committed readers of its partitions until
   * then, as in Kafka Streams), 60 s on kafkajs (one id per partition: the next owner fences it at once).
   */
  FRAUD_TRANSACTION_TIMEOUT_MS: int(1_000, 900_000).optional(),
  /** Fault tests only: SIGKILL the process at this point … */
  FRAUD_CRASH_POINT: z.enum(CRASH_POINTS).default('none'),
  /** … the n-th time it is reached. */
  FRAUD_CRASH_AFTER: int(1, 1_000_000).default(1),
  /** Fault tests only: extra delay added to every model call (a slow model). */
  FRAUD_INJECT_MODEL_DELAY_MS: int(0, 600_000).default(0),
});

export type RawConfig = z.infer<typeof schema>;

export interface ScorerConfig {
  readonly brokers: readonly string[];
  /** TLS and SASL for every Kafka client of the scorer (FRAUD_KAFKA_SECURITY_PROTOCOL, …). */
  readonly security: KafkaSecurity;
  readonly clientId: string;
  readonly kafkaClient: KafkaClientName;
  /** Stable name of this instance (librdkafka exactly-once: its transactional id). */
  readonly instanceId: string;
  readonly groupId: string;
  readonly topics: {
    readonly transactions: string;
    readonly outcomes: string;
    readonly decisions: string;
    readonly flags: string;
    readonly dlq: string;
    readonly cardState: string;
    readonly shadowDecisions: string;
    readonly deployments: string;
    readonly deploymentStatus: string;
    readonly replies: string;
  };
  readonly wireFormat: 'confluent' | 'plain';
  /** FRAUD_SCHEMA_REGISTRY_*: writer schemas and ids from a registry; undefined: schemas/ids.json. */
  readonly schemaRegistry?: RegistrySettings;
  readonly modelsDir: string;
  readonly model: string;
  /** FRAUD_MODEL_PUBLIC_KEYS, read at start-up; undefined: model signatures are not checked. */
  readonly modelPublicKeys?: readonly ModelPublicKey[];
  readonly delivery: 'at-least-once' | 'exactly-once';
  readonly maxBatch: number;
  readonly decisionFeatures: boolean;
  readonly commitIntervalMs: number;
  readonly concurrentPartitions: number;
  readonly maxFutureSkewMs: number;
  readonly maxAmountMinor: number;
  readonly admin: { readonly host: string; readonly port: number };
  readonly logLevel: RawConfig['FRAUD_LOG_LEVEL'];
  readonly otel: { readonly endpoint: string; readonly sampleRatio: number };
  readonly fromBeginning: boolean;
  readonly sessionTimeoutMs: number;
  readonly transactionTimeoutMs: number;
  readonly faults: { readonly crashPoint: CrashPoint; readonly crashAfter: number; readonly modelDelayMs: number };
}

/** Thrown when configuration is invalid; the message names every bad variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * The variables a schema declares, read from an environment map (empty means unset) and
 * validated; KAFKA_BROKERS stands in for an unset FRAUD_KAFKA_BROKERS. Throws ConfigError
 * naming every bad variable. Shared by every service's config (scorer, monitor).
 */
export function parseEnvironment<S extends z.ZodObject<z.ZodRawShape>>(schema: S, env: Record<string, string | undefined>): z.infer<S> {
  const input: Record<string, string> = {};
  for (const key of Object.keys(schema.shape)) {
    const value = env[key];
    if (value !== undefined && value !== '') input[key] = value;
  }
  if ('FRAUD_KAFKA_BROKERS' in schema.shape) input.FRAUD_KAFKA_BROKERS ??= env.KAFKA_BROKERS ?? '';
  const parsed = schema.safeParse(input);
  const lines = parsed.success ? [] : parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
  // Kafka's security settings are read the same way by every client (kafka-security.ts);
  // a service that talks to Kafka refuses a bad one here, with the rest of its config.
  if ('FRAUD_KAFKA_BROKERS' in schema.shape) {
    try {
      kafkaSecurityFromEnv(env);
    } catch (err) {
      if (!(err instanceof SettingError)) throw err;
      lines.push(`  ${err.message}`);
    }
  }
  if (!parsed.success || lines.length) throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  return parsed.data;
}

/**
 * Builds the config from an environment map. KAFKA_BROKERS is accepted as a fallback for
 * FRAUD_KAFKA_BROKERS so the scorer joins the same broker as the tests and the demo.
 */
export function loadConfig(env: Record<string, string | undefined>): ScorerConfig {
  const c = parseEnvironment(schema, env);
  const transactionTimeoutMs = c.FRAUD_TRANSACTION_TIMEOUT_MS ?? (c.FRAUD_KAFKA_CLIENT === 'librdkafka' ? 10_000 : 60_000);
  const schemaRegistry = registrySettings(env, c, transactionTimeoutMs);
  return deepFreeze({
    brokers: c.FRAUD_KAFKA_BROKERS.split(','),
    security: kafkaSecurityFromEnv(env),
    clientId: c.FRAUD_CLIENT_ID,
    kafkaClient: c.FRAUD_KAFKA_CLIENT,
    instanceId: c.FRAUD_INSTANCE_ID ?? (c.FRAUD_ADMIN_PORT > 0 ? `${hostname().replace(/[^\w.-]/g, '_').slice(0, 80)}-${c.FRAUD_ADMIN_PORT}` : randomUUID()),
    groupId: c.FRAUD_GROUP_ID,
    topics: {
      transactions: c.FRAUD_TOPIC_TRANSACTIONS,
      outcomes: c.FRAUD_TOPIC_OUTCOMES,
      decisions: c.FRAUD_TOPIC_DECISIONS,
      flags: c.FRAUD_TOPIC_FLAGS,
      dlq: c.FRAUD_TOPIC_DLQ,
      cardState: c.FRAUD_TOPIC_CARD_STATE,
      shadowDecisions: c.FRAUD_TOPIC_SHADOW_DECISIONS,
      deployments: c.FRAUD_TOPIC_DEPLOYMENTS,
      deploymentStatus: c.FRAUD_TOPIC_DEPLOYMENT_STATUS,
      replies: c.FRAUD_TOPIC_REPLIES,
    },
    wireFormat: c.FRAUD_WIRE_FORMAT,
    ...(schemaRegistry ? { schemaRegistry } : {}),
    modelsDir: c.FRAUD_MODELS_DIR,
    model: c.FRAUD_MODEL,
    modelPublicKeys: modelPublicKeys(c.FRAUD_MODEL_PUBLIC_KEYS),
    delivery: c.FRAUD_DELIVERY,
    maxBatch: c.FRAUD_MAX_BATCH,
    decisionFeatures: c.FRAUD_DECISION_FEATURES,
    commitIntervalMs: c.FRAUD_COMMIT_INTERVAL_MS ?? (c.FRAUD_DELIVERY === 'exactly-once' ? 100 : 1000),
    concurrentPartitions: c.FRAUD_CONCURRENT_PARTITIONS,
    maxFutureSkewMs: c.FRAUD_MAX_FUTURE_SKEW_MS,
    maxAmountMinor: c.FRAUD_MAX_AMOUNT_MINOR,
    admin: { host: c.FRAUD_ADMIN_HOST, port: c.FRAUD_ADMIN_PORT },
    logLevel: c.FRAUD_LOG_LEVEL,
    otel: { endpoint: c.FRAUD_OTEL_ENDPOINT, sampleRatio: c.FRAUD_TRACE_SAMPLE_RATIO },
    fromBeginning: c.FRAUD_FROM_BEGINNING,
    sessionTimeoutMs: c.FRAUD_SESSION_TIMEOUT_MS,
    transactionTimeoutMs,
    faults: { crashPoint: c.FRAUD_CRASH_POINT, crashAfter: c.FRAUD_CRASH_AFTER, modelDelayMs: c.FRAUD_INJECT_MODEL_DELAY_MS },
  });
}

/** The key files are read now: an unreadable or wrong one fails start-up (exit 2), not a model load. */
function modelPublicKeys(list: string | undefined): readonly ModelPublicKey[] | undefined {
  if (list === undefined) return undefined;
  try {
    return loadPublicKeys(list);
  } catch (err) {
    throw new ConfigError(`invalid configuration:\n  FRAUD_MODEL_PUBLIC_KEYS: ${(err as Error).message}`);
  }
}

/**
 * The registry settings (services/common/src/schema-registry.ts). A batch may wait for an unknown
 * id up to the bound with its transaction open and without polling, so the bound must stay well
 * inside the session and transaction timeouts.
 */
function registrySettings(env: Record<string, string | undefined>, c: RawConfig, transactionTimeoutMs: number): RegistrySettings | undefined {
  let settings: RegistrySettings | undefined;
  try {
    settings = readRegistrySettings(env);
  } catch (err) {
    if (err instanceof SettingError) throw new ConfigError(`invalid configuration:\n  ${err.message}`);
    throw err;
  }
  if (!settings) return undefined;
  if (c.FRAUD_WIRE_FORMAT !== 'confluent') throw new ConfigError('invalid configuration:\n  FRAUD_SCHEMA_REGISTRY_URL: set, but FRAUD_WIRE_FORMAT is plain (values carry no schema id)');
  const limit = Math.min(c.FRAUD_SESSION_TIMEOUT_MS, c.FRAUD_DELIVERY === 'exactly-once' ? transactionTimeoutMs : Infinity) / 2;
  if (settings.unknownIdWaitMs > limit) throw new ConfigError(`invalid configuration:\n  ${REGISTRY_UNKNOWN_ID_WAIT_MS}: ${settings.unknownIdWaitMs} ms is more than half the session or transaction timeout (at most ${limit})`);
  return settings;
}

function deepFreeze<T extends object>(value: T): T {
  for (const v of Object.values(value)) if (v && typeof v === 'object') deepFreeze(v as object);
  return Object.freeze(value);
}
