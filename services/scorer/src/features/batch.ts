/**
 * The offline path: features for a whole simulated (or replayed) history, computed by the
 * same engine the scorer runs, for training and evaluation. The input is one time-ordered
 * stream merging transactions (by eventTime) and outcomes (by knownAt, before transactions
 * at the same time), which is exactly what the online scorer would see with no lag.
 *
 * writeFeaturesCsv (csv/write.ts) is the only function in features/ that does I/O (a local
 * file for the Python trainer); everything else here is pure.
 */
import type { Transaction } from '../../../common/src/contracts.js';
import { createFeatureEngine, type FeatureEngine } from './compute.js';
import type { OutcomeInput } from './terminal-table.js';

/** The fields of a transaction a feature row keeps. */
export type BatchTransaction = Pick<Transaction, 'transactionId' | 'cardToken' | 'terminalId' | 'amountMinor' | 'eventTime'>;

/** One event of the merged stream; labels on transactions come from the simulator only. */
export type BatchEvent =
  | { kind: 'transaction'; tx: BatchTransaction; isFraud?: boolean; fraudScenario?: number }
  | { kind: 'outcome'; outcome: OutcomeInput };

export interface FeatureRow {
  tx: BatchTransaction;
  isFraud?: boolean;
  fraudScenario?: number;
  /** FEATURE_NAMES order; a fresh array per row, so rows may be kept. */
  features: Float64Array;
}

/**
 * Walks the merged stream: outcomes go to the terminal table, each transaction moves the
 * watermark to its event time and gets its features. Pass an engine to inspect its stores
 * afterwards (counters, memory); by default a fresh one is used. Synchronous: a history
 * already in memory (files, a topic replay, a simulation) pays no promise per row.
 *
 * `scratch` (FEATURE_COUNT values): every row's `features` is that one array, overwritten by
 * the next row, for a consumer that uses each row before asking for the next (the CSV
 * writer): no array per row for the collector.
 */
export function* featureRows(events: Iterable<BatchEvent>, engine: FeatureEngine = createFeatureEngine(), scratch?: Float64Array): Generator<FeatureRow> {
  for (const event of events) {
    if (event.kind === 'outcome') {
      engine.terminals.addOutcome(event.outcome);
      continue;
    }
    const { tx, isFraud, fraudScenario } = event;
    const features = engine.compute(tx, scratch);
    yield { tx, isFraud, fraudScenario, features };
  }
}

/** featureRows for a stream that arrives asynchronously. */
export async function* batchFeatures(
  events: AsyncIterable<BatchEvent> | Iterable<BatchEvent>,
  engine: FeatureEngine = createFeatureEngine(),
): AsyncGenerator<FeatureRow> {
  if (Symbol.iterator in events) {
    yield* featureRows(events, engine);
    return;
  }
  for await (const event of events) {
    if (event.kind === 'outcome') {
      engine.terminals.addOutcome(event.outcome);
      continue;
    }
    const { tx, isFraud, fraudScenario } = event;
    const features = engine.compute(tx);
    yield { tx, isFraud, fraudScenario, features };
  }
}

export { CSV_COLUMNS, featureRowToCsv } from './csv/format.js';
export { writeFeaturesCsv } from './csv/write.js';
