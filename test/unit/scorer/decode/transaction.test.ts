import { describe, expect, it } from 'vitest';
import type { Codec } from '../../../../services/common/src/avro.js';
import { createCodecs, type Transaction } from '../../../../services/common/src/contracts.js';
import { containsPanLike } from '../../../../services/scorer/src/decode/pan.js';
import { decodeTransaction, validateTransaction, type DecodeLimits } from '../../../../services/scorer/src/decode/transaction.js';
import { InputError, type ErrorCode } from '../../../../services/scorer/src/errors.js';
import { EXPECTED_CODE, POISON_KINDS, poisonRecord, TEST_PAN } from '../../../../services/simulator/src/poison.js';

const NOW = Date.UTC(2024, 5, 1, 12, 0, 0);
const LIMITS: DecodeLimits = { maxFutureSkewMs: 300_000, maxAmountMinor: 100_000_000 };
const CARD = 'card-000123';

const tx: Transaction = {
  transactionId: 'tx-000000001',
  cardToken: CARD,
  terminalId: 'term-000042',
  amountMinor: 4_250,
  currency: 'EUR',
  eventTime: NOW - 60_000,
  merchantId: 'merch-000042',
  merchantCategoryCode: '5812',
  merchantCountry: 'FR',
  channel: 'POS',
  entryMode: 'CHIP',
  cardPresent: true,
};

const confluent = createCodecs('confluent').transaction;
const plain = createCodecs('plain').transaction;

function errorOf(fn: () => unknown): InputError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return err as InputError;
  }
  throw new Error('expected an InputError, nothing was thrown');
}

/** Decodes tx (with overrides) as the scorer would; returns the error, or undefined when accepted. */
function decodeWith(overrides: Partial<Transaction>, codec: Codec<Transaction> = confluent): InputError | undefined {
  const bytes = codec.encode({ ...tx, ...overrides });
  try {
    decodeTransaction(bytes, codec, LIMITS, NOW);
    return undefined;
  } catch (err) {
    if (err instanceof InputError) return err;
    throw err;
  }
}
const codeFor = (overrides: Partial<Transaction>): ErrorCode | undefined => decodeWith(overrides)?.code;

/** No value that identifies a card may leak into a DLQ reason. */
function expectSafeMessage(err: InputError, ...secrets: string[]): void {
  for (const s of [CARD, TEST_PAN, ...secrets]) expect(err.message).not.toContain(s);
  expect(containsPanLike(err.message)).toBe(false);
  expect(err.retryable).toBe(false);
}

describe('decodeTransaction: valid input', () => {
  it('returns the transaction in both wire formats', () => {
    expect(decodeTransaction(confluent.encode(tx), confluent, LIMITS, NOW)).toEqual(tx);
    expect(decodeTransaction(plain.encode(tx), plain, LIMITS, NOW)).toEqual(tx);
  });

  it('accepts a zero amount (account verification) and null merchant fields', () => {
    expect(codeFor({ amountMinor: 0 })).toBeUndefined();
    expect(codeFor({ merchantId: null, merchantCategoryCode: null, merchantCountry: null })).toBeUndefined();
  });

  it('accepts the boundaries: amount == max, eventTime == now + skew, eventTime == 2000-01-01', () => {
    expect(codeFor({ amountMinor: LIMITS.maxAmountMinor })).toBeUndefined();
    expect(codeFor({ eventTime: NOW + LIMITS.maxFutureSkewMs })).toBeUndefined();
    expect(codeFor({ eventTime: Date.UTC(2000, 0, 1) })).toBeUndefined();
  });

  it('accepts ids of 1 and 128 characters from [A-Za-z0-9_.:-]', () => {
    expect(codeFor({ transactionId: 'a' })).toBeUndefined();
    expect(codeFor({ transactionId: 'x'.repeat(128) })).toBeUndefined();
    expect(codeFor({ terminalId: 'T_1.a:b-c' })).toBeUndefined();
  });
});

