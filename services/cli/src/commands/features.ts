import { rmSync } from 'node:fs';
import type { Command } from 'commander';
import { createCodecs } from '../../../common/src/contracts.js';
import { createKafka } from '../../../common/src/kafka.js';
import { createFeatureEngine, FEATURE_COUNT, featureRows, writeFeaturesCsv } from '../../../scorer/src/features/index.js';
import { assertTopicsExist } from '../../../scorer/src/source/topics.js';
import { createProgress, createSimulation, type SimEvent } from '../../../simulator/src/index.js';
import { resolveBrokers } from '../env.js';
import { parseColumnMapping } from '../history/csv.js';
import { formatOf, HISTORY_FORMATS } from '../history/readers.js';
import { openKafkaTopicSource } from '../history/kafka-source.js';
import { describeKafkaResult, LOOKBACK_MS, parseReplayTime, replayConfig, writeKafkaFeatureTable, type KafkaTableResult, type ReplayWindow } from '../history/replay.js';
import { describeHistoryResult, partialPathOf, writeHistoryFeatureTable } from '../history/table.js';
import { addSimulationOptions, givenSimulationFlags, simulationOptions } from '../sim-options.js';

interface FeaturesCliOptions {
  out: string;
  seed: number;
  transactions?: string;
  outcomes?: string;
  format?: string;
  columns?: string;
  maxBad?: number;
  fromKafka?: boolean;
  since?: string;
  until?: string;
  brokers?: string;
  transactionsTopic?: string;
  outcomesTopic?: string;
  wireFormat?: string;
}

const FILES_ONLY = { outcomes: '--outcomes', format: '--format', columns: '--columns' } as const;
const KAFKA_ONLY = {
  since: '--since', until: '--until', brokers: '--brokers', transactionsTopic: '--transactions-topic', outcomesTopic: '--outcomes-topic', wireFormat: '--wire-format',
} as const;
const LOOKBACK_DAYS = LOOKBACK_MS / 86_400_000;

const KAFKA_HELP = `
--from-kafka replays the transactions and transaction-outcomes topics (read-only: no offsets
are committed, by any group) through the scorer's feature engine:
  - --since and --until are EVENT times: the table holds the transactions with
    since <= eventTime < until (no --until: no end), whenever they were published;
  - rows need ${LOOKBACK_DAYS} days of history before them (30-day card windows, terminal windows of
    30 days ending 7 days back), so the replay also reads the ${LOOKBACK_DAYS} days before --since:
    those transactions and outcomes feed the windows but are not written, and the first
    rows have warm features, the same values a replay of the whole history gives them
    (if the topics still hold those days: a partition whose older records were deleted
    by retention is named in a warning);
  - Kafka seeks by record timestamp (publish time): each partition is read from the first
    record published at or after since - ${LOOKBACK_DAYS} days - FRAUD_MAX_FUTURE_SKEW_MS (a record whose
    eventTime is later than its publish time + that skew is a bad record, as for the
    scorer), up to its end offset when the replay began: --until does not shorten the read,
    since a transaction may be published any time after it happened.
Topic names, wire format and decode limits come from the scorer's variables
(FRAUD_TOPIC_TRANSACTIONS, FRAUD_TOPIC_OUTCOMES, FRAUD_WIRE_FORMAT, FRAUD_MAX_AMOUNT_MINOR,
FRAUD_MAX_FUTURE_SKEW_MS); the broker from --brokers, KAFKA_BROKERS or FRAUD_KAFKA_BROKERS.`;

const count = (v: string): number => {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`--max-bad: expected a whole number >= 0, got ${v}`);
  return n;
};

/**
 * The offline feature table, computed by the scorer's own feature engine over the same
 * merged, time-ordered stream the scorer would read (one implementation, offline and online),
 * from a simulation run, from the user's own history files, or from the Kafka topics
 * themselves (history/).
 */
