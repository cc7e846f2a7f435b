import avro from 'avsc';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CodecError, createCodec, loadSchema, localRegistry, SCHEMAS_DIR, type CodecErrorCode } from '../../../services/common/src/avro.js';
import { createCodecs, type Transaction } from '../../../services/common/src/contracts.js';

interface RecordSchema {
  type: 'record';
  name: string;
  namespace?: string;
  fields: { name: string; type: unknown; default?: unknown }[];
}

const current = JSON.parse(readFileSync(join(SCHEMAS_DIR, 'Transaction.avsc'), 'utf8')) as RecordSchema;
const variant = (edit: (fields: RecordSchema['fields']) => RecordSchema['fields']): avro.Type =>
  avro.Type.forSchema({ ...current, fields: edit(structuredClone(current.fields)) } as avro.Schema);

const tx: Transaction = {
  transactionId: 'tx-000000001',
  cardToken: 'card-000123',
  terminalId: 'term-000042',
  amountMinor: 4_250,
  currency: 'EUR',
  eventTime: Date.UTC(2024, 0, 2, 3, 4, 5),
  merchantId: 'merch-1',
  merchantCategoryCode: '5812',
  merchantCountry: 'DE',
  channel: 'POS',
  entryMode: 'CONTACTLESS',
  cardPresent: true,
};

/** Frames a body the way a Confluent producer using schema `id` would. */
function framed(id: number, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(id, 1);
  return Buffer.concat([header, body]);
}

function codecErrorOf(fn: () => unknown): CodecError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CodecError);
    return err as CodecError;
  }
  throw new Error('expected a CodecError, nothing was thrown');
}
const codeOf = (fn: () => unknown): CodecErrorCode => codecErrorOf(fn).code;

describe('schema evolution: writer adds a field with a default', () => {
  const writerType = variant((f) => [...f, { name: 'riskHint', type: 'string', default: 'none' }]);
  const registry = localRegistry({ 100: writerType });
  const reader = createCodecs('confluent', registry).transaction;

  it('the current reader decodes it and drops the extra field', () => {
    const bytes = framed(100, writerType.toBuffer({ ...tx, riskHint: 'elevated' }));
    const back = reader.decode(bytes);
    expect(back).toEqual(tx);
    expect(back).not.toHaveProperty('riskHint');
    // the resolver is cached per id: a second message decodes the same way
    expect(reader.decode(framed(100, writerType.toBuffer({ ...tx, amountMinor: 1, riskHint: 'x' })))).toEqual({ ...tx, amountMinor: 1 });
  });

  it('messages of the current id still decode through the same codec', () => {
    expect(reader.decode(createCodecs('confluent').transaction.encode(tx))).toEqual(tx);
  });
});

describe('schema evolution: reader adds a field with a default', () => {
  const readerType = variant((f) => [...f, { name: 'riskHint', type: 'string', default: 'none' }]);
  const reader = createCodec<Transaction & { riskHint: string }>({ type: readerType, format: 'confluent', schemaId: 101, registry: localRegistry() });

  it('reads data written with the current schema and gets the default', () => {
    const back = reader.decode(createCodecs('confluent').transaction.encode(tx));
    expect(back).toEqual({ ...tx, riskHint: 'none' });
  });
});

describe('schema evolution: a field removed', () => {
  it('writer lacks a field the reader defaults: the default is filled in', () => {
    const noCountry = variant((f) => f.filter((x) => x.name !== 'merchantCountry' && x.name !== 'cardPresent'));
    const reader = createCodecs('confluent', localRegistry({ 102: noCountry })).transaction;
    const { merchantCountry: _c, cardPresent: _p, ...rest } = tx;
    const back = reader.decode(framed(102, noCountry.toBuffer(rest)));
    expect(back).toEqual({ ...tx, merchantCountry: null, cardPresent: true });
  });

  it('reader lacks a field the writer has: the field is ignored', () => {
    const readerType = variant((f) => f.filter((x) => x.name !== 'merchantId'));
    const reader = createCodec<Omit<Transaction, 'merchantId'>>({ type: readerType, format: 'confluent', schemaId: 103, registry: localRegistry() });
    const back = reader.decode(createCodecs('confluent').transaction.encode(tx));
    const { merchantId: _m, ...rest } = tx;
    expect(back).toEqual(rest);
    expect(back).not.toHaveProperty('merchantId');
  });

  it('writer lacks a REQUIRED field (test vector 9001, no cardToken): INCOMPATIBLE_SCHEMA, every time', () => {
    const without = loadSchema('test-vectors/Transaction-without-cardToken.avsc');
    const registry = localRegistry();
    expect(registry.typeForId(9001)).toBeDefined();
    const reader = createCodecs('confluent', registry).transaction;
    const { cardToken: _t, ...rest } = tx;
    const bytes = framed(9001, without.toBuffer(rest));
    const err = codecErrorOf(() => reader.decode(bytes));
    expect(err.code).toBe('INCOMPATIBLE_SCHEMA');
    expect(err.message).toMatch(/9001/);
    // a failed resolution is not cached as a success
    expect(codeOf(() => reader.decode(bytes))).toBe('INCOMPATIBLE_SCHEMA');
  });
});

