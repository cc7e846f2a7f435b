/**
 * kafkajs log entries re-levelled: routine retries counted and logged below ERROR, anything
 * else left as kafkajs logged it. Entries come from kafkajs's own logger (loggers/index.js), with
 * the namespaces, messages and fields its call sites use — the lines below were seen on a
 * healthy broker (two scorers joining and leaving under traffic).
 */
import { createRequire } from 'node:module';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { logLevel, type LogEntry } from 'kafkajs';
import { classifyKafkaLog, kafkaClientRetries, kafkaLogCreator, KAFKA_RETRY_REASONS } from '../../../services/common/src/kafka-logs.js';
import { observeKafkaClient } from '../../../services/scorer/src/telemetry/metrics.js';

const require = createRequire(import.meta.url);
type LogFn = (message: string, extra?: object) => void;
type Logger = { namespace(ns: string): Record<'error' | 'warn' | 'info' | 'debug', LogFn> };
const { createLogger } = require('kafkajs/src/loggers') as { createLogger(opts: { level: logLevel; logCreator: (level: logLevel) => (e: LogEntry) => void }): Logger };

const CONCURRENT = 'The producer attempted to update a transaction while another concurrent operation on the same transaction was ongoing';
const REBALANCING = 'The group is rebalancing, so a rejoin is needed';
const UNKNOWN_MEMBER = 'The coordinator is not aware of this member';

/** A kafkajs logger at `level` whose entries go through kafkaLogCreator; returns the lines written and the raw entries. */
function kafkajsLogger(level = logLevel.WARN) {
  const lines: Record<string, unknown>[] = [];
  const entries: LogEntry[] = [];
  const creator = kafkaLogCreator((line) => lines.push(JSON.parse(line) as Record<string, unknown>));
  const logger = createLogger({
    level,
    logCreator: (l) => {
      const inner = creator(l);
      return (e) => (entries.push(e), inner(e));
    },
  });
  return { logger, lines, entries };
}

const conn = { broker: '127.0.0.1:9092', clientId: 'fraudscore-scorer', correlationId: 34, size: 79 };

