/**
 * A user's history as the one time-ordered stream batchFeatures (scorer features/batch.ts)
 * reads: transactions by eventTime, outcomes by knownAt, and at the same millisecond the
 * outcomes first (a label known at t is usable for a transaction at t). This is the order the
 * simulator emits and the order the online scorer would see with no lag, so a simulation
 * written to files and read back here gives the simulation path's table byte for byte.
 *
 * Files need not be sorted. Everything is read into memory, checked, joined and sorted:
 *
 *  - Order. Each list is sorted stably (Array#sort is stable), so events with equal times keep
 *    their file order: transactions of one card at the same millisecond count in the card's
 *    windows in the order the file gives them. A file already in order costs one linear pass
 *    (the sort finds a single run).
 *  - Memory. Only what the features and the CSV need is kept: per transaction the 5 fields
 *    of BatchTransaction plus its labels and line numbers, per outcome the 5 fields the
 *    terminal table reads, and a Map from transaction id to transaction while the outcomes
 *    are read. Card tokens and terminal ids are interned (one string per card / terminal,
 *    however many rows name it). Measured (test/bench/features-from-files.ts, the simulator's
 *    ids): about 180 bytes of heap per event once loaded, ~210 at the peak of reading (the id
 *    map, parsing garbage). The 30-day default world (295k transactions + 295k outcomes, 135 MB
 *    of JSON Lines) peaks at 520 MB RSS, against 390 MB for the simulation path. So ~2 GB of
 *    heap holds about 10 million events (5 million labelled transactions). Node's default
 *    heap limit depends on the machine's memory; raise it with
 *    NODE_OPTIONS=--max-old-space-size=<MB>, or split a longer history by time (the
 *    features need 30 days before the first row and the terminal ones 7 + 30 days).
 *
 * Joining outcomes to transactions (by transactionId) gives each transaction its labels
 * (TX_FRAUD from isFraud, TX_FRAUD_SCENARIO from fraudScenario when the file carries it) and
 * finds the outcomes that cannot be right: one for a transaction the file does not have, one
 * whose terminal, card or event time differ from its transaction's, a second outcome for one
 * transaction. An outcome known before its transaction happened is refused by the record
 * check (check.ts). An outcome whose transaction was itself a bad line is dropped with it,
 * counted apart and not as another bad line.
 *
 * The checks and the join are HistoryBuilder's, shared with the replay of the Kafka topics
 * (replay.ts), which adds records partition by partition instead of file by file.
 */
import { access, constants } from 'node:fs/promises';
import type { BatchEvent, BatchTransaction } from '../../../scorer/src/features/batch.js';
import type { OutcomeInput } from '../../../scorer/src/features/terminal-table.js';
import type { EventStats } from '../../../simulator/src/stats.js';
import { scorerLimits, type ContentRules, type OutcomeRecord } from './check.js';
import type { ColumnMapping } from './csv.js';
import { BadLineLog, type Problem } from './problems.js';
import { formatOf, readOutcomes, readTransactions, type ReadItem } from './readers.js';

export interface HistoryTransactionEvent {
  kind: 'transaction';
  tx: BatchTransaction;
  isFraud?: boolean;
  fraudScenario?: number;
  /** Where the transaction and its outcome came from (for messages about later lines). */
  line: number;
  outcomeLine?: number;
  /** With several places in one input (a topic's partitions): which one (HistoryBuilder). */
  source?: string;
  outcomeSource?: string;
}

export interface HistoryOutcomeEvent {
  kind: 'outcome';
  outcome: OutcomeInput;
}

export interface LoadHistoryOptions {
  transactions: string;
  outcomes?: string;
  /** jsonl | csv | avro for both files; default: each file's extension. */
  format?: string;
  columns?: ColumnMapping;
  /** Default: the scorer's limits (scorerLimits()) and the wall clock now. */
  rules?: ContentRules;
  /** Called about every `progressEvery` records read, and once at the end. */
  onProgress?: (stats: EventStats) => void;
  progressEvery?: number;
}

export interface History {
  /** eventTime order; equal times in file order. */
  transactions: HistoryTransactionEvent[];
  /** knownAt order; equal times in file order. */
  outcomes: HistoryOutcomeEvent[];
  bad: BadLineLog;
  /** Good transactions with an outcome, and how many of those are frauds. */
  labelled: number;
  frauds: number;
  /** Outcomes dropped because their transaction was a bad line (not counted as bad lines). */
  droppedOutcomes: number;
}

