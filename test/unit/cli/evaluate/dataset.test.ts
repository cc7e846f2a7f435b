import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatherRows, loadEvalTable, splitCsvLine } from '../../../../services/cli/src/evaluate/dataset.js';
import { makeSplit } from '../../../../services/cli/src/evaluate/protocol.js';
import { CSV_COLUMNS } from '../../../../services/scorer/src/features/index.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2018, 0, 10);
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'evaluate-dataset-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function line(id: number, timeMs: number, card: string, fraud: 0 | 1, first: number): string {
  const features = Array.from({ length: 15 }, (_, j) => first + j / 10);
  return [`tx-${id}`, timeMs, card, 'term-1', fraud, fraud ? 2 : 0, ...features].join(',');
}

describe('splitCsvLine', () => {
  it('splits plain lines and honours RFC 4180 quotes', () => {
    expect(splitCsvLine('a,b,,c')).toEqual(['a', 'b', '', 'c']);
    expect(splitCsvLine('"a,1",b,"say ""hi"""')).toEqual(['a,1', 'b', 'say "hi"']);
  });
});

describe('loadEvalTable', () => {
  // train days 0..1 (01-10, 01-11), delay 1, test days 3..4
  const split = makeSplit({ trainStart: '2018-01-10', deltaTrain: 2, deltaDelay: 1, deltaTest: 2 });

  it('keeps the rows of the split days, with split-relative days, sorted card codes and float32 inputs', async () => {
    const path = join(dir, 'ok.csv');
    await writeFile(path, [
      CSV_COLUMNS.join(','),
      line(1, T0 - 1, 'card-9', 1, 1), // day −1: outside
      line(2, T0, 'card-5', 0, 2.5), // day 0
      line(3, T0 + 3 * DAY + 5, 'card-2', 1, 0.1), // day 3
      line(4, T0 + 4 * DAY, 'card-5', 0, 4), // day 4
      line(5, T0 + 5 * DAY, 'card-1', 1, 5), // day 5: outside
      '',
    ].join('\n'));
    const t = await loadEvalTable(path, split);
    expect(t.rowsRead).toBe(5);
    expect(t.n).toBe(3);
    expect([...t.days]).toEqual([0, 3, 4]);
    expect(t.cardIds).toEqual(['card-2', 'card-5']);
    expect([...t.cards]).toEqual([1, 0, 1]);
    expect([...t.labels]).toEqual([0, 1, 0]);
    expect(t.features.length).toBe(45);
    expect(t.features[15]).toBe(Math.fround(0.1));
    expect(t.features[16]).toBe(Math.fround(0.2));
    const X = gatherRows(t, [2, 0]);
    expect([...X.subarray(0, 2)]).toEqual([4, Math.fround(4.1)]);
    expect(X[15]).toBe(2.5);
  });

  it('refuses a file whose header is not the feature table', async () => {
    const path = join(dir, 'bad-header.csv');
    await writeFile(path, CSV_COLUMNS.slice(0, -1).join(',') + '\n');
    await expect(loadEvalTable(path, split)).rejects.toThrow(/header is not the feature table/);
  });

  it('refuses non-numeric features and bad labels, naming the line', async () => {
    const path = join(dir, 'bad-value.csv');
    await writeFile(path, [CSV_COLUMNS.join(','), line(1, T0, 'c', 0, 1).replace(/,1\.5,/, ',x,')].join('\n'));
    await expect(loadEvalTable(path, split)).rejects.toThrow(/line 2: CUSTOMER_ID_NB_TX_7DAY_WINDOW is not a finite number/);
    const label = join(dir, 'bad-label.csv');
    await writeFile(label, [CSV_COLUMNS.join(','), line(1, T0, 'c', 0, 1).replace(',c,term-1,0,', ',c,term-1,,')].join('\n'));
    await expect(loadEvalTable(label, split)).rejects.toThrow(/TX_FRAUD must be 0 or 1/);
  });
});
