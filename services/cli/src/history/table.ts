/**
 * The feature table of a user's own history: `fraudscore features --transactions <file>`.
 *
 * Bad lines (problems.ts) are counted by kind. With at most `maxBad` of them (default 0) the
 * good records are used and the result says what was skipped; with more, or with a fatal one
 * (an unusable header or schema), no table is written. The decision is taken after reading
 * and before writing, and the table is written to `<out>.partial` and renamed to `<out>` only
 * once complete: an interrupted or failed run never leaves a file at `<out>` that looks like
 * a whole table (a table already at `<out>` from an earlier run is left as it was).
 */
import { rename, rm } from 'node:fs/promises';
import { createFeatureEngine, FEATURE_COUNT, featureRows, writeFeaturesCsv, type BatchEvent, type BatchTransaction, type FeatureRow } from '../../../scorer/src/features/index.js';
import { createProgress } from '../../../simulator/src/progress.js';
import type { EventStats } from '../../../simulator/src/stats.js';
import { loadHistory, mergeEvents, type History, type LoadHistoryOptions } from './merge.js';
import type { BadKind } from './problems.js';

export interface HistoryTableOptions extends Omit<LoadHistoryOptions, 'onProgress'> {
  out: string;
  /** Bad lines tolerated (skipped); more fail the run. Default 0. */
  maxBad?: number;
  /** Where the progress bar / summary lines go; null: nowhere. Default process.stderr. */
  progress?: NodeJS.WriteStream | null;
}

export interface HistoryTableResult {
  /** True when `out` holds the new table. */
  written: boolean;
  rows: number;
  transactions: number;
  outcomes: number;
  labelled: number;
  frauds: number;
  droppedOutcomes: number;
  badLines: number;
  /** An unusable file (header, schema): the run fails whatever maxBad says. */
  fatal: boolean;
  counts: Partial<Record<BadKind, number>>;
  /** "2 missing field, 1 bad time". */
  byKind: string;
  /** Up to 20 `<file>:<line>: <field>: <what>` lines, then "... and N more". */
  errorLines: string[];
  /** Reading (and checking, joining, sorting) and computing, in ms. */
  readMs: number;
  computeMs: number;
}

export const partialPathOf = (out: string): string => `${out}.partial`;

function resultOf(history: History, written: boolean, rows: number, readMs: number, computeMs: number): HistoryTableResult {
  const { bad } = history;
  return {
    written, rows, readMs, computeMs,
    transactions: history.transactions.length,
    outcomes: history.outcomes.length,
    labelled: history.labelled,
    frauds: history.frauds,
    droppedOutcomes: history.droppedOutcomes,
    badLines: bad.total,
    fatal: bad.fatal,
    counts: bad.countsRecord(),
    byKind: bad.byKind(),
    errorLines: bad.lines(),
  };
}

const silent = { update: () => {}, stop: () => {} };

export async function writeHistoryFeatureTable(opts: HistoryTableOptions): Promise<HistoryTableResult> {
  const maxBad = opts.maxBad ?? 0;
  if (!Number.isInteger(maxBad) || maxBad < 0) throw new RangeError('maxBad must be a non-negative integer');
  const stream = opts.progress === undefined ? process.stderr : opts.progress;

  const readStarted = performance.now();
  const reading = stream ? createProgress({ label: 'features: read', stream }) : silent;
  const history = await loadHistory({ ...opts, onProgress: reading.update });
  reading.stop();
  return writeLoadedHistory(history, performance.now() - readStarted, { out: opts.out, maxBad, progress: stream });
}

export interface LoadedHistoryOptions {
  out: string;
  maxBad: number;
  /** Where the progress bar goes; null: nowhere. */
  progress: NodeJS.WriteStream | null;
  /**
   * Which rows go to the table; default all. Every transaction still goes through the
   * feature engine in order, so a row left out still counts in later rows' windows.
   */
  writes?: (tx: BatchTransaction) => boolean;
}

/**
 * The second half of writeHistoryFeatureTable, for a history loaded from anywhere (files,
 * Kafka topics): the max-bad decision, then features over the merged stream into
 * `<out>.partial`, renamed to `<out>` once complete.
 */
export async function writeLoadedHistory(history: History, readMs: number, opts: LoadedHistoryOptions): Promise<HistoryTableResult> {
  if (history.bad.fatal || history.bad.total > opts.maxBad) return resultOf(history, false, 0, readMs, 0);

  const stream = opts.progress;
  const computing = stream ? createProgress({ label: 'features', stream }) : silent;
  const stats: EventStats = { transactions: 0, outcomes: 0, frauds: 0, elapsedMs: 0 };
  const started = performance.now();
  function* counted(events: Iterable<BatchEvent>): Generator<BatchEvent> {
    for (const e of events) {
      if (e.kind === 'transaction') {
        stats.transactions++;
        if (e.isFraud) stats.frauds++;
      } else stats.outcomes++;
      if ((stats.transactions + stats.outcomes) % 50_000 === 0) computing.update({ ...stats, elapsedMs: performance.now() - started });
      yield e;
    }
  }
  const { writes } = opts;
  function* kept(rows: Iterable<FeatureRow>): Generator<FeatureRow> {
    for (const row of rows) if (writes!(row.tx)) yield row;
  }
  const partial = partialPathOf(opts.out);
  let rows: number;
  try {
    // Each row is copied into the CSV writer's chunk before the next is computed: one scratch array.
    const all = featureRows(counted(mergeEvents(history.transactions, history.outcomes)), createFeatureEngine(), new Float64Array(FEATURE_COUNT));
    rows = await writeFeaturesCsv(writes ? kept(all) : all, partial);
    await rename(partial, opts.out);
  } catch (err) {
    await rm(partial, { force: true });
    throw err;
  } finally {
    computing.stop({ ...stats, elapsedMs: performance.now() - started });
  }
  return resultOf(history, true, rows, readMs, performance.now() - started);
}

/**
 * What the CLI says about a run: notes for stdout, and the failure message when no table was
 * written (the caller prints `errorLines` to stderr first).
 */
export function describeHistoryResult(r: HistoryTableResult, opts: { out: string; maxBad: number; outcomes?: string }): { notes: string[]; failure?: string } {
  const lines = (n: number): string => `${n} bad line${n === 1 ? '' : 's'}`;
  if (!r.written) {
    if (r.fatal) return { notes: [], failure: 'an input file cannot be used (see above): no feature table written' };
    return { notes: [], failure: `${lines(r.badLines)} (${r.byKind}), more than --max-bad ${opts.maxBad}: no feature table written` };
  }
  const notes = [`features: ${r.rows} rows → ${opts.out}`];
  if (r.badLines > 0) notes.push(`features: skipped ${lines(r.badLines)} (--max-bad ${opts.maxBad}): ${r.byKind}`);
  if (r.droppedOutcomes > 0) notes.push(`features: dropped ${r.droppedOutcomes} outcome(s) whose transaction was a skipped line`);
  if (opts.outcomes === undefined) notes.push('features: no --outcomes: terminal risk features see no labels, TX_FRAUD is empty');
  else if (r.labelled < r.transactions) notes.push(`features: ${r.transactions - r.labelled} transaction(s) without an outcome: TX_FRAUD empty`);
  return { notes };
}
