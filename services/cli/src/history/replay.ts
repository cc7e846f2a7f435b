/**
 * The feature table from the Kafka topics themselves: `fraudscore features --from-kafka
 * --since <date> [--until <date>]` replays the `transactions` and `transaction-outcomes`
 * topics (read-only) through the scorer's feature engine.
 *
 * Two clocks. --since/--until are EVENT times: the table holds the transactions with
 * since <= eventTime < until, whenever they were published. Kafka can only seek by RECORD
 * timestamp, and the publisher leaves that to the producer/broker clock (publish time, see
 * simulator/src/publisher.ts), so the two are tied together by one rule:
 *
 *  - Warm state. A row's features look back up to 30 days (card windows) and 7 + 30 days
 *    (terminal windows, from outcomes), so a replay starting at `since` with empty state would
 *    give the first 37 days cold features. The replay therefore feeds the engine everything
 *    from since - LOOKBACK_MS (37 days) on: transactions with eventTime >= since - 30 days
 *    and outcomes with eventTime >= since - 37 days go through the engine in order, and only
 *    the rows with eventTime >= since are written. Older records cannot be in any written
 *    row's window and are not kept.
 *  - Where reading starts. A record is accepted only if its eventTime is at most
 *    FRAUD_MAX_FUTURE_SKEW_MS after its record timestamp (the scorer's future-time rule,
 *    judged against the time the record was published, as a scorer reading it live would
 *    have judged it). So every record that can matter has a timestamp at or after
 *    since - LOOKBACK_MS - skew, and each partition is read from the earliest offset whose
 *    timestamp is at or after that (offsetsForTimes; the earliest record whose timestamp is at
 *    or after it, so every record before it is older). For a live topic this skips the old
 *    history; for records published long after they happened (a backfill, a simulated world
 *    published today) it reads from the start, which is still right, just longer.
 *  - Where reading ends. --until does not shorten the read: a transaction can be published
 *    any time after it happened, so every partition is read up to its end offset as captured
 *    when the replay began (a live topic does not keep it running), and records after that
 *    are left for the next replay.
 *
 * Records are decoded with the project's codecs (FRAUD_WIRE_FORMAT) and checked by the same
 * rules as history files (check.ts: the scorer's content rules, outcomes' knownAt), then
 * joined and counted by HistoryBuilder (merge.ts), so bad records are the file path's kinds
 * (problems.ts) with `<topic>/<partition>` for the file and the offset for the line; an
 * undecodable record is `malformed` (`missing-field` when its writer schema lacks a required
 * field), and nothing of its bytes is printed. Outcomes whose eventTime lies before the kept
 * transactions (since - 37 d .. since - 30 d) feed the terminal windows without being joined:
 * their transactions were not kept, as the online scorer takes outcomes.
 *
 * Order: records arrive range by range (every transactions partition in partition order,
 * then the outcomes'), each in offset order, and are joined as they arrive (a duplicate
 * transaction id keeps the same "first"
 * every run), then sorted by eventTime (outcomes by knownAt). Transactions at the same
 * millisecond keep each card's topic order (the order the scorer saw, which the card windows
 * depend on) and are otherwise ordered by transaction id: by the largest id so far in the
 * card's run at that millisecond, a total order that is deterministic whatever the
 * interleaving and, for the simulator's increasing ids, the simulator's own order, so a
 * simulated world published and replayed gives the simulation path's table byte for byte.
 */
import { loadConfig } from '../../../scorer/src/config.js';
import type { DecodeLimits } from '../../../scorer/src/decode/transaction.js';
import { MAX_WINDOW_MS, TERMINAL_DELAY_MS, type BatchTransaction } from '../../../scorer/src/features/index.js';
import { createProgress } from '../../../simulator/src/progress.js';
import type { EventStats } from '../../../simulator/src/stats.js';
import type { OutcomeRecord } from './check.js';
import type { PartitionRange, TopicSource } from './kafka-source.js';
import { HistoryBuilder, type History, type HistoryTransactionEvent } from './merge.js';
import { checkingReader, isBad, placeOf, type BadRecord, type CheckedBatch, type ReadContext, type RecordRules, type ReplayCodecs } from './replay-read.js';
import { writeLoadedHistory, type HistoryTableResult } from './table.js';

