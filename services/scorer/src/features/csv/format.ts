/**
 * One feature row as one CSV line: the trainer's input format (column names and number
 * formatting). Pure: no I/O.
 */
import { FEATURE_NAMES } from '../feature-set.js';
import type { FeatureRow } from '../batch.js';

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
  // Concatenation, not an array and join: this runs once per row of every table.
  let line = `${csvText(row.tx.transactionId)},${row.tx.eventTime},${csvText(row.tx.cardToken)},${csvText(row.tx.terminalId)},${row.isFraud === undefined ? '' : row.isFraud ? '1' : '0'},${row.fraudScenario === undefined ? '' : row.fraudScenario}`;
  const f = row.features;
  for (let i = 0; i < f.length; i++) line += `,${f[i] as number}`;
  return line;
}