describe('decode errors', () => {
  const confluent = createCodecs('confluent').transaction;
  const plain = createCodecs('plain').transaction;
  const good = confluent.encode(tx);

  it('a first byte other than 0 is BAD_MAGIC_BYTE', () => {
    const bad = Buffer.from(good);
    bad[0] = 1;
    expect(codeOf(() => confluent.decode(bad))).toBe('BAD_MAGIC_BYTE');
    expect(codeOf(() => confluent.decode(Buffer.from(JSON.stringify(tx))))).toBe('BAD_MAGIC_BYTE');
    // a plain body fed to a confluent reader: its first byte is a string length, not 0
    expect(codeOf(() => confluent.decode(plain.encode(tx)))).toBe('BAD_MAGIC_BYTE');
  });

  it('fewer than 5 bytes cannot hold the header: BAD_MAGIC_BYTE', () => {
    expect(codeOf(() => confluent.decode(Buffer.alloc(0)))).toBe('BAD_MAGIC_BYTE');
    expect(codeOf(() => confluent.decode(Buffer.from([0, 0, 0, 1])))).toBe('BAD_MAGIC_BYTE');
  });

  it('an id the registry does not know is UNKNOWN_SCHEMA_ID and the message names it', () => {
    const bad = Buffer.from(good);
    bad.writeUInt32BE(424_242, 1);
    const err = codecErrorOf(() => confluent.decode(bad));
    expect(err.code).toBe('UNKNOWN_SCHEMA_ID');
    expect(err.message).toContain('424242');
    // id 100 is unknown to a registry that was not told about it
    expect(codeOf(() => confluent.decode(framed(100, good.subarray(5))))).toBe('UNKNOWN_SCHEMA_ID');
  });

  it('a header with no body, a truncated body and trailing garbage are MALFORMED_AVRO', () => {
    expect(codeOf(() => confluent.decode(good.subarray(0, 5)))).toBe('MALFORMED_AVRO');
    expect(codeOf(() => confluent.decode(good.subarray(0, good.length - 1)))).toBe('MALFORMED_AVRO');
    expect(codeOf(() => confluent.decode(good.subarray(0, 12)))).toBe('MALFORMED_AVRO');
    expect(codeOf(() => confluent.decode(Buffer.concat([good, Buffer.from([0x02, 0x41])])))).toBe('MALFORMED_AVRO');
  });

  it('plain format: truncated body and trailing garbage are MALFORMED_AVRO too', () => {
    const body = plain.encode(tx);
    expect(plain.decode(body)).toEqual(tx);
    expect(codeOf(() => plain.decode(body.subarray(0, body.length - 3)))).toBe('MALFORMED_AVRO');
    expect(codeOf(() => plain.decode(Buffer.concat([body, Buffer.from([7])])))).toBe('MALFORMED_AVRO');
  });

  it('an out-of-range enum index is MALFORMED_AVRO, not a crash', () => {
    const body = plain.encode(tx);
    // channel is the 3rd-to-last field: enum index, entryMode index, boolean
    const bad = Buffer.from(body);
    bad[bad.length - 3] = 0x7e; // zig-zag 63: no such Channel symbol
    expect(codeOf(() => plain.decode(bad))).toBe('MALFORMED_AVRO');
  });
});

describe('createCodec options', () => {
  it('refuses the confluent format without a schema id or registry', () => {
    const type = loadSchema('Transaction.avsc');
    expect(() => createCodec({ type, format: 'confluent', registry: localRegistry() })).toThrow(/schemaId/);
    expect(() => createCodec({ type, format: 'confluent', schemaId: 1 })).toThrow(/registry/);
    expect(() => createCodec({ type, format: 'plain' })).not.toThrow();
  });
});
