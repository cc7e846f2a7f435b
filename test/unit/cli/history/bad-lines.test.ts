/**
 * Bad lines of a user's history: each kind is reported as `<file>:<line>: <field>: <what>`
 * (never the value), counted by kind, and --max-bad decides between a table without them and
 * no table at all (no file at --out, no .partial left behind).
 */
import { once } from 'node:events';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import avro from 'avsc';
import { Command } from 'commander';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerFeatures } from '../../../../services/cli/src/commands/features.js';
import { parseColumnMapping } from '../../../../services/cli/src/history/csv.js';
import { BadLineLog } from '../../../../services/cli/src/history/problems.js';
import { describeHistoryResult, partialPathOf, writeHistoryFeatureTable, type HistoryTableOptions } from '../../../../services/cli/src/history/table.js';
import { CSV_COLUMNS } from '../../../../services/scorer/src/features/index.js';

const PAN = '4111111111111111';
const T0 = Date.UTC(2018, 3, 1, 12);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const tx = (id: string, over: Record<string, unknown> = {}): Record<string, unknown> => ({
  transactionId: id, cardToken: 'card-1', terminalId: 'term-1', amountMinor: 1000, eventTime: T0, ...over,
});
const outcome = (id: string, over: Record<string, unknown> = {}): Record<string, unknown> => ({
  transactionId: id, terminalId: 'term-1', cardToken: 'card-1', eventTime: T0, isFraud: false, fraudScenario: 0, knownAt: T0 + 7 * DAY, ...over,
});
const jsonl = (rows: (Record<string, unknown> | string)[]): string => `${rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n')}\n`;

let dir: string;
let txFile: string;
let outcomesFile: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'history-bad-'));
  txFile = join(dir, 'tx.jsonl');
  outcomesFile = join(dir, 'outcomes.jsonl');
  await writeFile(txFile, jsonl([
    tx('tx-a'),
    tx('tx-b', { cardToken: undefined }), // 2: missing field
    tx('tx-c', { amountMinor: '12x' }), // 3: bad number
    tx('tx-d', { eventTime: 'yesterday' }), // 4: bad time
    tx('tx-e', { cardToken: PAN }), // 5: PAN-like id
    tx('tx-f', { eventTime: T0 + HOUR, amountMinor: 2000 }),
    '', // 7: blank, skipped (still counted as a line)
    tx('tx-g', { eventTime: T0 + 2 * HOUR, terminalId: 'term-2' }),
  ]));
  await writeFile(outcomesFile, jsonl([
    outcome('tx-a', { isFraud: true, fraudScenario: 2 }),
    outcome('tx-unknown'), // 2: outcome for an unknown transaction
    outcome('tx-f', { eventTime: T0 + HOUR, knownAt: T0 }), // 3: out-of-order outcome
    outcome('tx-b'), // 4: its transaction was a bad line: dropped with it, not a bad line
  ]));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const run = (name: string, opts: Partial<HistoryTableOptions> = {}) => {
  const out = join(dir, `${name}.csv`);
  return { out, result: writeHistoryFeatureTable({ transactions: txFile, outcomes: outcomesFile, out, progress: null, ...opts }) };
};

const six = (): string[] => [
  `${txFile}:2: cardToken: expected a string, got nothing (field missing)`,
  `${txFile}:3: amountMinor: expected an integer, got a string`,
  `${txFile}:4: eventTime: expected an integer, got a string`,
  `${txFile}:5: cardToken: looks like a card number (PAN); only tokens are accepted`,
  `${outcomesFile}:2: transactionId: names no transaction of ${txFile}`,
  `${outcomesFile}:3: knownAt: is before the transaction's eventTime (a label known before the payment)`,
];
const SIX_COUNTS = { 'missing-field': 1, 'bad-number': 1, 'bad-time': 1, 'pan-like': 1, 'unknown-transaction': 1, 'out-of-order-outcome': 1 };
const SIX_BY_KIND = '1 missing field, 1 bad number, 1 bad time, 1 PAN-like value, 1 outcome for an unknown transaction, 1 out-of-order outcome';

