/**
 * The one place that builds kafkajs clients, so settings (client id, logging, retries) are
 * the same for the scorer, the simulator and the CLI, and the client can be swapped later.
 */
import { Kafka, logLevel, type KafkaConfig, type logCreator } from 'kafkajs';
import { registerKafkaCodecs } from './kafka-codecs.js';
import { kafkaSecurityFromEnv, kafkajsSecurity, type KafkaSecurity } from './kafka-security.js';
import { kafkaLogCreator } from './kafka-logs.js';

export const TOPICS = {
  transactions: 'transactions',
  outcomes: 'transaction-outcomes',
  decisions: 'fraud-decisions',
  flags: 'fraud-flags',
  dlq: 'transactions-dlq',
  shadowDecisions: 'fraud-shadow-decisions',
  deployments: 'fraudscore-deployments',
  deploymentStatus: 'fraudscore-deployment-status',
  replies: 'fraud-replies',
} as const;

export interface KafkaOptions {
  brokers: string[];
  clientId: string;
  /** kafkajs logs at WARN and above unless told otherwise; they go to stderr as JSON. */
  logLevel?: logLevel;
  retries?: number;
  /** Where kafkajs's log lines go; by default our JSON lines on stderr (kafka-logs.ts). */
  logCreator?: logCreator;
  /** TLS and SASL; by default from FRAUD_KAFKA_SECURITY_PROTOCOL and friends (kafka-security.ts). */
  security?: KafkaSecurity;
}

export function createKafka(opts: KafkaOptions): Kafka {
  // lz4, snappy and zstd besides gzip; undecodable batches become dead-letter records
  registerKafkaCodecs();
  silenceKafkajsNegativeTimeout();
  const config: KafkaConfig = {
    clientId: opts.clientId,
    brokers: opts.brokers,
    logLevel: opts.logLevel ?? logLevel.WARN,
    // routine retries (CONCURRENT_TRANSACTIONS, rebalances, …) counted and logged below ERROR
    logCreator: opts.logCreator ?? kafkaLogCreator(),
    retry: { retries: opts.retries ?? 8, initialRetryTime: 100, maxRetryTime: 5_000 },
    ...kafkajsSecurity(opts.security ?? kafkaSecurityFromEnv(process.env)),
  };
  return new Kafka(config);
}

let silenced = false;

/**
 * kafkajs 2.2.4 (its last release) schedules its request queue's throttle check with a
 * negative delay when it is not throttled (network/requestQueue: throttledUntil − now); Node
 * always ran it after 1 ms, and since Node 23 also prints a TimeoutNegativeWarning to stderr
 * for it, once per process, in every scorer log. That one warning, from that one place, is
 * dropped; any other still prints.
 */
function silenceKafkajsNegativeTimeout(): void {
  if (silenced) return;
  silenced = true;
  const emit = process.emitWarning.bind(process) as (...args: unknown[]) => void;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const type = typeof rest[0] === 'string' ? rest[0] : (rest[0] as { type?: string } | undefined)?.type;
    if (type === 'TimeoutNegativeWarning' && /kafkajs[\\/]src[\\/]network[\\/]requestQueue/.test(new Error().stack ?? '')) return;
    emit(warning, ...rest);
  }) as typeof process.emitWarning;
}

/** Brokers from KAFKA_BROKERS-style text: "host:port,host:port". */
export function parseBrokers(text: string): string[] {
  return text.split(',').map((s) => s.trim()).filter(Boolean);
}

/**
 * Retries an admin call that fails transiently right after topic creation or a broker
 * restart (e.g. NOT_LEADER_FOR_PARTITION while leaders are elected); kafkajs does not retry
 * those for admin requests.
 */
export async function retryTransient<T>(call: () => Promise<T>, attempts = 20, delayMs = 250): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await call();
    } catch (err) {
      const retriable = (err as { retriable?: boolean }).retriable === true;
      if (!retriable || i >= attempts) throw err;
      await new Promise((r) => setTimeout(r, delayMs));
    }
  }
}

/** End offsets (next offset to be written) per partition of a topic. */
export async function fetchEndOffsets(kafka: Kafka, topic: string): Promise<Map<number, { low: bigint; high: bigint }>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await retryTransient(() => admin.fetchTopicOffsets(topic));
    return new Map(offsets.map((p) => [p.partition, { low: BigInt(p.low), high: BigInt(p.high) }]));
  } finally {
    await admin.disconnect();
  }
}
