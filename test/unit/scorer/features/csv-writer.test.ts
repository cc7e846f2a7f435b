/**
 * The CSV writer's worker (features/csv/): the file holds exactly the lines featureRowToCsv
 * makes, in order, across chunk boundaries, for rows given at once or asynchronously, with a
 * reused scratch array; failures (an unwritable path, a failing row source) reject and leave
 * no worker behind.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createFeatureEngine, CSV_COLUMNS, FEATURE_COUNT, featureRows, featureRowToCsv, writeFeaturesCsv, type BatchEvent, type FeatureRow } from '../../../../services/scorer/src/features/index.js';

const dir = mkdtempSync(join(tmpdir(), 'csv-writer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const T = Date.UTC(2018, 4, 2, 10);

/** 9,000 transactions (two full chunks and a part) of 50 cards, with outcomes, odd ids and missing labels. */
function events(): BatchEvent[] {
  const out: BatchEvent[] = [];
  for (let i = 0; i < 9000; i++) {
    const tx = { transactionId: i % 1000 === 7 ? `tx-é€-${i},"q"` : `tx-${i}`, cardToken: `card-${i % 50}`, terminalId: `térm-${i % 13}`, amountMinor: 100 + ((i * 7919) % 50_000), eventTime: T + i * 61_001 };
    out.push(i % 5 === 0 ? { kind: 'transaction', tx } : { kind: 'transaction', tx, isFraud: i % 11 === 0, fraudScenario: i % 11 === 0 ? 2 : 0 });
    if (i % 3 === 0) out.push({ kind: 'outcome', outcome: { transactionId: tx.transactionId, terminalId: tx.terminalId, eventTime: tx.eventTime, isFraud: i % 11 === 0, knownAt: tx.eventTime + 1 } });
  }
  return out;
}

/** The expected file: header and featureRowToCsv of each row, formatted on this thread. */
function expected(rows: Iterable<FeatureRow>): string {
  let text = CSV_COLUMNS.join(',') + '\n';
  for (const row of rows) text += featureRowToCsv(row) + '\n';
  return text;
}

describe('writeFeaturesCsv (worker)', () => {
  const want = expected(featureRows(events()));

  it('writes what featureRowToCsv makes of each row, in order, across chunks', async () => {
    const path = join(dir, 'sync.csv');
    expect(await writeFeaturesCsv(featureRows(events()), path)).toBe(9000);
    expect(readFileSync(path, 'utf8')).toBe(want);
  });

  it('the same from an async source, and with one scratch array for every row', async () => {
    async function* slowly(): AsyncGenerator<FeatureRow> {
      let i = 0;
      for (const row of featureRows(events(), createFeatureEngine(), new Float64Array(FEATURE_COUNT))) {
        if (i++ % 1000 === 0) await new Promise((r) => setImmediate(r));
        yield row;
      }
    }
    const path = join(dir, 'async.csv');
    expect(await writeFeaturesCsv(slowly(), path)).toBe(9000);
    expect(readFileSync(path, 'utf8')).toBe(want);
  });

  it('an empty table is the header alone', async () => {
    const path = join(dir, 'empty.csv');
    expect(await writeFeaturesCsv([], path)).toBe(0);
    expect(readFileSync(path, 'utf8')).toBe(CSV_COLUMNS.join(',') + '\n');
  });

  it('an unwritable path rejects, naming it', async () => {
    const path = join(dir, 'no-such-dir', 'x.csv');
    await expect(writeFeaturesCsv(featureRows(events()), path)).rejects.toThrow(/no-such-dir/);
  });

  it('a failing row source rejects with its error', async () => {
    function* failing(): Generator<FeatureRow> {
      let i = 0;
      for (const row of featureRows(events())) {
        if (++i === 5000) throw new Error('source broke');
        yield row;
      }
    }
    await expect(writeFeaturesCsv(failing(), join(dir, 'failing.csv'))).rejects.toThrow('source broke');
  });
});