export function registerFeatures(program: Command): void {
  addSimulationOptions(
    program
      .command('features')
      .description('compute the 15 reference features in batch over a simulation run, your own history (--transactions) or the Kafka topics (--from-kafka) and write them as CSV (the trainer input)')
      .requiredOption('--out <file>', 'CSV file to write')
      .option('--transactions <file>', 'your transactions (JSON Lines, CSV or Avro file) instead of a simulation')
      .option('--outcomes <file>', 'with --transactions: their outcomes (labels), same formats')
      .option('--format <f>', `with --transactions: ${HISTORY_FORMATS.join(' | ')} for both files (default: by extension)`)
      .option('--columns <map>', 'with CSV files: field=column,... to read contract fields from other header names (transaction.field= / outcome.field= for one file)')
      .option('--max-bad <n>', 'with --transactions or --from-kafka: bad lines or records to skip before failing (default 0)', count)
      .option('--from-kafka', 'replay the transactions and outcomes topics instead (read-only; see below); needs --since')
      .option('--since <date>', `with --from-kafka: first eventTime written (a date: its UTC midnight, an ISO 8601 date-time with a zone, or 42d: 42 days before today); the ${LOOKBACK_DAYS} days before it are read to warm the windows, not written`)
      .option('--until <date>', 'with --from-kafka: write rows with eventTime before this (default: no end)')
      .option('--brokers <list>', 'with --from-kafka: Kafka bootstrap servers host:port[,…] (default KAFKA_BROKERS, FRAUD_KAFKA_BROKERS, the local broker)')
      .option('--transactions-topic <name>', 'with --from-kafka: the transactions topic (default FRAUD_TOPIC_TRANSACTIONS, else transactions)')
      .option('--outcomes-topic <name>', 'with --from-kafka: the outcomes topic (default FRAUD_TOPIC_OUTCOMES, else transaction-outcomes)')
      .option('--wire-format <f>', 'with --from-kafka: confluent | plain (default FRAUD_WIRE_FORMAT, else confluent)')
      .addHelpText('after', KAFKA_HELP),
  ).action(async (opts: FeaturesCliOptions, cmd: Command) => {
    const given = (flags: Record<string, string>): string[] => Object.entries(flags).filter(([key]) => cmd.getOptionValueSource(key) === 'cli').map(([, flag]) => flag);
    const need = (flags: string[], what: string): void => {
      if (flags.length > 0) throw new Error(`${flags.join(', ')} need${flags.length === 1 ? 's' : ''} ${what}`);
    };
    if (opts.fromKafka) {
      if (opts.transactions !== undefined) throw new Error('give one source: --from-kafka or --transactions <file>, not both');
      const sim = givenSimulationFlags(cmd);
      if (sim.length > 0) throw new Error(`give one source: simulation options (${sim.join(', ')}) or --from-kafka, not both`);
      need(given(FILES_ONLY), '--transactions <file>');
      await writeReplayTable(opts);
      return;
    }
    need(given(KAFKA_ONLY), '--from-kafka');
    if (opts.transactions === undefined) {
      need(given(FILES_ONLY), '--transactions <file>');
      need(given({ maxBad: '--max-bad' }), '--transactions <file> or --from-kafka');
      const rows = await writeFeatureTable(simulationOptions(opts), opts.out);
      console.log(`features: ${rows} rows → ${opts.out}`);
      return;
    }
    const sim = givenSimulationFlags(cmd);
    if (sim.length > 0) throw new Error(`give one source: simulation options (${sim.join(', ')}) or --transactions <file>, not both`);
    await writeHistoryTable(opts as FeaturesCliOptions & { transactions: string });
  });
}