describe('decodeTransaction: poison records from the simulator', () => {
  it.each(POISON_KINDS)('%s decodes to its expected code', (kind) => {
    const { value } = poisonRecord(kind, tx, NOW);
    const err = errorOf(() => decodeTransaction(value, confluent, LIMITS, NOW));
    expect(err.code).toBe(EXPECTED_CODE[kind]);
    expectSafeMessage(err);
  });

  it('covers every kind with an expected code', () => {
    expect(Object.keys(EXPECTED_CODE).sort()).toEqual([...POISON_KINDS].sort());
  });

  it('a tombstone or an empty value is MISSING_FIELD', () => {
    expect(errorOf(() => decodeTransaction(null, confluent, LIMITS, NOW)).code).toBe('MISSING_FIELD');
    expect(errorOf(() => decodeTransaction(Buffer.alloc(0), confluent, LIMITS, NOW)).code).toBe('MISSING_FIELD');
  });

  it('passes framing codes through and maps INCOMPATIBLE_SCHEMA to MISSING_FIELD', () => {
    const good = confluent.encode(tx);
    expect(errorOf(() => decodeTransaction(Buffer.concat([good, Buffer.from([1])]), confluent, LIMITS, NOW)).code).toBe('MALFORMED_AVRO');
    expect(errorOf(() => decodeTransaction(plain.encode(tx), confluent, LIMITS, NOW)).code).toBe('BAD_MAGIC_BYTE');
    const missing = poisonRecord('missing-field', tx, NOW).value;
    expect(missing.readUInt32BE(1)).toBe(9001);
    expect(errorOf(() => decodeTransaction(missing, confluent, LIMITS, NOW)).code).toBe('MISSING_FIELD');
  });

  it('rethrows an error that is not a codec error (a bug, not poison input)', () => {
    const broken: Codec<Transaction> = { type: confluent.type, encode: confluent.encode, decode: () => { throw new TypeError('boom'); } };
    expect(() => decodeTransaction(Buffer.from([1]), broken, LIMITS, NOW)).toThrow(TypeError);
  });
});

describe('content rules', () => {
  it('INVALID_AMOUNT: negative, above the maximum, fractional or not finite', () => {
    expect(codeFor({ amountMinor: -1 })).toBe('INVALID_AMOUNT');
    expect(codeFor({ amountMinor: LIMITS.maxAmountMinor + 1 })).toBe('INVALID_AMOUNT');
    for (const amountMinor of [1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
      expect(errorOf(() => validateTransaction({ ...tx, amountMinor }, { ...LIMITS, maxAmountMinor: Number.MAX_VALUE }, NOW)).code).toBe('INVALID_AMOUNT');
    }
  });

  it('INVALID_EVENT_TIME: too far in the future or before 2000-01-01', () => {
    expect(codeFor({ eventTime: NOW + LIMITS.maxFutureSkewMs + 1 })).toBe('INVALID_EVENT_TIME');
    expect(codeFor({ eventTime: Date.UTC(2000, 0, 1) - 1 })).toBe('INVALID_EVENT_TIME');
    expect(codeFor({ eventTime: 0 })).toBe('INVALID_EVENT_TIME');
    expect(codeFor({ eventTime: -86_400_000 })).toBe('INVALID_EVENT_TIME');
    expect(codeFor({ eventTime: Date.UTC(1985, 6, 1) })).toBe('INVALID_EVENT_TIME');
  });

  it.each(['transactionId', 'cardToken', 'terminalId'] as const)('INVALID_ID: %s with a space, empty, too long or odd characters', (field) => {
    for (const value of ['tx 1', ' card-1', 'term-1 ', '', 'x'.repeat(129), 'a/b', 'ä', 'a\nb']) {
      const err = decodeWith({ [field]: value });
      expect(err?.code, `${field}=${JSON.stringify(value)}`).toBe('INVALID_ID');
      expect(err!.message).toContain(field);
      if (value.length > 1) expect(err!.message).not.toContain(value);
    }
  });

  it.each(['transactionId', 'cardToken', 'terminalId'] as const)('PAN_LIKE_VALUE: a PAN as %s, even grouped with spaces', (field) => {
    for (const value of [TEST_PAN, '4111 1111 1111 1111', 'id-378282246310005']) {
      const err = decodeWith({ [field]: value });
      expect(err?.code).toBe('PAN_LIKE_VALUE');
      expect(err!.message).toContain(field);
      expectSafeMessage(err!, value);
    }
  });

  it.each(['merchantId', 'merchantCategoryCode', 'merchantCountry'] as const)('PAN_LIKE_VALUE: a PAN in the optional %s', (field) => {
    const err = decodeWith({ [field]: `m${TEST_PAN}` });
    expect(err?.code).toBe('PAN_LIKE_VALUE');
    expect(err!.message).toContain(field);
    expectSafeMessage(err!);
  });

  it('no rule puts the card token or the amount in its message', () => {
    const errors = [
      decodeWith({ amountMinor: -987_654 }),
      decodeWith({ amountMinor: LIMITS.maxAmountMinor + 987_654 }),
      decodeWith({ eventTime: NOW + 86_400_000 }),
      decodeWith({ eventTime: 123_456_789 }),
      decodeWith({ transactionId: 'has space' }),
    ];
    for (const err of errors) {
      expect(err).toBeInstanceOf(InputError);
      expectSafeMessage(err!, '987654', '123456789', 'has space');
    }
  });
});
