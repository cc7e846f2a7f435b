/**
 * The codecs kafkajs lacks, and undecodable batches turned into records to dead-letter, proven
 * with kafkajs's own record batch encoder and decoder (the code paths its consumer runs).
 */
import { createRequire } from 'node:module';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { compressSync as snappyCompressSync } from 'snappy';
import {
  CODEC_NAMES, guardCodec, MAX_SYNTHETIC_RECORDS, registerKafkaCodecs, syntheticRecords, undecodableBatches, UNDECODABLE_BATCH_HEADER,
  type CodecName, type KafkaCodec,
} from '../../../services/common/src/kafka-codecs.js';

// kafkajs internals (pinned 2.2.4): the record batch encoder, the fetch response's message
// decoder, and the plumbing they need.
const require = createRequire(import.meta.url);
const { CompressionCodecs, CompressionTypes } = require('kafkajs') as typeof import('kafkajs');
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0') as {
  RecordBatch: (opts: { compression: number; firstOffset?: unknown; lastOffsetDelta: number; records: unknown[]; firstTimestamp?: number }) => Promise<{ buffer: Buffer }>;
};
const Record = require('kafkajs/src/protocol/recordBatch/record/v0') as (r: { offsetDelta: number; key: Buffer | null; value: Buffer | null; headers?: Record<string, Buffer> }) => unknown;
const Decoder = require('kafkajs/src/protocol/decoder') as new (buffer: Buffer) => unknown;
const decodeMessages = require('kafkajs/src/protocol/requests/fetch/v4/decodeMessages') as (decoder: unknown) => Promise<DecodedRecord[]>;
const Long = require('kafkajs/src/utils/long') as { fromValue(v: string | number): unknown };
const crc32C = require('kafkajs/src/protocol/recordBatch/crc32C') as (b: Buffer) => number;

interface DecodedRecord {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer>;
}

const TYPE: Record<CodecName, number> = { gzip: CompressionTypes.GZIP, snappy: CompressionTypes.Snappy, lz4: CompressionTypes.LZ4, zstd: CompressionTypes.ZSTD };
const table = CompressionCodecs as unknown as Record<number, () => KafkaCodec>;

/** A record batch as kafkajs's producer writes it: `n` records, offsets from `firstOffset`. */
async function encodeBatch(codec: CodecName, n: number, firstOffset = 1000): Promise<Buffer> {
  const records = Array.from({ length: n }, (_, i) => Record({ offsetDelta: i, key: Buffer.from(`card-${i}`), value: Buffer.from(`value ${i} `.repeat(5)) }));
  const batch = await RecordBatch({ compression: TYPE[codec], firstOffset: Long.fromValue(firstOffset), lastOffsetDelta: n - 1, records });
  return batch.buffer;
}

/**
 * A fetch response's message set holding these batches ([int32 size][batches]), placed at a
 * non-zero offset of a larger buffer the way a response sits in the socket's bytes; decoded
 * by kafkajs's fetch decoder.
 */
async function fetchDecode(...batches: Buffer[]): Promise<DecodedRecord[]> {
  const body = Buffer.concat(batches);
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length);
  const response = Buffer.concat([Buffer.alloc(37, 0xab), size, body]).subarray(37);
  return decodeMessages(new Decoder(response));
}

/** Offsets of a batch encoded by kafkajs: [int64 firstOffset][int32 length][batch…]. */
const COMPRESSED_AT = 8 + 4 + 49; // the length counts 49 header bytes (record count included) before the records
const CRC_AT = 8 + 4 + 4 + 1;

/** Replaces the compressed bytes with garbage and fixes the CRC, as a broken producer would send it. */
function corrupt(batch: Buffer): Buffer {
  const out = Buffer.from(batch);
  for (let i = COMPRESSED_AT; i < out.length; i++) out[i] = (i * 7919) & 0xff;
  out.writeUInt32BE(crc32C(out.subarray(CRC_AT + 4)), CRC_AT);
  return out;
}

