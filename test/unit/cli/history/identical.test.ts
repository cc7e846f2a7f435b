/**
 * The feature table from files equals the simulation path's table byte for byte: one small
 * simulated run, written as JSON Lines (the simulator's own writer), as CSV and as Avro object
 * container files, read back by `features --transactions ... --outcomes ...` (history/).
 *
 * Every column is compared, labels included: the simulation path takes TX_FRAUD and
 * TX_FRAUD_SCENARIO from the simulator, the files path from each transaction's outcome
 * (isFraud, fraudScenario), and the simulator writes an outcome for every transaction
 * (flushOutcomes), so both are known for every row.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import avro from 'avsc';
import { compressSync } from 'snappy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFeatureTable } from '../../../../services/cli/src/commands/features.js';
import { parseColumnMapping } from '../../../../services/cli/src/history/csv.js';
import { writeHistoryFeatureTable, type HistoryTableOptions } from '../../../../services/cli/src/history/table.js';
import { SCHEMAS_DIR } from '../../../../services/common/src/avro.js';
import { SCHEMA_FILES, type Transaction, type TransactionOutcome } from '../../../../services/common/src/contracts.js';
import { generateAll, simulateToFiles } from '../../../../services/simulator/src/index.js';

const sim = { seed: 7, customers: 200, terminals: 400, days: 40 };
let dir: string;
let expected: Buffer;
let transactions: Transaction[];
let outcomes: TransactionOutcome[];
let jsonl: { transactions: string; outcomes: string };

const TX_FIELDS = ['transactionId', 'cardToken', 'terminalId', 'amountMinor', 'currency', 'eventTime', 'merchantId', 'merchantCategoryCode', 'merchantCountry', 'channel', 'entryMode', 'cardPresent'] as const;
const OUTCOME_FIELDS = ['transactionId', 'terminalId', 'cardToken', 'eventTime', 'isFraud', 'fraudScenario', 'knownAt'] as const;

const cell = (v: unknown): string => {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
};

function csvText<T extends object>(header: readonly string[], rows: readonly T[], value: (row: T, column: string) => unknown = (r, c) => (r as Record<string, unknown>)[c]): string {
  return `${header.join(',')}\n${rows.map((r) => header.map((c) => cell(value(r, c))).join(',')).join('\n')}\n`;
}

/** Avro's snappy block codec (compressed bytes, then the big-endian CRC-32 of the raw ones), for writing. */
function snappyCompress(buf: Buffer, cb: (err: Error | null, data?: Buffer) => void): void {
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(buf));
  cb(null, Buffer.concat([compressSync(buf), crc]));
}

/** What avro.createFileEncoder does, keeping the file stream to wait until it is closed. */
async function writeAvro(path: string, schema: avro.Schema, records: readonly object[], codec: 'null' | 'deflate' | 'snappy'): Promise<void> {
  const encoder = new avro.streams.BlockEncoder(schema, { codec, codecs: { ...avro.streams.BlockEncoder.defaultCodecs(), snappy: snappyCompress } });
  const file = createWriteStream(path);
  encoder.pipe(file);
  for (const r of records) encoder.write(r);
  encoder.end();
  await once(file, 'close');
  expect(avro.extractFileHeader(path)?.meta['avro.codec']?.toString()).toBe(codec);
}

