import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  batchFeatures,
  CSV_COLUMNS,
  FEATURE_NAMES,
  featureRowToCsv,
  writeFeaturesCsv,
  type BatchEvent,
  type FeatureRow,
} from '../../../../services/scorer/src/features/index.js';

const DAY = 86_400_000;
const T = Date.UTC(2018, 4, 2, 10); // a Wednesday, 10:00

function tx(id: string, eventTime: number, amountMinor: number, cardToken = 'c1', terminalId = 't1') {
  return { transactionId: id, cardToken, terminalId, amountMinor, eventTime };
}

async function collect(events: BatchEvent[]): Promise<FeatureRow[]> {
  const rows: FeatureRow[] = [];
  for await (const row of batchFeatures(events)) rows.push(row);
  return rows;
}

describe('batchFeatures', () => {
  it('feeds outcomes to the table, scores transactions in stream order and keeps labels', async () => {
    const first = tx('a', T - 7 * DAY, 1000);
    const rows = await collect([
      { kind: 'transaction', tx: first, isFraud: true, fraudScenario: 2 },
      // Known exactly at T and placed before the transaction at T, as the simulator orders ties.
      { kind: 'outcome', outcome: { ...first, knownAt: T, isFraud: true } },
      { kind: 'transaction', tx: tx('b', T, 333), isFraud: false, fraudScenario: 0 },
      { kind: 'transaction', tx: tx('c', T + 1, 1, 'c2') },
    ]);
    expect(rows.map((r) => [r.tx.transactionId, r.isFraud, r.fraudScenario])).toEqual([
      ['a', true, 2],
      ['b', false, 0],
      ['c', undefined, undefined],
    ]);
    // b: the card's a is exactly 7 days old, so outside (T - 7 days, T] but inside the 30-day
    // window; a's outcome is known at T and a sits at the top of the terminal windows.
    expect(Array.from(rows[1]!.features)).toEqual([3.33, 0, 0, 1, 3.33, 1, 3.33, 2, 6.665, 1, 1, 1, 1, 1, 1]);
    expect(rows[0]!.features).not.toBe(rows[1]!.features);
  });

  it('accepts async iterables', async () => {
    async function* events(): AsyncGenerator<BatchEvent> {
      yield { kind: 'transaction', tx: tx('a', T, 500) };
    }
    const rows: FeatureRow[] = [];
    for await (const row of batchFeatures(events())) rows.push(row);
    expect(rows[0]!.features[0]).toBe(5);
  });
});

describe('CSV output', () => {
  const dir = mkdtempSync(join(tmpdir(), 'features-csv-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('has the trainer header and quotes only fields that need it', () => {
    expect(CSV_COLUMNS.slice(0, 6)).toEqual(['TRANSACTION_ID', 'TX_DATETIME_MS', 'CUSTOMER_ID', 'TERMINAL_ID', 'TX_FRAUD', 'TX_FRAUD_SCENARIO']);
    expect(CSV_COLUMNS.slice(6)).toEqual([...FEATURE_NAMES]);
    const row: FeatureRow = { tx: tx('id,"x"', T, 1), features: new Float64Array(15) };
    expect(featureRowToCsv(row).split(',').slice(0, 7)).toEqual(['"id', '""x"""', String(T), 'c1', 't1', '', '']);
  });

  it('writes every row, with numbers that parse back to the same doubles', async () => {
    const events: BatchEvent[] = [];
    for (let i = 0; i < 5000; i++) {
      events.push({ kind: 'transaction', tx: tx(`tx-${i}`, T + i * 997_003, (i * 7919) % 100_003, `c${i % 7}`, `t${i % 3}`), isFraud: i % 9 === 0, fraudScenario: i % 9 === 0 ? 1 : 0 });
    }
    const rows = await collect(events);
    const path = join(dir, 'features.csv');
    expect(await writeFeaturesCsv(rows, path)).toBe(5000);
    const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
    expect(lines[0]).toBe(CSV_COLUMNS.join(','));
    expect(lines).toHaveLength(5001);
    lines.slice(1).forEach((line, i) => {
      const fields = line.split(',');
      expect(fields.slice(0, 6)).toEqual([`tx-${i}`, String(T + i * 997_003), `c${i % 7}`, `t${i % 3}`, i % 9 === 0 ? '1' : '0', i % 9 === 0 ? '1' : '0']);
      const parsed = fields.slice(6).map(Number);
      expect(parsed).toEqual(Array.from(rows[i]!.features));
    });
    // Means like 1/3 of cents need all 17 digits: the check above is not vacuous.
    expect(lines.some((l) => /\.\d{12,}/.test(l))).toBe(true);
  });
});
