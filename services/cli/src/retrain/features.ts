/**
 * Step 1 of a retrain: the feature table, by the same functions `fraudscore features` uses
 * (history/): from the user's history files (--transactions [--outcomes]), from the Kafka
 * topics (--from-kafka --since [--until], replayed read-only), or a table given as is
 * (--features). A new table is written into the run's folder; a failed or partial read leaves
 * no table and is bad input (exit 2).
 */
import { createCodecs } from '../../../common/src/contracts.js';
import { createKafka } from '../../../common/src/kafka.js';
import { assertTopicsExist } from '../../../scorer/src/source/topics.js';
import { resolveBrokers } from '../env.js';
import { parseColumnMapping } from '../history/csv.js';
import { openKafkaTopicSource } from '../history/kafka-source.js';
import { formatOf } from '../history/readers.js';
import { describeKafkaResult, parseReplayTime, replayConfig, writeKafkaFeatureTable, type ReplayWindow } from '../history/replay.js';
import { describeHistoryResult, writeHistoryFeatureTable } from '../history/table.js';
import { BadInput } from './errors.js';

export type FeatureInput =
  | { kind: 'table'; path: string }
  | { kind: 'files'; transactions: string; outcomes?: string; format?: string; columns?: string; maxBad: number }
  | {
      kind: 'kafka'; since: string; until?: string; brokers?: string; transactionsTopic?: string; outcomesTopic?: string;
      wireFormat?: string; maxBad: number;
    };

export interface FeatureTable {
  path: string;
  note: string;
}

export interface FeatureIo {
  err: (text: string) => void;
  /** Progress bars (a TTY); null: none. */
  progress: NodeJS.WriteStream | null;
}

/** Checks the choice of source and its options before anything is read. */
export function replayWindowOf(since: string | undefined, until: string | undefined): ReplayWindow {
  if (since === undefined) throw new BadInput('--from-kafka needs --since <date> (the first eventTime written; the 37 days before it warm the windows)');
  try {
    const window: ReplayWindow = { since: parseReplayTime(since, '--since') };
    if (until !== undefined) window.until = parseReplayTime(until, '--until');
    if (window.until !== undefined && window.until <= window.since) throw new Error('--until must be after --since');
    return window;
  } catch (err) {
    throw new BadInput((err as Error).message);
  }
}

export async function buildFeatureTable(input: FeatureInput, out: string, io: FeatureIo): Promise<FeatureTable> {
  if (input.kind === 'table') return { path: input.path, note: `${input.path} as given` };
  if (input.kind === 'files') {
    if (input.outcomes === undefined) throw new BadInput('retrain needs labels: give --outcomes with --transactions (without them TX_FRAUD is empty)');
    const files = [input.transactions, input.outcomes];
    let columns;
    try {
      const formats = files.map((f) => formatOf(f, input.format));
      if (input.columns !== undefined && !formats.includes('csv')) throw new Error('--columns applies to CSV files only');
      columns = parseColumnMapping(input.columns);
    } catch (err) {
      throw new BadInput((err as Error).message);
    }
    const r = await writeHistoryFeatureTable({ transactions: input.transactions, outcomes: input.outcomes, format: input.format, columns, maxBad: input.maxBad, out, progress: io.progress });
    for (const line of r.errorLines) io.err(`${line}\n`);
    const { notes, failure } = describeHistoryResult(r, { out, maxBad: input.maxBad, outcomes: input.outcomes });
    if (failure !== undefined) throw new BadInput(failure);
    for (const n of notes) io.err(`retrain: ${n}\n`);
    return { path: out, note: `${r.rows} rows from ${files.join(' and ')}` };
  }
  const window = replayWindowOf(input.since, input.until);
  let config;
  try {
    config = replayConfig();
  } catch (err) {
    throw new BadInput((err as Error).message);
  }
  const wireFormat = input.wireFormat ?? config.wireFormat;
  if (wireFormat !== 'confluent' && wireFormat !== 'plain') throw new BadInput(`--wire-format must be confluent or plain, not ${wireFormat}`);
  const topics = { transactions: input.transactionsTopic ?? config.topics.transactions, outcomes: input.outcomesTopic ?? config.topics.outcomes };
  const kafka = createKafka({ brokers: resolveBrokers(input.brokers), clientId: 'fraudscore-retrain' });
  await assertTopicsExist(kafka, [topics.transactions, topics.outcomes]);
  const source = await openKafkaTopicSource(kafka, { groupPrefix: 'fraudscore-retrain' });
  let r;
  try {
    r = await writeKafkaFeatureTable({ source, topics, window, codecs: createCodecs(wireFormat), rules: { limits: config.limits, wireFormat }, out, maxBad: input.maxBad, progress: io.progress });
  } finally {
    await source.close();
  }
  for (const line of r.errorLines) io.err(`${line}\n`);
  const { notes, warnings, failure } = describeKafkaResult(r, { out, maxBad: input.maxBad });
  for (const w of warnings) io.err(`warning: ${w}\n`);
  if (failure !== undefined) throw new BadInput(failure);
  for (const n of notes) io.err(`retrain: ${n}\n`);
  return { path: out, note: `${r.rows} rows replayed from ${topics.transactions} and ${topics.outcomes}` };
}