/** How far back a row's features look: the card windows' 30 days, the terminal windows' 7 + 30. */
export const CARD_LOOKBACK_MS = MAX_WINDOW_MS;
export const LOOKBACK_MS = MAX_WINDOW_MS + TERMINAL_DELAY_MS;

/** Rows written: since <= eventTime < until (epoch ms; until undefined: no end). */
export interface ReplayWindow {
  since: number;
  until?: number;
}

export interface ReplayTopics {
  transactions: string;
  outcomes: string;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:\d{2})$/;

const DAYS_AGO = /^(\d{1,5})d$/;

/**
 * A --since/--until value: a date (its UTC midnight), an ISO 8601 date-time with a zone, or
 * `<n>d`: the UTC midnight n days before today (`now`), so a schedule (a Kubernetes CronJob)
 * can say "the last 42 days" without a shell to compute a date. A date-time without a zone is
 * refused rather than read in the machine's local zone.
 */
export function parseReplayTime(text: string, flag: string, now: number = Date.now()): number {
  const t = text.trim();
  const ago = DAYS_AGO.exec(t);
  if (ago) return Math.floor(now / 86_400_000) * 86_400_000 - Number(ago[1]) * 86_400_000;
  const ms = DATE.test(t) ? Date.parse(`${t}T00:00:00Z`) : DATE_TIME.test(t) ? Date.parse(t) : Number.NaN;
  // Date.parse rolls 2018-02-30 over to March 2: the calendar day must read back as written.
  const day = Number.isFinite(ms) ? new Date(ms + zoneOffsetMs(t)).toISOString().slice(0, 10) : '';
  if (day !== t.slice(0, 10)) {
    throw new Error(`${flag}: expected a date (2018-04-01, UTC midnight), an ISO 8601 date-time with a zone (2018-04-01T08:00:00Z) or days before today (42d), got ${JSON.stringify(text)}`);
  }
  return ms;
}

/** The zone offset of an ISO date-time in ms (Z: 0), to read its calendar date back. */
function zoneOffsetMs(t: string): number {
  const m = /([+-])(\d{2}):(\d{2})$/.exec(t);
  return m ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) * 60_000 : 0;
}

/** The record timestamp reading starts from: every record that can matter is at or after it (see the header). */
export function readFromTimestamp(window: ReplayWindow, maxFutureSkewMs: number): number {
  return window.since - LOOKBACK_MS - maxFutureSkewMs;
}

/** A partition whose oldest records are gone (retention, compaction) although reading wanted to start before them. */
export interface Truncation {
  topic: string;
  partition: number;
  low: bigint;
}

export interface ReplayPlan {
  fromTimestamp: number;
  /** Every partition of both topics; start === end: nothing to read. */
  ranges: PartitionRange[];
  truncated: Truncation[];
}

/**
 * Where each partition is read: from the first offset whose record timestamp is at or after
 * `fromTimestamp` to the end offset, captured first (a record written in between is left
 * for the next replay, wherever it lands).
 */
export async function planReplay(source: TopicSource, topics: ReplayTopics, fromTimestamp: number): Promise<ReplayPlan> {
  const ranges: PartitionRange[] = [];
  const truncated: Truncation[] = [];
  for (const topic of [topics.transactions, topics.outcomes]) {
    const ends = await source.offsets(topic);
    const starts = await source.offsetsForTime(topic, fromTimestamp);
    for (const { partition, low, high } of ends) {
      const found = starts.get(partition) ?? high;
      const start = found < low ? low : found > high ? high : found;
      // The earliest record held is already newer than where reading should start: what came
      // before it was deleted, and may have been in the look-back.
      if (start === low && low > 0n && start < high) truncated.push({ topic, partition, low });
      ranges.push({ topic, partition, start, end: high });
    }
  }
  return { fromTimestamp, ranges, truncated };
}

