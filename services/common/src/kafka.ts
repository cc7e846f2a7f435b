/**
 * The one place that builds kafkajs clients, so settings (client id, logging, retries) are
 * the same for the scorer, the simulator and the CLI, and the client can be swapped later.
 */
import { Kafka, logLevel, type KafkaConfig, type LogEntry } from 'kafkajs';

export const TOPICS = {
  transactions: 'transactions',
  outcomes: 'transaction-outcomes',
  decisions: 'fraud-decisions',
  flags: 'fraud-flags',
  dlq: 'transactions-dlq',
} as const;

export interface KafkaOptions {
  brokers: string[];
  clientId: string;
  /** kafkajs logs at WARN and above unless told otherwise; they go to stderr as JSON. */
  logLevel?: logLevel;
  retries?: number;
}

export function createKafka(opts: KafkaOptions): Kafka {
  const config: KafkaConfig = {
    clientId: opts.clientId,
    brokers: opts.brokers,
    logLevel: opts.logLevel ?? logLevel.WARN,
    logCreator: () => (entry: LogEntry) => {
      const { message, ...rest } = entry.log;
      process.stderr.write(`${JSON.stringify({ level: entry.label, logger: `kafkajs.${entry.namespace}`, msg: message, ...rest })}\n`);
    },
    retry: { retries: opts.retries ?? 8, initialRetryTime: 100, maxRetryTime: 5_000 },
  };
  return new Kafka(config);
}

/** Brokers from KAFKA_BROKERS-style text: "host:port,host:port". */
export function parseBrokers(text: string): string[] {
  return text.split(',').map((s) => s.trim()).filter(Boolean);
}