/** Ctrl-C while the table is written: no half table left behind. Returns the undo. */
function removePartialOnSignal(out: string): () => void {
  const partial = partialPathOf(out);
  const onSignal = (): void => {
    rmSync(partial, { force: true });
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}

/** The window of --since/--until, checked before anything connects. */
export function replayWindow(opts: { since?: string; until?: string }): ReplayWindow {
  if (opts.since === undefined) throw new Error('--from-kafka needs --since <date>: the first eventTime written (the days before it only warm the windows)');
  const window: ReplayWindow = { since: parseReplayTime(opts.since, '--since') };
  if (opts.until !== undefined) {
    window.until = parseReplayTime(opts.until, '--until');
    if (window.until <= window.since) throw new Error('--until must be after --since');
  }
  return window;
}

async function writeReplayTable(opts: FeaturesCliOptions): Promise<void> {
  const window = replayWindow(opts);
  const config = replayConfig();
  const wireFormat = opts.wireFormat ?? config.wireFormat;
  if (wireFormat !== 'confluent' && wireFormat !== 'plain') throw new Error(`--wire-format must be confluent or plain, not ${wireFormat}`);
  const topics = { transactions: opts.transactionsTopic ?? config.topics.transactions, outcomes: opts.outcomesTopic ?? config.topics.outcomes };
  const maxBad = opts.maxBad ?? 0;
  const kafka = createKafka({ brokers: resolveBrokers(opts.brokers), clientId: 'fraudscore-features' });
  // A missing topic would otherwise cost kafkajs's metadata retries and a cryptic error.
  await assertTopicsExist(kafka, [topics.transactions, topics.outcomes]);
  const source = await openKafkaTopicSource(kafka);
  // Interrupted, the throwaway consumer group (no offsets) is left for the broker to expire.
  const restore = removePartialOnSignal(opts.out);
  let result: KafkaTableResult;
  try {
    result = await writeKafkaFeatureTable({
      source, topics, window, codecs: createCodecs(wireFormat), rules: { limits: config.limits, wireFormat }, out: opts.out, maxBad,
    });
  } finally {
    restore();
    await source.close();
  }
  for (const line of result.errorLines) process.stderr.write(`${line}\n`);
  const { notes, warnings, failure } = describeKafkaResult(result, { out: opts.out, maxBad });
  for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
  if (failure !== undefined) throw new Error(failure);
  for (const note of notes) console.log(note);
}

async function writeHistoryTable(opts: FeaturesCliOptions & { transactions: string }): Promise<void> {
  const files = opts.outcomes === undefined ? [opts.transactions] : [opts.transactions, opts.outcomes];
  const formats = files.map((f) => formatOf(f, opts.format));
  if (opts.columns !== undefined && !formats.includes('csv')) throw new Error('--columns applies to CSV files only');
  const columns = parseColumnMapping(opts.columns);
  const maxBad = opts.maxBad ?? 0;
  const restore = removePartialOnSignal(opts.out);
  let result;
  try {
    result = await writeHistoryFeatureTable({
      transactions: opts.transactions, outcomes: opts.outcomes, format: opts.format, columns, maxBad, out: opts.out,
    });
  } finally {
    restore();
  }
  for (const line of result.errorLines) process.stderr.write(`${line}\n`);
  const { notes, failure } = describeHistoryResult(result, { out: opts.out, maxBad, outcomes: opts.outcomes });
  if (failure !== undefined) throw new Error(failure);
  for (const note of notes) console.log(note);
}

export async function writeFeatureTable(sim: Parameters<typeof createSimulation>[0], out: string): Promise<number> {
  const progress = createProgress({ label: 'features', stream: process.stderr });
  const stats = { transactions: 0, outcomes: 0, frauds: 0, elapsedMs: 0 };
  const started = Date.now();
  function* counted(events: Iterable<SimEvent>): Generator<SimEvent> {
    for (const e of events) {
      if (e.kind === 'transaction') {
        stats.transactions++;
        if (e.isFraud) stats.frauds++;
      } else stats.outcomes++;
      if ((stats.transactions + stats.outcomes) % 50_000 === 0) progress.update({ ...stats, elapsedMs: Date.now() - started });
      yield e;
    }
  }
  const rows = await writeFeaturesCsv(featureRows(counted(createSimulation(sim).events()), createFeatureEngine(), new Float64Array(FEATURE_COUNT)), out);
  progress.stop({ ...stats, elapsedMs: Date.now() - started });
  return rows;
}