function withCodec(type: number, codec: KafkaCodec): void {
  const saved = table[type]!;
  table[type] = () => codec;
  restore.push(() => (table[type] = saved));
}
const restore: (() => void)[] = [];
afterEach(() => {
  while (restore.length) restore.pop()!();
});

beforeAll(() => registerKafkaCodecs());

describe('kafka codecs', () => {
  it('registers all four codecs once, idempotently', () => {
    const before = CODEC_NAMES.map((c) => table[TYPE[c]]);
    registerKafkaCodecs();
    expect(CODEC_NAMES.map((c) => table[TYPE[c]])).toEqual(before);
    for (const c of CODEC_NAMES) expect(() => table[TYPE[c]]!()).not.toThrow();
  });

  it.each(CODEC_NAMES)('%s round-trips through kafkajs (encoder → fetch decoder)', async (codec) => {
    const payload = Buffer.from('fraudscore '.repeat(2000));
    const compressed = await table[TYPE[codec]]!().compress({ buffer: payload });
    expect(compressed.length).toBeLessThan(payload.length / 10);
    expect(await table[TYPE[codec]]!().decompress(compressed)).toEqual(payload);

    const records = await fetchDecode(await encodeBatch(codec, 50));
    expect(records.map((r) => r.offset)).toEqual(Array.from({ length: 50 }, (_, i) => String(1000 + i)));
    expect(records[49]!.value!.toString()).toBe('value 49 '.repeat(5));
    expect(records[49]!.key!.toString()).toBe('card-49');
  });

  it('writes raw snappy (what librdkafka writes) and reads xerial-framed snappy (what Java writes)', async () => {
    const a = Buffer.from('first block '.repeat(300));
    const b = Buffer.from('second block '.repeat(200));
    const snappy = table[CompressionTypes.Snappy]!();
    expect((await snappy.compress({ buffer: a })).equals(snappyCompressSync(a))).toBe(true);

    // snappy-java's SnappyOutputStream: magic \x82SNAPPY\0, version 1, compatible version 1,
    // then [int32 length][raw snappy block]…
    const header = Buffer.concat([Buffer.from([0x82, ...Buffer.from('SNAPPY'), 0]), Buffer.from([0, 0, 0, 1, 0, 0, 0, 1])]);
    const block = (data: Buffer) => {
      const c = snappyCompressSync(data);
      const len = Buffer.alloc(4);
      len.writeInt32BE(c.length);
      return Buffer.concat([len, c]);
    };
    expect(await snappy.decompress(Buffer.concat([header, block(a), block(b)]))).toEqual(Buffer.concat([a, b]));
    await expect(snappy.decompress(Buffer.concat([header, block(a)]).subarray(0, 40))).rejects.toThrow();
  });
});