describe('kafkajs log mapping', () => {
  it('CONCURRENT_TRANSACTIONS after a commit: counted once per broker response, logged at DEBUG (dropped at WARN)', () => {
    const { logger, lines, entries } = kafkajsLogger();
    const before = kafkaClientRetries.CONCURRENT_TRANSACTIONS;
    logger.namespace('Connection').error('Response AddPartitionsToTxn(key: 24, version: 1)', { ...conn, error: CONCURRENT });
    logger.namespace('Producer').error(`Failed to send messages: ${CONCURRENT}`, { retryCount: 0, retryTime: 11 });
    expect(entries.map((e) => e.label)).toEqual(['ERROR', 'ERROR']); // what kafkajs said
    expect(entries.map(classifyKafkaLog)).toEqual([
      { level: logLevel.DEBUG, reason: 'CONCURRENT_TRANSACTIONS', counted: true },
      { level: logLevel.DEBUG, reason: 'CONCURRENT_TRANSACTIONS', counted: false },
    ]);
    expect(lines).toEqual([]);
    expect(kafkaClientRetries.CONCURRENT_TRANSACTIONS).toBe(before + 1);
  });

  it('a rebalance: the heartbeat response and the runner re-joining go to INFO, shown at DEBUG level with the reason', () => {
    const { logger, lines } = kafkajsLogger(logLevel.DEBUG);
    const before = kafkaClientRetries.REBALANCE_IN_PROGRESS;
    logger.namespace('Connection').error('Response Heartbeat(key: 12, version: 3)', { ...conn, error: REBALANCING });
    logger.namespace('Runner').warn('The group is rebalancing, re-joining', { groupId: 'g', memberId: 'm', error: REBALANCING });
    expect(lines.map((l) => [l.level, l.logger, l.msg, l.retry])).toEqual([
      ['INFO', 'kafkajs.Connection', 'Response Heartbeat(key: 12, version: 3)', 'REBALANCE_IN_PROGRESS'],
      ['INFO', 'kafkajs.Runner', 'The group is rebalancing, re-joining', 'REBALANCE_IN_PROGRESS'],
    ]);
    expect(lines[0]).toMatchObject({ broker: '127.0.0.1:9092', error: REBALANCING, correlationId: 34 });
    expect(typeof lines[0]!.timestamp).toBe('string');
    expect(kafkaClientRetries.REBALANCE_IN_PROGRESS).toBe(before + 1);
  });

  it('an expired member re-joining is a WARN, not an ERROR', () => {
    const { logger, lines } = kafkajsLogger();
    logger.namespace('Connection').error('Response Heartbeat(key: 12, version: 3)', { ...conn, error: UNKNOWN_MEMBER });
    logger.namespace('Runner').error('The coordinator is not aware of this member, re-joining the group', { groupId: 'g', memberId: 'm', error: UNKNOWN_MEMBER });
    expect(lines.map((l) => [l.level, l.retry])).toEqual([['WARN', 'UNKNOWN_MEMBER_ID'], ['WARN', 'UNKNOWN_MEMBER_ID']]);
  });

  it('coordinator and leader moves are INFO', () => {
    const { entries, logger } = kafkajsLogger();
    logger.namespace('Connection').error('Response OffsetCommit(key: 8, version: 5)', { ...conn, error: 'This is not the correct coordinator for this group' });
    logger.namespace('Producer').error('Failed to send messages: This server is not the leader for that topic-partition', { retryCount: 1, retryTime: 300 });
    expect(entries.map((e) => [classifyKafkaLog(e).reason, classifyKafkaLog(e).level])).toEqual([
      ['NOT_COORDINATOR_FOR_GROUP', logLevel.INFO],
      ['NOT_LEADER_FOR_PARTITION', logLevel.INFO],
    ]);
  });

  it('keeps ERROR for everything else: a crash, a fenced producer, a lost connection, an unsupported codec', () => {
    const { logger, lines } = kafkajsLogger();
    const totals = { ...kafkaClientRetries };
    logger.namespace('Consumer').error('Crash: KafkaJSNotImplemented: LZ4 compression not implemented', { groupId: 'g', stack: '…' });
    logger.namespace('Connection').error('Response Fetch(key: 1, version: 11)', { ...conn, error: 'LZ4 compression not implemented' });
    logger.namespace('Connection').error('Response InitProducerId(key: 22, version: 1)', { ...conn, error: 'There is a newer producer with the same transactionalId which fences the current one' });
    logger.namespace('Connection').error('Connection error: connect ECONNREFUSED 127.0.0.1:9092', { broker: '127.0.0.1:9092', clientId: 'c', stack: '…' });
    logger.namespace('BrokerPool').error('Failed to connect to seed broker, trying another broker from the list: Connection error: connect ECONNREFUSED', { retryCount: 0, retryTime: 300 });
    expect(lines.map((l) => [l.level, l.logger])).toEqual([
      ['ERROR', 'kafkajs.Consumer'], ['ERROR', 'kafkajs.Connection'], ['ERROR', 'kafkajs.Connection'], ['ERROR', 'kafkajs.Connection'], ['ERROR', 'kafkajs.BrokerPool'],
    ]);
    expect(lines.every((l) => !('retry' in l))).toBe(true);
    expect({ ...kafkaClientRetries }).toEqual(totals);
  });

  it('names the logger by kafkajs namespace (kafkajs\'s own `logger` field no longer overwrites it) and drops the idempotent-retries warning', () => {
    const { logger, lines } = kafkajsLogger();
    logger.namespace('Producer').warn('Limiting retries for the idempotent producer may invalidate EoS guarantees');
    logger.namespace('ConsumerGroup').warn('Consumer is not aware of all assigned partitions, refreshing metadata', { groupId: 'g' });
    expect(lines).toEqual([expect.objectContaining({ level: 'WARN', logger: 'kafkajs.ConsumerGroup', msg: 'Consumer is not aware of all assigned partitions, refreshing metadata', groupId: 'g' })]);
  });

  it('exposes the counts as fraudscore_kafka_client_retries_total{client,reason} beside fraudscore_undecodable_batches_total{codec}', async () => {
    const exporter = new PrometheusExporter({ preventServerStart: true });
    const provider = new MeterProvider({ readers: [exporter] });
    const meter = provider.getMeter('fraudscore', 'test');
    observeKafkaClient(meter);
    observeKafkaClient(meter); // once per meter
    const text = await new Promise<string>((resolve) => {
      const res = { statusCode: 0, setHeader: () => undefined, end: (body: string) => resolve(body) };
      exporter.getMetricsRequestHandler({} as IncomingMessage, res as unknown as ServerResponse);
    });
    await provider.shutdown();
    for (const reason of KAFKA_RETRY_REASONS) {
      const m = text.match(new RegExp(`^fraudscore_kafka_client_retries_total\\{client="kafkajs",reason="${reason}"[^}]*\\} (\\d+)`, 'm'));
      expect(Number(m?.[1]), reason).toBe(kafkaClientRetries[reason]);
    }
    expect(text.match(/^fraudscore_kafka_client_retries_total\{/gm)).toHaveLength(KAFKA_RETRY_REASONS.length);
    expect(text).toMatch(/^fraudscore_undecodable_batches_total\{codec="lz4"[^}]*\} \d+/m);
  });
});