async function readable(file: string): Promise<void> {
  try {
    await access(file, constants.R_OK);
  } catch (err) {
    throw new Error(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`);
  }
}

/** One shared string per distinct value (card tokens and terminal ids repeat on every row). */
class Interner {
  private readonly strings = new Map<string, string>();
  get(s: string): string {
    const known = this.strings.get(s);
    if (known !== undefined) return known;
    this.strings.set(s, s);
    return s;
  }
}

/** The fields of a transaction the history keeps (a full Transaction is one). */
export type HistoryTransactionRecord = BatchTransaction;

/**
 * Checks and joins records into a History, the same way whatever they were read from
 * (files here, Kafka topics in replay.ts): transactions first, then their outcomes.
 *
 * `source` (optional, on both adds) names where a record came from when one input has
 * several places (a topic's partitions); messages about an earlier record then name it as
 * `<source>:<line>`. Files leave it out: messages say `line <n>` of the same file.
 */
export class HistoryBuilder {
  readonly history: History;
  /** Good records taken (transactions, joined outcomes, and their frauds): for progress. */
  readonly stats: EventStats = { transactions: 0, outcomes: 0, frauds: 0, elapsedMs: 0 };
  private readonly byId = new Map<string, HistoryTransactionEvent>();
  private readonly skipped = new Set<string>();
  private readonly cards = new Interner();
  private readonly terminals = new Interner();

  /** `transactionsName`: the transactions' input in words, for "names no transaction of ...". */
  constructor(private readonly transactionsName: string) {
    this.history = { transactions: [], outcomes: [], bad: new BadLineLog(), labelled: 0, frauds: 0, droppedOutcomes: 0 };
  }

  /** Takes a transaction or its bad line; false when the bad line is fatal (the input is unusable). */
  addTransaction(item: ReadItem<HistoryTransactionRecord>, source?: string): boolean {
    const { bad } = this.history;
    if (item.bad) {
      bad.add(item.bad);
      if (item.id !== undefined) this.skipped.add(item.id);
      return !item.bad.fatal;
    }
    const { line, value } = item;
    const first = this.byId.get(value.transactionId);
    if (first) {
      bad.add({ file: source ?? this.transactionsName, line, problems: [{ field: 'transactionId', kind: 'duplicate-transaction', message: `the same id as ${at(first.source, first.line)} (each transaction appears once)` }] });
      return true;
    }
    const event: HistoryTransactionEvent = {
      kind: 'transaction',
      tx: {
        transactionId: value.transactionId,
        cardToken: this.cards.get(value.cardToken),
        terminalId: this.terminals.get(value.terminalId),
        amountMinor: value.amountMinor,
        eventTime: value.eventTime,
      },
      line,
    };
    if (source !== undefined) event.source = source;
    this.history.transactions.push(event);
    this.byId.set(value.transactionId, event);
    this.stats.transactions++;
    return true;
  }

  /**
   * Takes an outcome or its bad line, joined to its transaction (added before): the outcome
   * gives the transaction its labels and goes to the terminal table. False when fatal.
   */
  addOutcome(file: string, item: ReadItem<OutcomeRecord>, source?: string): boolean {
    const { history } = this;
    const { bad } = history;
    if (item.bad) {
      bad.add(item.bad);
      return !item.bad.fatal;
    }
    const { line, value: o } = item;
    const tx = this.byId.get(o.transactionId);
    if (!tx) {
      if (this.skipped.has(o.transactionId)) history.droppedOutcomes++;
      else bad.add({ file, line, problems: [{ field: 'transactionId', kind: 'unknown-transaction', message: `names no transaction of ${this.transactionsName}` }] });
      return true;
    }
    if (o.terminalId !== tx.tx.terminalId || o.cardToken !== tx.tx.cardToken || o.eventTime !== tx.tx.eventTime) {
      const mismatch: Problem[] = [];
      for (const field of JOINED_FIELDS) {
        if (o[field] !== tx.tx[field]) mismatch.push({ field, kind: 'mismatched-outcome', message: "differs from its transaction's" });
      }
      bad.add({ file, line, problems: mismatch });
      return true;
    }
    if (tx.outcomeLine !== undefined) {
      bad.add({ file, line, problems: [{ field: 'transactionId', kind: 'duplicate-outcome', message: `its transaction already has the outcome ${tx.outcomeSource === undefined ? 'on ' : 'at '}${at(tx.outcomeSource, tx.outcomeLine)}` }] });
      return true;
    }
    tx.outcomeLine = line;
    if (source !== undefined) tx.outcomeSource = source;
    tx.isFraud = o.isFraud;
    if (o.fraudScenario !== undefined) tx.fraudScenario = o.fraudScenario;
    history.labelled++;
    if (o.isFraud) {
      history.frauds++;
      this.stats.frauds++;
    }
    this.pushOutcome(tx.tx.transactionId, tx.tx.terminalId, o);
    return true;
  }

  /**
   * An outcome for the terminal table only, not joined: its transaction lies before what was
   * read (a replay that starts part-way into a topic), as the online scorer takes outcomes.
   */
  addUnjoinedOutcome(o: OutcomeRecord): void {
    this.pushOutcome(o.transactionId, this.terminals.get(o.terminalId), o);
  }

  private pushOutcome(transactionId: string, terminalId: string, o: OutcomeRecord): void {
    this.history.outcomes.push({
      kind: 'outcome',
      outcome: { transactionId, terminalId, eventTime: o.eventTime, isFraud: o.isFraud, knownAt: o.knownAt },
    });
    this.stats.outcomes++;
  }

  /** Sorts both lists (stably: equal times keep the order they were added in) and returns the history. */
  finish(): History {
    this.history.transactions.sort((a, b) => a.tx.eventTime - b.tx.eventTime);
    this.history.outcomes.sort((a, b) => a.outcome.knownAt - b.outcome.knownAt);
    return this.history;
  }
}

/** The fields an outcome repeats from its transaction, in the order mismatches are reported. */
const JOINED_FIELDS = ['terminalId', 'cardToken', 'eventTime'] as const;

const at = (source: string | undefined, line: number): string => (source === undefined ? `line ${line}` : `${source}:${line}`);

/** Reads, checks and joins both files, then sorts each list (see the header). */
export async function loadHistory(opts: LoadHistoryOptions): Promise<History> {
  const txFormat = formatOf(opts.transactions, opts.format);
  const outcomeFormat = opts.outcomes === undefined ? undefined : formatOf(opts.outcomes, opts.format);
  await readable(opts.transactions);
  if (opts.outcomes !== undefined) await readable(opts.outcomes);
  const rules = opts.rules ?? { limits: scorerLimits(), now: Date.now() };

  const builder = new HistoryBuilder(opts.transactions);
  const every = opts.progressEvery ?? 50_000;
  const started = performance.now();
  const snapshot = (): EventStats => ({ ...builder.stats, elapsedMs: performance.now() - started });
  let read = 0;
  const progress = (): void => {
    if (++read % every === 0 && opts.onProgress) opts.onProgress(snapshot());
  };

  // A fatal bad line (unusable header or schema) ends the load: the caller fails the run.
  for await (const batch of readTransactions(opts.transactions, { format: txFormat, columns: opts.columns, rules })) {
    for (const item of batch) {
      progress();
      if (!builder.addTransaction(item)) return builder.history;
    }
  }
  if (opts.outcomes !== undefined && outcomeFormat !== undefined) {
    for await (const batch of readOutcomes(opts.outcomes, { format: outcomeFormat, columns: opts.columns, rules })) {
      for (const item of batch) {
        progress();
        if (!builder.addOutcome(opts.outcomes, item)) return builder.history;
      }
    }
  }
  opts.onProgress?.(snapshot());
  return builder.finish();
}

/**
 * The merged stream: before each transaction, every outcome known at or before its event
 * time. Both lists must be sorted as loadHistory leaves them.
 */
export function* mergeEvents(transactions: readonly HistoryTransactionEvent[], outcomes: readonly HistoryOutcomeEvent[]): Generator<BatchEvent> {
  let j = 0;
  for (const t of transactions) {
    const at = t.tx.eventTime;
    while (j < outcomes.length && (outcomes[j] as HistoryOutcomeEvent).outcome.knownAt <= at) yield outcomes[j++] as HistoryOutcomeEvent;
    yield t;
  }
  while (j < outcomes.length) yield outcomes[j++] as HistoryOutcomeEvent;
}