async function table(name: string, opts: Omit<HistoryTableOptions, 'out' | 'progress'>): Promise<Buffer> {
  const out = join(dir, `${name}.csv`);
  const result = await writeHistoryFeatureTable({ ...opts, out, progress: null });
  expect(result).toMatchObject({ written: true, badLines: 0, rows: transactions.length, labelled: transactions.length, droppedOutcomes: 0 });
  return readFile(out);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'history-identical-'));
  await writeFeatureTable(sim, join(dir, 'simulation.csv'));
  expected = await readFile(join(dir, 'simulation.csv'));
  const run = generateAll(sim);
  transactions = run.transactions.map((e) => e.tx);
  outcomes = run.outcomes;
  const files = await simulateToFiles({ ...sim, dir: join(dir, 'jsonl') });
  jsonl = { transactions: files.transactionsFile, outcomes: files.outcomesFile };
}, 60_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('features from files equal the simulation path byte for byte', () => {
  it('has a world worth comparing (frauds of several scenarios, outcomes interleaved)', () => {
    expect(transactions.length).toBeGreaterThan(10_000);
    expect(new Set(outcomes.map((o) => o.fraudScenario)).size).toBeGreaterThanOrEqual(3);
  });

  it('JSON Lines (the simulator\'s files writer)', async () => {
    expect((await table('jsonl', jsonl)).equals(expected)).toBe(true);
  }, 60_000);

  it('CSV with the contract field names as header', async () => {
    await writeFile(join(dir, 'tx.csv'), csvText(TX_FIELDS, transactions));
    await writeFile(join(dir, 'outcomes.csv'), csvText(OUTCOME_FIELDS, outcomes));
    expect((await table('csv', { transactions: join(dir, 'tx.csv'), outcomes: join(dir, 'outcomes.csv') })).equals(expected)).toBe(true);
  }, 60_000);

  it('CSV with other column names and order (--columns), ISO 8601 times and 1/0 booleans', async () => {
    const txHeader = ['ts', 'id', 'card', 'pos', 'cents', 'currency', 'note'];
    const txColumn: Record<string, (t: Transaction) => unknown> = {
      ts: (t) => new Date(t.eventTime).toISOString(), id: (t) => t.transactionId, card: (t) => t.cardToken,
      pos: (t) => t.terminalId, cents: (t) => t.amountMinor, currency: (t) => t.currency, note: () => 'ignored, "quoted"',
    };
    const outHeader = ['id', 'pos', 'card', 'ts', 'fraud', 'scenario', 'known'];
    const outColumn: Record<string, (o: TransactionOutcome) => unknown> = {
      id: (o) => o.transactionId, pos: (o) => o.terminalId, card: (o) => o.cardToken, ts: (o) => new Date(o.eventTime).toISOString(),
      fraud: (o) => (o.isFraud ? 1 : 0), scenario: (o) => o.fraudScenario, known: (o) => new Date(o.knownAt).toISOString().replace('Z', '+00:00'),
    };
    await writeFile(join(dir, 'tx-mapped.csv'), csvText(txHeader, transactions, (t, c) => txColumn[c]!(t)));
    await writeFile(join(dir, 'outcomes-mapped.csv'), csvText(outHeader, outcomes, (o, c) => outColumn[c]!(o)));
    const columns = parseColumnMapping('transactionId=id,cardToken=card,terminalId=pos,eventTime=ts,transaction.amountMinor=cents,isFraud=fraud,fraudScenario=scenario,outcome.knownAt=known');
    const got = await table('csv-mapped', { transactions: join(dir, 'tx-mapped.csv'), outcomes: join(dir, 'outcomes-mapped.csv'), columns });
    expect(got.equals(expected)).toBe(true);
  }, 60_000);

  it('Avro object container files (contract schema with snappy blocks; a writer schema matching by field names with deflate)', async () => {
    const txSchema = JSON.parse(await readFile(join(SCHEMAS_DIR, SCHEMA_FILES.transaction), 'utf8')) as avro.Schema;
    await writeAvro(join(dir, 'tx.avro'), txSchema, transactions, 'snappy');
    // Another record name, fields in another order, an extra field, timestamps as plain longs.
    const labelSchema: avro.Schema = {
      type: 'record', name: 'Label', namespace: 'example.bank',
      fields: [
        { name: 'knownAt', type: 'long' }, { name: 'source', type: 'string' }, { name: 'isFraud', type: 'boolean' },
        { name: 'transactionId', type: 'string' }, { name: 'cardToken', type: 'string' }, { name: 'terminalId', type: 'string' },
        { name: 'eventTime', type: 'long' }, { name: 'fraudScenario', type: 'int' },
      ],
    };
    await writeAvro(join(dir, 'outcomes.avro'), labelSchema, outcomes.map((o) => ({ ...o, source: 'chargebacks' })), 'deflate');
    expect((await table('avro', { transactions: join(dir, 'tx.avro'), outcomes: join(dir, 'outcomes.avro') })).equals(expected)).toBe(true);
  }, 60_000);

  it('unsorted files: sorted in memory (equal times keep their file order)', async () => {
    // Shuffle whole groups of equal event time (and of equal knownAt), so the documented tie
    // rule (file order) still gives the simulator's order within a group.
    let seed = 1;
    const random = (): number => ((seed = (seed * 48_271) % 2_147_483_647) / 2_147_483_647);
    function shuffledGroups<T>(rows: readonly T[], time: (r: T) => number): T[] {
      const groups = new Map<number, T[]>();
      for (const r of rows) groups.set(time(r), [...(groups.get(time(r)) ?? []), r]);
      const list = [...groups.values()];
      for (let i = list.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [list[i], list[j]] = [list[j]!, list[i]!];
      }
      return list.flat();
    }
    const tx = shuffledGroups(transactions, (t) => t.eventTime);
    expect(tx.slice(0, 50).map((t) => t.transactionId)).not.toEqual(transactions.slice(0, 50).map((t) => t.transactionId));
    await writeFile(join(dir, 'tx-shuffled.jsonl'), `${tx.map((t) => JSON.stringify(t)).join('\n')}\n`);
    await writeFile(join(dir, 'outcomes-shuffled.jsonl'), `${shuffledGroups(outcomes, (o) => o.knownAt).map((o) => JSON.stringify(o)).join('\r\n')}\r\n`);
    const got = await table('shuffled', { transactions: join(dir, 'tx-shuffled.jsonl'), outcomes: join(dir, 'outcomes-shuffled.jsonl') });
    expect(got.equals(expected)).toBe(true);
  }, 60_000);

  it('outcomes without fraudScenario leave TX_FRAUD_SCENARIO empty; no outcomes file leaves both labels empty', async () => {
    const noScenario = outcomes.map(({ fraudScenario: _s, ...o }) => o);
    await writeFile(join(dir, 'outcomes-no-scenario.jsonl'), `${noScenario.map((o) => JSON.stringify(o)).join('\n')}\n`);
    const got = (await table('no-scenario', { transactions: jsonl.transactions, outcomes: join(dir, 'outcomes-no-scenario.jsonl') })).toString();
    const blankScenario = expected.toString().split('\n').map((line, i) => {
      if (i === 0 || line === '') return line;
      const f = line.split(',');
      f[5] = '';
      return f.join(',');
    }).join('\n');
    expect(got).toBe(blankScenario);

    const out = join(dir, 'unlabelled.csv');
    const r = await writeHistoryFeatureTable({ transactions: jsonl.transactions, out, progress: null });
    expect(r).toMatchObject({ written: true, rows: transactions.length, labelled: 0 });
    const rows = (await readFile(out, 'utf8')).trimEnd().split('\n').slice(1);
    expect(rows.every((line) => line.split(',')[4] === '' && line.split(',')[5] === '')).toBe(true);
  }, 60_000);
});