describe('undecodable batches', () => {
  const failing = (message: string): KafkaCodec => ({
    compress: async () => Buffer.alloc(0),
    decompress: async () => {
      throw new Error(message);
    },
  });

  it('become `count` records with the batch offsets, null key and value, and the reason header', async () => {
    const batch = await encodeBatch('lz4', 120, 5000);
    const good = await encodeBatch('gzip', 3, 5120);
    const counted = undecodableBatches.lz4;
    withCodec(CompressionTypes.LZ4, guardCodec('lz4', failing('LZ4 frame: corrupt block')));

    const records = await fetchDecode(batch, good);
    expect(records).toHaveLength(123);
    const bad = records.slice(0, 120);
    expect(bad.map((r) => r.offset)).toEqual(Array.from({ length: 120 }, (_, i) => String(5000 + i)));
    for (const r of bad) {
      expect(r.key).toBeNull();
      expect(r.value).toBeNull();
      expect(Object.keys(r.headers)).toEqual([UNDECODABLE_BATCH_HEADER]);
      expect(r.headers[UNDECODABLE_BATCH_HEADER]!.toString()).toBe('lz4: LZ4 frame: corrupt block');
    }
    // the batch after it is untouched
    expect(records.slice(120).map((r) => [r.offset, r.value!.toString()])).toEqual([0, 1, 2].map((i) => [String(5120 + i), `value ${i} `.repeat(5)]));
    expect(undecodableBatches.lz4).toBe(counted + 1);
  });

  it.each(CODEC_NAMES)('%s: a batch whose compressed bytes are garbage (CRC valid) is dead-letter material, not a crash', async (codec) => {
    const counted = undecodableBatches[codec];
    const records = await fetchDecode(corrupt(await encodeBatch(codec, 40)));
    expect(records).toHaveLength(40);
    expect(records.map((r) => r.offset)).toEqual(Array.from({ length: 40 }, (_, i) => String(1000 + i)));
    expect(records.every((r) => r.value === null)).toBe(true);
    const reason = records[0]!.headers[UNDECODABLE_BATCH_HEADER]!.toString();
    expect(reason.startsWith(`${codec}: `)).toBe(true);
    expect(reason.length).toBeLessThanOrEqual(120);
    expect(undecodableBatches[codec]).toBe(counted + 1);
  });

  it('treats records that decompress but do not frame as undecodable', async () => {
    withCodec(CompressionTypes.ZSTD, guardCodec('zstd', { compress: async () => Buffer.alloc(0), decompress: async () => Buffer.from([0x7e, 1, 2, 3]) }));
    const records = await fetchDecode(await encodeBatch('zstd', 4));
    expect(records.map((r) => r.headers[UNDECODABLE_BATCH_HEADER]!.toString())).toEqual(Array(4).fill('zstd: decompressed records are malformed'));
  });

  it('throws a clear error naming the codec when the bytes before the buffer are not its batch header', async () => {
    const guarded = guardCodec('snappy', failing('snappy: invalid input'));
    // a buffer of its own: nothing before it
    await expect(guarded.decompress(Buffer.alloc(64))).rejects.toThrow(/^snappy: cannot decompress a record batch \(snappy: invalid input\).*do not validate as its header \(only 0 bytes precede it/);
    // a slice of Node's buffer pool: unrelated bytes before it
    await expect(guarded.decompress(Buffer.from('not a batch, from the pool'))).rejects.toThrow(/^snappy: .*do not validate as its header \((magic byte|batch length|only)/);

    // a real batch whose CRC no longer matches (corrupted after the producer wrote it)
    withCodec(CompressionTypes.Snappy, guarded);
    const batch = await encodeBatch('snappy', 10);
    batch[batch.length - 1]! ^= 0xff;
    await expect(fetchDecode(batch)).rejects.toThrow(/^snappy: .*CRC-32C \d+ does not match/);

    // another codec's batch: the attributes name gzip
    const gzipBatch = await encodeBatch('gzip', 10);
    const gz = gzipBatch.subarray(COMPRESSED_AT);
    await expect(guarded.decompress(gz)).rejects.toThrow(/attributes name codec 1, not 2/);
  });

  it('builds synthetic records that kafkajs decodes, with offsets past compaction gaps', () => {
    const buf = syntheticRecords(3, 9, 'gzip: x');
    const RecordDecoder = require('kafkajs/src/protocol/recordBatch/record/v0/decoder') as (d: unknown, ctx: object) => DecodedRecord;
    const d = new Decoder(buf) as { readVarIntBytes(): Buffer };
    const offsets = [0, 1, 2].map(() => RecordDecoder(new Decoder(d.readVarIntBytes()), { firstOffset: '100', firstTimestamp: '0' }).offset);
    expect(offsets).toEqual(['100', '101', '109']);
    expect(MAX_SYNTHETIC_RECORDS).toBeGreaterThan(100_000);
  });
});
