/**
 * The backtest's rows: the feature rows of the transactions with since <= eventTime < until,
 * replayed from the Kafka topics exactly as `fraudscore features --from-kafka` replays them
 * (history/replay.ts: offsets by timestamp, the 37-day look-back fed to the engine but not
 * kept, read_committed up to the end offsets captured at start, nothing committed, the
 * throwaway group deleted), but kept in memory as the scoring loop's float32 inputs instead of
 * being written as CSV. The same pieces in the same order as writeKafkaFeatureTable +
 * writeLoadedHistory (history/table.ts): loadKafkaHistory, the max-bad decision, then
 * batchFeatures over mergeEvents, keeping the rows with eventTime >= since.
 *
 * Labels are what the outcomes topic held up to its end offset when the replay began: a row
 * whose outcome was not published by then has none (label -1).
 */
import { batchFeatures, FEATURE_COUNT, type FeatureRow } from '../../../scorer/src/features/index.js';
import { createProgress } from '../../../simulator/src/progress.js';
import { mergeEvents, type History } from '../history/merge.js';
import { loadKafkaHistory, type KafkaHistory, type KafkaHistoryOptions, type Truncation } from '../history/replay.js';

/** A label: 1 fraud, 0 genuine, -1 no outcome on the topic yet. */
export const NO_LABEL = -1;

/** The rows, column by column (row i of every column is the same transaction). */
export interface BacktestRows {
  n: number;
  /** n × FEATURE_COUNT float32 values, row-major, FEATURE_NAMES order: the model input. */
  X: Float32Array;
  ids: string[];
  cards: string[];
  /** amountMinor of each transaction. */
  amounts: Float64Array;
  eventTimes: Float64Array;
  /** 1 fraud, 0 genuine, NO_LABEL without an outcome. */
  labels: Int8Array;
}

/** What the replay read, kept and skipped (for the report). */
export interface ReplaySummary {
  fromTimestamp: number;
  read: KafkaHistory['read'];
  outside: KafkaHistory['outside'];
  unjoinedOutcomes: number;
  /** Transactions before `since` that fed the windows but are not rows. */
  context: number;
  badRecords: number;
  byKind: string;
  errorLines: string[];
  droppedOutcomes: number;
  truncated: Truncation[];
}

export interface ReplayedRows {
  rows: BacktestRows;
  replay: ReplaySummary;
}

/** More bad records than allowed: nothing is scored (as `features --from-kafka` writes no table). */
export class TooManyBadRecords extends Error {
  override name = 'TooManyBadRecords';
  constructor(readonly replay: ReplaySummary, maxBad: number) {
    super(`${replay.badRecords} bad record${replay.badRecords === 1 ? '' : 's'} (${replay.byKind}), more than --max-bad ${maxBad}: nothing scored`);
  }
}

/**
 * The feature rows of a loaded history with eventTime >= since, in the engine's order. Every
 * transaction (the look-back included) goes through the engine; only those rows are yielded.
 */
export async function* featureRowsSince(history: History, since: number): AsyncGenerator<FeatureRow> {
  for await (const row of batchFeatures(mergeEvents(history.transactions, history.outcomes))) {
    if (row.tx.eventTime >= since) yield row;
  }
}

/** Collects feature rows into columns (features converted to float32 as the scoring loop does). */
export async function collectRows(rows: AsyncIterable<FeatureRow> | Iterable<FeatureRow>): Promise<BacktestRows> {
  const width = FEATURE_COUNT;
  let X = new Float32Array(width * 1024);
  const ids: string[] = [];
  const cards: string[] = [];
  const amounts: number[] = [];
  const eventTimes: number[] = [];
  const labels: number[] = [];
  let n = 0;
  for await (const row of rows) {
    if (row.features.length !== width) throw new Error(`a feature row has ${row.features.length} values, expected ${width}`);
    if ((n + 1) * width > X.length) {
      const grown = new Float32Array(X.length * 2);
      grown.set(X);
      X = grown;
    }
    X.set(row.features, n * width);
    ids.push(row.tx.transactionId);
    cards.push(row.tx.cardToken);
    amounts.push(row.tx.amountMinor);
    eventTimes.push(row.tx.eventTime);
    labels.push(row.isFraud === undefined ? NO_LABEL : row.isFraud ? 1 : 0);
    n++;
  }
  return {
    n,
    X: X.slice(0, n * width),
    ids,
    cards,
    amounts: Float64Array.from(amounts),
    eventTimes: Float64Array.from(eventTimes),
    labels: Int8Array.from(labels),
  };
}

export interface ReplayRowsOptions extends Omit<KafkaHistoryOptions, 'onProgress' | 'progressEvery'> {
  /** Bad records tolerated (skipped); more: TooManyBadRecords. Default 0. */
  maxBad?: number;
  /** Where the progress bar goes; null (default): nowhere. */
  progress?: NodeJS.WriteStream | null;
}

/**
 * Replays [since, until) from the topics (read-only, see history/replay.ts) and returns its
 * rows with their features and labels. Throws TooManyBadRecords past maxBad.
 */
export async function replayRows(opts: ReplayRowsOptions): Promise<ReplayedRows> {
  const maxBad = opts.maxBad ?? 0;
  if (!Number.isInteger(maxBad) || maxBad < 0) throw new RangeError('maxBad must be a non-negative integer');
  if (opts.window.until !== undefined && opts.window.until <= opts.window.since) throw new RangeError('until must be after since');
  if (opts.topics.transactions === opts.topics.outcomes) throw new Error(`the transactions and outcomes topics must differ (both are ${opts.topics.transactions})`);
  const stream = opts.progress ?? null;
  const reading = stream ? createProgress({ label: 'backtest: read', stream }) : { update: () => {}, stop: () => {} };
  let loaded: KafkaHistory;
  try {
    loaded = await loadKafkaHistory({ ...opts, onProgress: reading.update });
  } finally {
    reading.stop();
  }
  const { history } = loaded;
  const { since } = opts.window;
  let context = 0;
  for (const t of history.transactions) if (t.tx.eventTime < since) context++;
  const replay: ReplaySummary = {
    fromTimestamp: loaded.plan.fromTimestamp,
    read: loaded.read,
    outside: loaded.outside,
    unjoinedOutcomes: loaded.unjoinedOutcomes,
    context,
    badRecords: history.bad.total,
    byKind: history.bad.byKind(),
    errorLines: history.bad.lines(),
    droppedOutcomes: history.droppedOutcomes,
    truncated: loaded.plan.truncated,
  };
  if (history.bad.fatal || history.bad.total > maxBad) throw new TooManyBadRecords(replay, maxBad);
  const rows = await collectRows(featureRowsSince(history, since));
  return { rows, replay };
}
