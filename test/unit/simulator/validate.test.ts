import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createCodecs, type Transaction } from '../../../services/common/src/contracts.js';
import { readUserTransactions } from '../../../services/simulator/src/files.js';
import { checkTransactionLine } from '../../../services/simulator/src/validate.js';

const type = createCodecs('plain').transaction.type;
const PAN = '4111111111111111';

const valid: Transaction = {
  transactionId: 'tx-1', cardToken: 'card-000001', terminalId: 'term-000001', amountMinor: 1234, currency: 'EUR',
  eventTime: 1_522_540_800_000, merchantId: 'm-1', merchantCategoryCode: '5411', merchantCountry: 'FR',
  channel: 'POS', entryMode: 'CHIP', cardPresent: true,
};
const line = (over: Record<string, unknown>): string => JSON.stringify({ ...valid, ...over });

describe('checkTransactionLine', () => {
  it('accepts a valid record, fills schema defaults and drops undeclared fields', () => {
    expect(checkTransactionLine(line({}), type)).toEqual({ ok: true, tx: valid });
    const minimal = { transactionId: 'a', cardToken: 'b', terminalId: 'c', amountMinor: 1, eventTime: 2, pan: PAN };
    const r = checkTransactionLine(JSON.stringify(minimal), type);
    expect(r).toEqual({
      ok: true,
      tx: { transactionId: 'a', cardToken: 'b', terminalId: 'c', amountMinor: 1, currency: 'EUR', eventTime: 2,
        merchantId: null, merchantCategoryCode: null, merchantCountry: null, channel: 'POS', entryMode: 'CHIP', cardPresent: true },
    });
  });

  it('names each bad field and the expected type, never the value', () => {
    const r = checkTransactionLine(line({ amountMinor: PAN, eventTime: 1.5, channel: PAN, merchantId: 7, cardToken: undefined, cardPresent: 'yes', currency: 2 ** 60 }), type);
    expect(r).toEqual({
      ok: false,
      problems: [
        { path: 'cardToken', message: 'expected a string, got nothing (field missing)' },
        { path: 'amountMinor', message: 'expected an integer, got a string' },
        { path: 'currency', message: 'expected a string, got a number' },
        { path: 'eventTime', message: 'expected an integer, got a non-integer number' },
        { path: 'merchantId', message: 'expected null or a string, got a number' },
        { path: 'channel', message: 'expected one of POS, ECOM, ATM, MOTO, UNKNOWN, got a string that is not one of them' },
        { path: 'cardPresent', message: 'expected a boolean (true/false), got a string' },
      ],
    });
    expect(checkTransactionLine(line({ amountMinor: 2 ** 60 }), type)).toEqual({
      ok: false, problems: [{ path: 'amountMinor', message: 'expected an integer within +/-2^53, got one outside that range' }],
    });
  });

  it('rejects non-JSON and non-objects without quoting the input', () => {
    const broken = checkTransactionLine(`{"cardToken": ${PAN}x}`, type);
    expect(broken).toEqual({ ok: false, problems: [{ path: '', message: 'not valid JSON' }] });
    expect(checkTransactionLine(`[${PAN}]`, type)).toEqual({ ok: false, problems: [{ path: '', message: 'expected a JSON object, got an array' }] });
    expect(checkTransactionLine(PAN, type)).toMatchObject({ ok: false });
  });
});

describe('readUserTransactions', () => {
  it('yields each line as a transaction or a numbered error', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fraudscore-jsonl-'));
    try {
      const file = join(dir, 'mine.jsonl');
      await writeFile(file, [line({}), '', line({ amountMinor: '12' }), 'not json', line({ transactionId: 'tx-2' })].join('\n'));
      const out: { line: number; ok: boolean; message?: string }[] = [];
      for await (const r of readUserTransactions(file)) out.push({ line: r.line, ok: !r.error, message: r.error?.message });
      expect(out).toEqual([
        { line: 1, ok: true, message: undefined },
        { line: 3, ok: false, message: 'line 3: amountMinor: expected an integer, got a string' },
        { line: 4, ok: false, message: 'line 4: not valid JSON' },
        { line: 5, ok: true, message: undefined },
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
