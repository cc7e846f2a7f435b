/**
 * The offline path: features for a whole simulated (or replayed) history, computed by the
 * same engine the scorer runs, for training and evaluation. The input is one time-ordered
 * stream merging transactions (by eventTime) and outcomes (by knownAt, before transactions
 * at the same time), which is exactly what the online scorer would see with no lag.
 *
 * writeFeaturesCsv is the only function in features/ that does I/O (a local file for the
 * Python trainer); everything else here is pure.
 */
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Transaction } from '../../../common/src/contracts.js';
import { createFeatureEngine, type FeatureEngine } from './compute.js';
import { FEATURE_NAMES } from './feature-set.js';
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
 * afterwards (counters, memory); by default a fresh one is used.
 */
export async function* batchFeatures(
  events: AsyncIterable<BatchEvent> | Iterable<BatchEvent>,
  engine: FeatureEngine = createFeatureEngine(),
): AsyncGenerator<FeatureRow> {
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

export const CSV_COLUMNS = [
  'TRANSACTION_ID',
  'TX_DATETIME_MS',
  'CUSTOMER_ID',
  'TERMINAL_ID',
  'TX_FRAUD',
  'TX_FRAUD_SCENARIO',
  ...FEATURE_NAMES,
] as const;

/** RFC 4180 quoting, only when needed (ids are normally plain). */
function csvText(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/**
 * One CSV line (no newline). Numbers use JavaScript's default formatting, the shortest text
 * that parses back to the same double, so Python's float() recovers every value exactly.
 * Missing labels are empty fields.
 */
export function featureRowToCsv(row: FeatureRow): string {
  const fields: string[] = [
    csvText(row.tx.transactionId),
    String(row.tx.eventTime),
    csvText(row.tx.cardToken),
    csvText(row.tx.terminalId),
    row.isFraud === undefined ? '' : row.isFraud ? '1' : '0',
    row.fraudScenario === undefined ? '' : String(row.fraudScenario),
  ];
  for (const value of row.features) fields.push(String(value));
  return fields.join(',');
}

/** Writes rows as CSV (header CSV_COLUMNS) to `path`; resolves with the number of rows. */
export async function writeFeaturesCsv(rows: AsyncIterable<FeatureRow> | Iterable<FeatureRow>, path: string): Promise<number> {
  let count = 0;
  // Lines are joined into ~64 KB strings: one stream write per line is several times slower.
  async function* text(): AsyncGenerator<string> {
    let buffer = CSV_COLUMNS.join(',') + '\n';
    for await (const row of rows) {
      buffer += featureRowToCsv(row) + '\n';
      count++;
      if (buffer.length >= 65_536) {
        yield buffer;
        buffer = '';
      }
    }
    yield buffer;
  }
  await pipeline(Readable.from(text()), createWriteStream(path));
  return count;
}