// ---- order --------------------------------------------------------------------------------

/**
 * Reorders, in place, the transactions of each millisecond (the list is sorted by eventTime,
 * and equal times are in topic order, partition by partition): each card's transactions keep
 * their order, and cards interleave by transaction id (see the header).
 */
export function orderTies(transactions: HistoryTransactionEvent[]): void {
  let i = 0;
  while (i < transactions.length) {
    const t = (transactions[i] as HistoryTransactionEvent).tx.eventTime;
    let j = i + 1;
    while (j < transactions.length && (transactions[j] as HistoryTransactionEvent).tx.eventTime === t) j++;
    if (j - i > 1) {
      const group = transactions.slice(i, j);
      const highest = new Map<string, string>();
      const keys = new Map<HistoryTransactionEvent, string>();
      for (const e of group) {
        const before = highest.get(e.tx.cardToken);
        const key = before !== undefined && before > e.tx.transactionId ? before : e.tx.transactionId;
        highest.set(e.tx.cardToken, key);
        keys.set(e, key);
      }
      // Keys differ between cards (each is one of its card's own ids, and ids are unique);
      // within a card they never decrease, and the stable sort keeps its order.
      group.sort((a, b) => {
        const ka = keys.get(a) as string;
        const kb = keys.get(b) as string;
        return ka < kb ? -1 : ka > kb ? 1 : 0;
      });
      for (let k = 0; k < group.length; k++) transactions[i + k] = group[k] as HistoryTransactionEvent;
    }
    i = j;
  }
}

// ---- loading ------------------------------------------------------------------------------

export interface KafkaHistoryOptions {
  source: TopicSource;
  topics: ReplayTopics;
  window: ReplayWindow;
  codecs: ReplayCodecs;
  rules: RecordRules;
  /** Called about every `progressEvery` records read, and once at the end. */
  onProgress?: (stats: EventStats) => void;
  progressEvery?: number;
}

export interface KafkaHistory {
  history: History;
  plan: ReplayPlan;
  /** Records read from each topic. */
  read: { transactions: number; outcomes: number };
  /** Good records read but outside what the window needs (see the header): not kept. */
  outside: { transactions: number; outcomes: number };
  /** Outcomes kept for the terminal windows only (their transactions are before the kept ones). */
  unjoinedOutcomes: number;
}

/**
 * Plans, reads both topics, checks and joins their records, and orders them (see the header).
 * The partitions are read one after another (the transactions', then the outcomes') and
 * their records joined as they arrive.
 */
