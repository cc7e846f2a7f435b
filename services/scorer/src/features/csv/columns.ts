/**
 * Feature rows in columns, the form they cross to the CSV worker in: a chunk of rows is a few
 * typed arrays (transferred, not copied) and one string holding every row's three ids end to
 * end (their lengths in a typed array), instead of objects and strings by the thousand for the
 * structured clone to walk. Pure: no I/O.
 */
import { FEATURE_COUNT } from '../feature-set.js';
import type { FeatureRow } from '../batch.js';

export interface RowColumns {
  n: number;
  /** transactionId, cardToken, terminalId of each row, end to end. */
  ids: string;
  /** Their lengths: 3 per row. */
  idLengths: Uint32Array<ArrayBuffer>;
  eventTimes: Float64Array<ArrayBuffer>;
  /** -1: no label, 0, 1. */
  frauds: Int8Array<ArrayBuffer>;
  /** NaN: none. */
  scenarios: Float64Array<ArrayBuffer>;
  /** n × FEATURE_COUNT, row-major. */
  features: Float64Array<ArrayBuffer>;
}

export function emptyColumns(capacity: number): RowColumns {
  return {
    n: 0,
    ids: '',
    idLengths: new Uint32Array(capacity * 3),
    eventTimes: new Float64Array(capacity),
    frauds: new Int8Array(capacity),
    scenarios: new Float64Array(capacity),
    features: new Float64Array(capacity * FEATURE_COUNT),
  };
}

export function appendRow(c: RowColumns, row: FeatureRow): void {
  const i = c.n++;
  const { transactionId, cardToken, terminalId } = row.tx;
  c.ids += transactionId + cardToken + terminalId;
  c.idLengths[3 * i] = transactionId.length;
  c.idLengths[3 * i + 1] = cardToken.length;
  c.idLengths[3 * i + 2] = terminalId.length;
  c.eventTimes[i] = row.tx.eventTime;
  c.frauds[i] = row.isFraud === undefined ? -1 : row.isFraud ? 1 : 0;
  c.scenarios[i] = row.fraudScenario ?? Number.NaN;
  c.features.set(row.features, i * FEATURE_COUNT);
}

/**
 * Every row back as a FeatureRow, in order (amountMinor is not in the table: 0).
 */
export function* rowsOf(c: RowColumns): Generator<FeatureRow> {
  let at = 0;
  const take = (length: number): string => c.ids.slice(at, (at += length));
  for (let i = 0; i < c.n; i++) {
    const fraud = c.frauds[i] as number;
    const scenario = c.scenarios[i] as number;
    const transactionId = take(c.idLengths[3 * i] as number);
    const cardToken = take(c.idLengths[3 * i + 1] as number);
    const terminalId = take(c.idLengths[3 * i + 2] as number);
    yield {
      tx: { transactionId, cardToken, terminalId, amountMinor: 0, eventTime: c.eventTimes[i] as number },
      isFraud: fraud < 0 ? undefined : fraud === 1,
      fraudScenario: Number.isNaN(scenario) ? undefined : scenario,
      features: c.features.subarray(i * FEATURE_COUNT, (i + 1) * FEATURE_COUNT),
    };
  }
}
