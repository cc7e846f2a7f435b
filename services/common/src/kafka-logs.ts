/**
 * kafkajs's log entries, re-levelled so that ERROR means something is wrong.
 *
 * kafkajs logs every broker response that carries an error at ERROR ("Response
 * AddPartitionsToTxn(key: 24, version: 1)"), and again when it retries ("Failed to send
 * messages: …"), even when the condition is routine and handled. Measured on a healthy local
 * broker (two scorers joining and leaving under 400 events/s, exactly-once, 45 s): each scorer
 * logged ~180 CONCURRENT_TRANSACTIONS pairs (a transaction begun right after a commit, retried
 * ~10 ms later) and a Heartbeat REBALANCE_IN_PROGRESS ERROR + "re-joining" WARN per rebalance;
 * nothing else. (The single-scorer integration tests log nothing at WARN or above.)
 *
 * A closed set of such conditions, named by their Kafka error type, is logged at a lower level
 * and counted in `kafkaClientRetries` (once per broker response carrying it: kafkajs's
 * Connection "Response …" entry; the follow-up lines of the same retry are re-levelled but not
 * counted again). Anything else keeps kafkajs's level: a broker down, a fenced producer, an
 * unsupported codec stay ERROR.
 */
import { createRequire } from 'node:module';
import { logLevel, type LogEntry } from 'kafkajs';

/** Routine conditions kafkajs retries or recovers from by itself, and how loudly to log them. */
const ROUTINE = {
  // AddPartitionsToTxn/AddOffsetsToTxn while the previous transaction's commit is completing
  CONCURRENT_TRANSACTIONS: logLevel.DEBUG,
  // a member joined or left: heartbeats and commits answer this until everyone re-joined
  REBALANCE_IN_PROGRESS: logLevel.INFO,
  // the group coordinator moved or is loading: kafkajs finds it again and retries
  NOT_COORDINATOR_FOR_GROUP: logLevel.INFO,
  GROUP_COORDINATOR_NOT_AVAILABLE: logLevel.INFO,
  GROUP_LOAD_IN_PROGRESS: logLevel.INFO,
  // partition leadership moved: metadata refresh and retry
  NOT_LEADER_FOR_PARTITION: logLevel.INFO,
  LEADER_NOT_AVAILABLE: logLevel.INFO,
  // the member's session had expired; kafkajs re-joins. Recovered, but it means this member was
  // too slow to heartbeat (or paused): a warning, not an error.
  UNKNOWN_MEMBER_ID: logLevel.WARN,
} as const satisfies Record<string, logLevel>;

export type KafkaRetryReason = keyof typeof ROUTINE;
export const KAFKA_RETRY_REASONS = Object.keys(ROUTINE) as KafkaRetryReason[];

const STATS = Symbol.for('fraudscore.kafka-client-retries');

/**
 * Broker responses with a routine, retried error, by reason, since start (kafkajs clients of
 * this process). One object per process, kept on globalThis.
 */
export const kafkaClientRetries: Readonly<Record<KafkaRetryReason, number>> = ((globalThis as Record<symbol, unknown>)[STATS] ??=
  Object.fromEntries(KAFKA_RETRY_REASONS.map((r) => [r, 0]))) as Record<KafkaRetryReason, number>;

/**
 * librdkafka's non-fatal client errors (broker connection lost, all brokers down, a request
 * timed out…), by librdkafka error name: it retries them itself (and its routine protocol
 * retries, such as CONCURRENT_TRANSACTIONS, are internal and not reported at all). Counted by
 * the librdkafka transport, read by the scorer's metrics.
 */
export const librdkafkaClientErrors = new Map<string, number>();

/** kafkajs's own text for each routine error (its protocol error table), to recognise entries by. */
const REASON_BY_TEXT: ReadonlyMap<string, KafkaRetryReason> = (() => {
  const { errorCodes } = createRequire(import.meta.url)('kafkajs/src/protocol/error') as { errorCodes: { type: string; message: string }[] };
  const map = new Map<string, KafkaRetryReason>();
  for (const { type, message } of errorCodes) if (type in ROUTINE) map.set(message, type as KafkaRetryReason);
  return map;
})();

const FAILED_TO_SEND = 'Failed to send messages: ';

export interface KafkaLogVerdict {
  /** The level to log at (kafkajs's numbering: ERROR 1, WARN 2, INFO 4, DEBUG 5). */
  level: logLevel;
  /** Set when the entry is a routine condition. */
  reason?: KafkaRetryReason;
  /** Whether this entry is the one counted for its retry (the broker response). */
  counted: boolean;
}

/** How to treat a kafkajs log entry: its routine reason, if any, and the level it deserves. */
export function classifyKafkaLog(entry: LogEntry): KafkaLogVerdict {
  const { message, error } = entry.log as { message: string; error?: unknown };
  const reason =
    (typeof error === 'string' ? REASON_BY_TEXT.get(error) : undefined) ??
    REASON_BY_TEXT.get(message.startsWith(FAILED_TO_SEND) ? message.slice(FAILED_TO_SEND.length) : message);
  if (!reason) return { level: entry.level, counted: false };
  const counted = entry.namespace === 'Connection' && message.startsWith('Response ');
  // never louder than kafkajs made it
  return { level: Math.max(entry.level, ROUTINE[reason]) as logLevel, reason, counted };
}

const LABEL: Record<number, string> = { [logLevel.ERROR]: 'ERROR', [logLevel.WARN]: 'WARN', [logLevel.INFO]: 'INFO', [logLevel.DEBUG]: 'DEBUG' };
const IDEMPOTENT_RETRIES_WARNING = 'Limiting retries for the idempotent producer may invalidate EoS guarantees';

/**
 * A kafkajs `logCreator`: JSON lines on `write` (stderr), routine conditions counted and
 * re-levelled (and dropped when below the client's level), logger named by kafkajs namespace.
 */
export function kafkaLogCreator(write: (line: string) => void = (line) => void process.stderr.write(line)) {
  return (clientLevel: logLevel) => (entry: LogEntry) => {
    // Retries are bounded on purpose, so a dead broker fails a send instead of hanging it;
    // a failed send is never committed past, so nothing is lost. The warning adds nothing.
    if (entry.log.message === IDEMPOTENT_RETRIES_WARNING) return;
    const verdict = classifyKafkaLog(entry);
    if (verdict.counted) (kafkaClientRetries as Record<KafkaRetryReason, number>)[verdict.reason!]++;
    if (verdict.level > clientLevel) return;
    const { message, logger: _logger, ...rest } = entry.log as LogEntry['log'] & { logger?: string };
    const line = {
      level: LABEL[verdict.level] ?? entry.label,
      logger: entry.namespace ? `kafkajs.${entry.namespace}` : 'kafkajs',
      msg: message,
      ...rest,
      ...(verdict.reason ? { retry: verdict.reason } : {}),
    };
    write(`${JSON.stringify(line)}\n`);
  };
}