export async function loadKafkaHistory(opts: KafkaHistoryOptions): Promise<KafkaHistory> {
  const { source, topics, window, rules } = opts;
  const plan = await planReplay(source, topics, readFromTimestamp(window, rules.limits.maxFutureSkewMs));
  const keepTxFrom = window.since - CARD_LOOKBACK_MS;
  const ctx: ReadContext = { transactionsTopic: topics.transactions, rules, keepTransactionsFrom: keepTxFrom, keepOutcomesFrom: window.since - LOOKBACK_MS, until: window.until ?? Infinity };
  const result: Omit<KafkaHistory, 'history'> = { plan, read: { transactions: 0, outcomes: 0 }, outside: { transactions: 0, outcomes: 0 }, unjoinedOutcomes: 0 };
  const every = opts.progressEvery ?? 50_000;
  const started = performance.now();
  const stats: EventStats = { transactions: 0, outcomes: 0, frauds: 0, elapsedMs: 0 };
  let sinceProgress = 0;
  const progress = (read: number): void => {
    sinceProgress += read;
    if (sinceProgress >= every && opts.onProgress) {
      sinceProgress = 0;
      opts.onProgress({ ...stats, elapsedMs: performance.now() - started });
    }
  };
  const builder = new HistoryBuilder(`topic ${topics.transactions}`);

  const joinTransactions = ({ read, outside, values, offsets, ...range }: CheckedBatch): void => {
    const place = placeOf(range);
    for (let i = 0; i < values.length; i++) {
      const v = values[i] as BatchTransaction | BadRecord;
      builder.addTransaction(isBad(v) ? v : { line: offsets[i] as number, value: v }, place);
    }
    result.read.transactions += read;
    result.outside.transactions += outside;
    stats.transactions += read;
    progress(read);
  };
  const joinOutcomes = ({ read, outside, values, offsets, ...range }: CheckedBatch): void => {
    const place = placeOf(range);
    for (let i = 0; i < values.length; i++) {
      const v = values[i] as OutcomeRecord | BadRecord;
      if (isBad(v)) builder.addOutcome(place, v);
      else {
        if (v.isFraud) stats.frauds++;
        if (v.eventTime < keepTxFrom) {
          builder.addUnjoinedOutcome(v);
          result.unjoinedOutcomes++;
        } else builder.addOutcome(place, { line: offsets[i] as number, value: v }, place);
      }
    }
    result.read.outcomes += read;
    result.outside.outcomes += outside;
    stats.outcomes += read;
    progress(read);
  };

  const read = checkingReader(source, opts.codecs);
  await read(plan.ranges.filter((r) => r.topic === topics.transactions), ctx, joinTransactions);
  await read(plan.ranges.filter((r) => r.topic !== topics.transactions), ctx, joinOutcomes);
  opts.onProgress?.({ ...stats, elapsedMs: performance.now() - started });
  const history = builder.finish();
  orderTies(history.transactions);
  return { ...result, history };
}

// ---- the table ----------------------------------------------------------------------------

export interface KafkaTableOptions extends Omit<KafkaHistoryOptions, 'onProgress' | 'progressEvery'> {
  out: string;
  /** Bad records tolerated (skipped); more fail the run. Default 0. */
  maxBad?: number;
  /** Where the progress bars go; null: nowhere. Default process.stderr. */
  progress?: NodeJS.WriteStream | null;
}

export interface KafkaTableResult extends HistoryTableResult {
  window: ReplayWindow;
  fromTimestamp: number;
  read: KafkaHistory['read'];
  outside: KafkaHistory['outside'];
  unjoinedOutcomes: number;
  /** Transactions before `since` that fed the state but are not rows. */
  context: number;
  /** Rows (written) without an outcome: TX_FRAUD empty. */
  unlabelledRows: number;
  truncated: Truncation[];
}

