import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MANIFEST_FILE, readOutcomesFile, readTransactionsFile, readUserTransactions, simulateToFiles,
} from '../../../services/simulator/src/files.js';
import { generateAll } from '../../../services/simulator/src/generator.js';

const OPTS = { customers: 100, terminals: 200, days: 10, seed: 3 } as const;
const TX_FIELDS = ['transactionId', 'cardToken', 'terminalId', 'amountMinor', 'currency', 'eventTime', 'merchantId',
  'merchantCategoryCode', 'merchantCountry', 'channel', 'entryMode', 'cardPresent'];

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fraudscore-sim-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const collect = async <T>(it: AsyncIterable<T>): Promise<T[]> => {
  const out: T[] = [];
  for await (const v of it) out.push(v);
  return out;
};

describe('simulation files', () => {
  it('writes transactions without labels, outcomes with them, and reads both back', async () => {
    const progress: number[] = [];
    const result = await simulateToFiles({ ...OPTS, dir: join(dir, 'run'), progressEvery: 1_000, onProgress: (s) => progress.push(s.transactions) });
    const expected = generateAll(OPTS);
    expect(result).toMatchObject({ transactions: expected.transactions.length, outcomes: expected.outcomes.length, complete: true });
    expect(result.frauds).toBe(expected.transactions.filter((e) => e.isFraud).length);
    expect(progress.length).toBeGreaterThan(1);

    const txs = await collect(readTransactionsFile(result.transactionsFile));
    expect(txs).toEqual(expected.transactions.map((e) => e.tx));
    // Contract fields only, in schema order: no isFraud / fraudScenario in the inputs.
    const firstLine = (await readFile(result.transactionsFile, 'utf8')).split('\n')[0] as string;
    expect(Object.keys(JSON.parse(firstLine) as object)).toEqual(TX_FIELDS);

    expect(await collect(readOutcomesFile(result.outcomesFile))).toEqual(expected.outcomes);
    const manifest = JSON.parse(await readFile(join(result.dir, MANIFEST_FILE), 'utf8')) as { options: { seed: number; startDate: string } };
    expect(manifest.options).toMatchObject({ seed: 3, startDate: '2018-04-01T00:00:00.000Z' });

    // The files are valid input for the user-file reader too.
    const records = await collect(readUserTransactions(result.transactionsFile));
    expect(records.filter((r) => r.error)).toEqual([]);
  });

  it('stops early on abort and says so', async () => {
    const ac = new AbortController();
    const result = await simulateToFiles({
      ...OPTS, dir: join(dir, 'aborted'), progressEvery: 100, signal: ac.signal,
      onProgress: (s) => {
        if (s.transactions >= 200) ac.abort();
      },
    });
    expect(result.complete).toBe(false);
    expect(result.transactions).toBeLessThan(generateAll(OPTS).transactions.length);
    expect((await collect(readTransactionsFile(result.transactionsFile))).length).toBe(result.transactions);
  });

  it('reports a broken line of our own files by number, without its text', async () => {
    const file = join(dir, 'broken.jsonl');
    await writeFile(file, '{"a":1}\n\n{"pan":"4111111111111111"\n');
    await expect(collect(readTransactionsFile(file))).rejects.toThrow(/^line 3: not valid JSON$/);
  });
});