describe('bad lines', () => {
  it('reports each kind with its file, line and field, never the value, and counts them by kind', async () => {
    const { out, result } = run('over');
    const r = await result;
    expect(r.errorLines).toEqual(six());
    expect(r.counts).toEqual(SIX_COUNTS);
    expect(r.badLines).toBe(6);
    expect(r.byKind).toBe(SIX_BY_KIND);
    expect(r.droppedOutcomes).toBe(1);
    expect(r.errorLines.join('\n')).not.toContain(PAN.slice(0, 6));
    // Above --max-bad (default 0): nothing at --out, no .partial.
    expect(r.written).toBe(false);
    expect(existsSync(out)).toBe(false);
    expect(existsSync(partialPathOf(out))).toBe(false);
    expect(describeHistoryResult(r, { out, maxBad: 0, outcomes: outcomesFile }).failure).toBe(`6 bad lines (${SIX_BY_KIND}), more than --max-bad 0: no feature table written`);
  });

  it('one above --max-bad fails; at --max-bad the good lines make the table and the skipped ones are reported', async () => {
    const above = run('above', { maxBad: 5 });
    expect(await above.result).toMatchObject({ written: false, badLines: 6 });
    expect(existsSync(above.out)).toBe(false);
    expect(existsSync(partialPathOf(above.out))).toBe(false);

    const at = run('at', { maxBad: 6 });
    const r = await at.result;
    expect(r).toMatchObject({ written: true, rows: 3, badLines: 6, counts: SIX_COUNTS, labelled: 1, frauds: 1, droppedOutcomes: 1 });
    expect(existsSync(partialPathOf(at.out))).toBe(false);
    const lines = (await readFile(at.out, 'utf8')).trimEnd().split('\n');
    expect(lines[0]).toBe(CSV_COLUMNS.join(','));
    // Good transactions in time order; tx-a labelled by its outcome, the others without one.
    expect(lines.slice(1).map((l) => l.split(',').slice(0, 6).join(','))).toEqual([
      `tx-a,${T0},card-1,term-1,1,2`,
      `tx-f,${T0 + HOUR},card-1,term-1,,`,
      `tx-g,${T0 + 2 * HOUR},card-1,term-2,,`,
    ]);
    const { notes, failure } = describeHistoryResult(r, { out: at.out, maxBad: 6, outcomes: outcomesFile });
    expect(failure).toBeUndefined();
    expect(notes).toEqual([
      `features: 3 rows → ${at.out}`,
      `features: skipped 6 bad lines (--max-bad 6): ${SIX_BY_KIND}`,
      'features: dropped 1 outcome(s) whose transaction was a skipped line',
      'features: 2 transaction(s) without an outcome: TX_FRAUD empty',
    ]);
  });

  it('CSV: an unknown column in --columns makes the file unusable whatever --max-bad says', async () => {
    const csv = join(dir, 'tx.csv');
    await writeFile(csv, `transactionId,cardToken,terminalId,amount,eventTime\ntx-1,card-1,term-1,100,${T0}\n`);
    const { out, result } = run('csv-unknown', { transactions: csv, outcomes: undefined, columns: parseColumnMapping('amountMinor=amount_cents'), maxBad: 100 });
    const r = await result;
    expect(r).toMatchObject({ written: false, fatal: true, badLines: 1, counts: { 'unknown-column': 1 } });
    expect(r.errorLines).toEqual([`${csv}:1: amountMinor: --columns maps it to column "amount_cents", which the header does not have`]);
    expect(existsSync(out)).toBe(false);
    expect(describeHistoryResult(r, { out, maxBad: 100 }).failure).toBe('an input file cannot be used (see above): no feature table written');

    // The same file with the right mapping is fine.
    const ok = run('csv-mapped', { transactions: csv, outcomes: undefined, columns: parseColumnMapping('amountMinor=amount') });
    expect(await ok.result).toMatchObject({ written: true, rows: 1, badLines: 0 });
  });

  it('CSV: bad cells by kind (number, time, boolean, enum, missing, PAN, extra cells, broken quotes)', async () => {
    const csv = join(dir, 'kinds.csv');
    const outcomesCsv = join(dir, 'kinds-outcomes.csv');
    await writeFile(csv, [
      'transactionId,cardToken,terminalId,amountMinor,eventTime,channel,merchantId',
      `tx-1,card-1,term-1,100,${T0},POS,`,
      `tx-2,card-1,term-1,1.5,${T0},POS,`,
      'tx-3,card-1,term-1,100,2018-04-01 12:00,POS,',
      `tx-4,card-1,term-1,100,${T0},BITCOIN,`,
      `tx-5,,term-1,100,${T0},POS,`,
      `tx-6,card-1,term-1,100,${T0},POS,"${PAN.slice(0, 8)} ${PAN.slice(8)}"`,
      `tx-7,card-1,term-1,100,${T0},POS,m,extra`,
      `tx-8,card-1,term-1,100,${T0},POS,"m"x`,
      `"tx-9",card-1,term-1,100,2018-04-01T13:00:00+01:00,POS,"m, ""quoted""`,
      'and a second line"',
      `tx 10,card-1,term-1,100,${T0},POS,`,
    ].join('\n'));
    await writeFile(outcomesCsv, [
      'transactionId,terminalId,cardToken,eventTime,isFraud,knownAt',
      `tx-1,term-1,card-1,${T0},maybe,${T0 + DAY}`,
      `tx-9,term-1,card-1,${T0},yes,${T0 + DAY}`,
      `tx-9,term-2,card-1,${T0 + 1},TRUE,${T0 + DAY}`,
      `tx-9,term-1,card-1,${T0},TRUE,${T0 + DAY}`,
      `tx-9,term-1,card-1,${T0},false,${T0 + DAY}`,
    ].join('\n'));
    const { result } = run('csv-kinds', { transactions: csv, outcomes: outcomesCsv, maxBad: 100 });
    const r = await result;
    expect(r.errorLines).toEqual([
      `${csv}:3: amountMinor: expected an integer, got text that is not one`,
      `${csv}:4: eventTime: expected epoch milliseconds or an ISO 8601 date-time with a zone (e.g. 2018-04-01T08:00:00Z), got text that is neither`,
      `${csv}:5: channel: expected one of POS, ECOM, ATM, MOTO, UNKNOWN, got a string that is not one of them`,
      `${csv}:6: cardToken: expected a string, got nothing (field missing)`,
      `${csv}:7: merchantId: looks like a card number (PAN); only tokens are accepted`,
      `${csv}:8: has 8 cells, more than the header's 7`,
      `${csv}:9: not valid CSV (a closing quote must end its cell)`,
      `${csv}:12: transactionId: must be 1–128 characters of [A-Za-z0-9_.:-]`,
      `${outcomesCsv}:2: isFraud: expected a boolean (true/false or 1/0), got text that is neither`,
      `${outcomesCsv}:3: isFraud: expected a boolean (true/false or 1/0), got text that is neither`,
      `${outcomesCsv}:4: terminalId: differs from its transaction's; eventTime: differs from its transaction's`,
      `${outcomesCsv}:6: transactionId: its transaction already has the outcome on line 5`,
    ]);
    expect(r.counts).toEqual({
      'bad-number': 1, 'bad-time': 1, 'bad-value': 3, 'missing-field': 1, 'pan-like': 1, 'malformed': 2, 'invalid-id': 1,
      'mismatched-outcome': 1, 'duplicate-outcome': 1,
    });
    // tx-1 and the quoted, multi-line tx-9 (13:00+01:00 is T0) are the good rows.
    expect(r).toMatchObject({ written: true, rows: 2, labelled: 1 });
  });

  it('JSON Lines: malformed lines, duplicates and the scorer\'s content rules', async () => {
    const file = join(dir, 'more.jsonl');
    await writeFile(file, jsonl([
      tx('tx-1'),
      `{"transactionId": "tx-2", "cardToken": ${PAN}`,
      '[1, 2]',
      tx('tx-1', { eventTime: T0 + 1 }),
      tx('tx-3', { amountMinor: -5 }),
      tx('tx-4', { amountMinor: 2 ** 31 }),
      tx('tx-5', { eventTime: Date.UTC(1999, 11, 31) }),
      tx('tx-6', { eventTime: Date.now() + DAY }),
      tx('tx-7', { cardToken: null, terminalId: `t-${PAN}` }),
    ]));
    const { result } = run('jsonl-more', { transactions: file, outcomes: undefined, maxBad: 100 });
    const r = await result;
    expect(r.errorLines).toEqual([
      `${file}:2: not valid JSON`,
      `${file}:3: expected a JSON object, got an array`,
      `${file}:4: transactionId: the same id as line 1 (each transaction appears once)`,
      `${file}:5: amountMinor: must be a non-negative whole number of minor units`,
      `${file}:6: amountMinor: is above the plausible maximum 100000000`,
      `${file}:7: eventTime: is before 2000-01-01`,
      `${file}:8: eventTime: is more than 300000 ms in the future`,
      `${file}:9: cardToken: expected a string, got null`,
    ]);
    expect(r.counts).toEqual({ 'malformed': 2, 'duplicate-transaction': 1, 'bad-number': 2, 'bad-time': 2, 'missing-field': 1 });
    expect(r.errorLines.join('\n')).not.toContain(PAN.slice(0, 6));
  });

  it('Avro: a writer schema without a required field, or a file that is not Avro, is unusable', async () => {
    const file = join(dir, 'partial-schema.avro');
    const encoder = new avro.streams.BlockEncoder({ type: 'record', name: 'T', fields: [{ name: 'transactionId', type: 'string' }, { name: 'eventTime', type: 'long' }] });
    const stream = createWriteStream(file);
    encoder.pipe(stream);
    encoder.end({ transactionId: 'tx-1', eventTime: T0 });
    await once(stream, 'close');
    const r = await run('avro-schema', { transactions: file, outcomes: undefined, maxBad: 100 }).result;
    expect(r).toMatchObject({ written: false, fatal: true });
    expect(r.errorLines).toEqual([
      `${file}:header: cardToken: the writer schema has no such field (a required field of the contract); terminalId: the writer schema has no such field (a required field of the contract); amountMinor: the writer schema has no such field (a required field of the contract)`,
    ]);

    const notAvro = join(dir, 'not.avro');
    await writeFile(notAvro, 'transactionId,cardToken\n');
    const r2 = await run('not-avro', { transactions: notAvro, outcomes: undefined, maxBad: 100 }).result;
    expect(r2.errorLines).toEqual([`${notAvro}:header: not an Avro object container file`]);
  });

  it('prints at most 20 line errors, then "... and N more"', () => {
    const log = new BadLineLog();
    for (let line = 1; line <= 25; line++) log.add({ file: 'f.csv', line, problems: [{ field: 'amountMinor', kind: 'bad-number', message: 'expected an integer' }] });
    expect(log.lines()).toHaveLength(21);
    expect(log.lines()[19]).toBe('f.csv:20: amountMinor: expected an integer');
    expect(log.lines()[20]).toBe('... and 5 more');
    expect(log.byKind()).toBe('25 bad number');
  });

  it('a failure while writing removes the .partial and leaves --out alone', async () => {
    const out = join(dir, 'a-directory.csv');
    await mkdir(out);
    await expect(writeHistoryFeatureTable({ transactions: txFile, outcomes: outcomesFile, out, maxBad: 6, progress: null })).rejects.toThrow();
    expect(existsSync(partialPathOf(out))).toBe(false);
  });
});