export async function writeKafkaFeatureTable(opts: KafkaTableOptions): Promise<KafkaTableResult> {
  const maxBad = opts.maxBad ?? 0;
  if (!Number.isInteger(maxBad) || maxBad < 0) throw new RangeError('maxBad must be a non-negative integer');
  if (opts.window.until !== undefined && opts.window.until <= opts.window.since) throw new RangeError('until must be after since');
  if (opts.topics.transactions === opts.topics.outcomes) throw new Error(`the transactions and outcomes topics must differ (both are ${opts.topics.transactions})`);
  const stream = opts.progress === undefined ? process.stderr : opts.progress;
  const readStarted = performance.now();
  const reading = stream ? createProgress({ label: 'features: read', stream }) : { update: () => {}, stop: () => {} };
  const loaded = await loadKafkaHistory({ ...opts, onProgress: reading.update });
  reading.stop();
  const { since } = opts.window;
  const written = (tx: BatchTransaction): boolean => tx.eventTime >= since;
  const table = await writeLoadedHistory(loaded.history, performance.now() - readStarted, { out: opts.out, maxBad, progress: stream, writes: written });
  let context = 0;
  let unlabelledRows = 0;
  for (const t of loaded.history.transactions) {
    if (!written(t.tx)) context++;
    else if (t.isFraud === undefined) unlabelledRows++;
  }
  return {
    ...table,
    window: opts.window,
    fromTimestamp: loaded.plan.fromTimestamp,
    read: loaded.read,
    outside: loaded.outside,
    unjoinedOutcomes: loaded.unjoinedOutcomes,
    context,
    unlabelledRows,
    truncated: loaded.plan.truncated,
  };
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** What the CLI says about a replay: notes for stdout, and the failure when no table was written. */
export function describeKafkaResult(r: KafkaTableResult, opts: { out: string; maxBad: number }): { notes: string[]; warnings: string[]; failure?: string } {
  const records = (n: number): string => `${n} bad record${n === 1 ? '' : 's'}`;
  const warnings = r.truncated.map((t) => `${t.topic} partition ${t.partition} holds nothing before offset ${t.low} (retention or compaction): history published before that is gone, so the first rows after --since may miss some of their ${LOOKBACK_MS / 86_400_000} days of look-back`);
  if (!r.written) return { notes: [], warnings, failure: `${records(r.badLines)} (${r.byKind}), more than --max-bad ${opts.maxBad}: no feature table written` };
  const span = `eventTime from ${iso(r.window.since)}${r.window.until === undefined ? '' : ` to before ${iso(r.window.until)}`}`;
  const notes = [
    `features: ${r.rows} rows (${span}) → ${opts.out}`,
    `features: read ${r.read.transactions} transactions and ${r.read.outcomes} outcomes (published from ${iso(r.fromTimestamp)} up to the end offsets at start); ${r.context} transactions before --since fed the windows but are not rows`,
  ];
  if (r.badLines > 0) notes.push(`features: skipped ${records(r.badLines)} (--max-bad ${opts.maxBad}): ${r.byKind}`);
  if (r.droppedOutcomes > 0) notes.push(`features: dropped ${r.droppedOutcomes} outcome(s) whose transaction was a skipped record`);
  if (r.unlabelledRows > 0) notes.push(`features: ${r.unlabelledRows} row(s) without an outcome on the topic yet: TX_FRAUD empty`);
  if (r.rows === 0) notes.push('features: no transaction in that range: --since and --until are event times (eventTime), not publish times');
  return { notes, warnings };
}

// ---- configuration ------------------------------------------------------------------------

export interface ReplayConfig {
  topics: ReplayTopics;
  wireFormat: 'confluent' | 'plain';
  limits: DecodeLimits;
}

/**
 * Topic names, wire format and decode limits from the scorer's own variables
 * (FRAUD_TOPIC_TRANSACTIONS, FRAUD_TOPIC_OUTCOMES, FRAUD_WIRE_FORMAT, FRAUD_MAX_AMOUNT_MINOR,
 * FRAUD_MAX_FUTURE_SKEW_MS), validated and defaulted by the scorer's config: the replay reads
 * what a scorer in the same environment reads, the way it reads it.
 */
export function replayConfig(env: Record<string, string | undefined> = process.env): ReplayConfig {
  const config = loadConfig({
    FRAUD_KAFKA_BROKERS: 'unused:9092',
    FRAUD_INSTANCE_ID: 'features',
    FRAUD_TOPIC_TRANSACTIONS: env.FRAUD_TOPIC_TRANSACTIONS,
    FRAUD_TOPIC_OUTCOMES: env.FRAUD_TOPIC_OUTCOMES,
    FRAUD_WIRE_FORMAT: env.FRAUD_WIRE_FORMAT,
    FRAUD_MAX_AMOUNT_MINOR: env.FRAUD_MAX_AMOUNT_MINOR,
    FRAUD_MAX_FUTURE_SKEW_MS: env.FRAUD_MAX_FUTURE_SKEW_MS,
  });
  return {
    topics: { transactions: config.topics.transactions, outcomes: config.topics.outcomes },
    wireFormat: config.wireFormat,
    limits: { maxAmountMinor: config.maxAmountMinor, maxFutureSkewMs: config.maxFutureSkewMs },
  };
}