describe('fraudscore features --transactions', () => {
  const logs: string[] = [];
  const errs: string[] = [];
  afterEach(() => {
    vi.restoreAllMocks();
    logs.length = 0;
    errs.length = 0;
  });
  const cli = async (...args: string[]): Promise<void> => {
    vi.spyOn(console, 'log').mockImplementation((s: string) => void logs.push(s));
    vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => (errs.push(String(s)), true));
    const program = new Command('fraudscore').exitOverride();
    registerFeatures(program);
    await program.parseAsync(['node', 'fraudscore', 'features', ...args]);
  };

  it('above --max-bad: fails (non-zero exit from main), prints the errors, writes nothing', async () => {
    const out = join(dir, 'cli-over.csv');
    await expect(cli('--out', out, '--transactions', txFile, '--outcomes', outcomesFile)).rejects.toThrow(`6 bad lines (${SIX_BY_KIND}), more than --max-bad 0: no feature table written`);
    expect(errs.join('')).toContain(six().join('\n'));
    expect(existsSync(out)).toBe(false);
    expect(existsSync(partialPathOf(out))).toBe(false);
  });

  it('at --max-bad: writes the table and reports the skipped lines', async () => {
    const out = join(dir, 'cli-at.csv');
    await cli('--out', out, '--transactions', txFile, '--outcomes', outcomesFile, '--max-bad', '6');
    expect(existsSync(out)).toBe(true);
    expect(logs).toContain(`features: skipped 6 bad lines (--max-bad 6): ${SIX_BY_KIND}`);
  });

  it('exactly one source, and the history options only with --transactions', async () => {
    await expect(cli('--out', join(dir, 'x.csv'), '--transactions', txFile, '--days', '3')).rejects.toThrow('give one source: simulation options (--days) or --transactions <file>, not both');
    await expect(cli('--out', join(dir, 'x.csv'), '--max-bad', '3')).rejects.toThrow('--max-bad needs --transactions <file>');
    await expect(cli('--out', join(dir, 'x.csv'), '--transactions', txFile, '--columns', 'amountMinor=x')).rejects.toThrow('--columns applies to CSV files only');
    await expect(cli('--out', join(dir, 'x.csv'), '--transactions', join(dir, 'tx.txt'))).rejects.toThrow(/cannot tell the format .* give --format jsonl\|csv\|avro/);
    expect(() => parseColumnMapping('amount=x')).toThrow(/"amount" is not a field of Transaction or TransactionOutcome/);
    expect(() => parseColumnMapping('outcome.amountMinor=x')).toThrow(/is not a field of outcome/);
  });
});
