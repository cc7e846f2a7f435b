/**
 * Every Kafka compression codec on kafkajs, and batches that cannot be decompressed turned into
 * records the scorer dead-letters instead of a consumer crash (and a crash loop).
 *
 * kafkajs 2.2.4 implements gzip only: a batch another client compressed with snappy, lz4 or
 * zstd throws KafkaJSNotImplemented inside the fetch and crashes the consumer. The codecs:
 *
 * - LZ4: `lz4-napi` (LZ4 *frame* format, what Kafka's record batches v2 carry, from Java's
 *   KafkaLZ4BlockOutputStream and from librdkafka). napi-rs binding of the Rust lz4_flex crate;
 *   prebuilt binaries for 17 targets come as optional npm packages (no compiler, no
 *   install script) and N-API keeps them working across Node majors. 2.10.0 is its latest.
 * - Snappy: `snappy` (napi-rs, by napi-rs's author; prebuilt binaries the same way). 7.4.3
 *   is its latest, of 67 versions, and 7.4 added a streaming API: it is maintained. It does raw
 *   snappy only, so the xerial framing Java's client writes is undone here.
 * - ZSTD: Node's own `node:zlib` zstdCompress/zstdDecompress (Node ≥ 23.8 / 22.15; the project
 *   pins Node 24): no dependency at all. Node marks zstd experimental; the format is not. It
 *   decodes the first frame only: Java and librdkafka write one frame per batch (a batch of
 *   several would come out short, fail the framing check and be dead-lettered, not crash).
 *
 * Not chosen: `kafkajs-lz4` (1.2.1) depends on `lz4` ~0.6 (node-lz4: a nan addon built by
 *   node-gyp at install — a compiler on every machine and a rebuild per Node major; its last
 *   version is 0.6.5); `kafkajs-snappy` (1.1.0, its only version ever; pure-JS snappyjs);
 *   `@kafkajs/zstd` (0.1.1, its only version; depends on `cppzst` 2.0.6, another nan/node-gyp
 *   addon without prebuilt binaries). Health as `npm view <pkg> time` shows it here: the
 *   registry answers without maintainers, and its dates are not publish dates (snappy 1.0.0 is
 *   listed in 2026, after 7.2.2 in 2024), so the judgement rests on versions, dependencies and
 *   how each installs.
 *
 * Undecodable batches. kafkajs's record batch decoder (protocol/recordBatch/v0/decoder.js)
 * reads the batch header and the record count, then calls `codec.decompress(buffer)` with
 * `recordsDecoder.readAll()`: a slice sharing memory with the fetch response, so the batch
 * header sits right before it. When decompression fails (or yields records whose framing does
 * not add up), the wrapper below validates that header — magic 2, this codec in the
 * attributes, batch length = 49 + compressed length, CRC-32C of the batch, 0 < count ≤
 * lastOffsetDelta + 1 ≤ a bound — and returns, instead of throwing, an uncompressed records
 * buffer of `count` synthetic records: offsets firstOffset + 0…count−1 (see syntheticRecords for
 * batches with compaction gaps), null key and value, one
 * header UNDECODABLE_BATCH_HEADER whose value is a short reason ("lz4: <error>"), no payload
 * bytes. Consumers dead-letter them; the batch is counted in `undecodableBatches`. When the
 * header cannot be validated, it throws an Error naming the codec. Nothing here logs.
 */
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { compressFrame, decompressFrame } from 'lz4-napi';
import { compress as snappyCompress, uncompress as snappyUncompress } from 'snappy';

// kafkajs is CommonJS and builds these exports from member expressions, which Node's ESM named
// import detection does not see (`import { CompressionCodecs } from 'kafkajs'` fails under Node,
// though vitest's interop accepts it): take them from the module object.
const require = createRequire(import.meta.url);
const { CompressionCodecs, CompressionTypes } = require('kafkajs') as typeof import('kafkajs');

/** Header on each synthetic record of an undecodable batch; its value is the reason. */
export const UNDECODABLE_BATCH_HEADER = 'fs-undecodable-batch';

export const CODEC_NAMES = ['gzip', 'snappy', 'lz4', 'zstd'] as const;
export type CodecName = (typeof CODEC_NAMES)[number];

/** The shape kafkajs expects of a codec: compress gets its Encoder, decompress the bytes. */
export interface KafkaCodec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

type CodecFactory = (() => KafkaCodec) & { [MARK]?: CodecName };

const MARK = Symbol.for('fraudscore.kafka-codec');
const STATS = Symbol.for('fraudscore.kafka-codec.undecodable-batches');

/**
 * Undecodable batches per codec since start. One object per process (kept on globalThis):
 * kafkajs's codec table is process-wide, so the counts must be too, however often this module
 * is loaded.
 */
export const undecodableBatches: Readonly<Record<CodecName, number>> = ((globalThis as Record<symbol, unknown>)[STATS] ??= {
  gzip: 0,
  snappy: 0,
  lz4: 0,
  zstd: 0,
}) as Record<CodecName, number>;

const TYPE_OF: Record<CodecName, number> = {
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
  zstd: CompressionTypes.ZSTD,
};

// node:zlib has zstd from Node 22.15 / 23.8 (the project runs on 24); on an older Node, zstd
// batches fail (and are dead-lettered) with this reason instead of the module failing to load.
const noZstd = async (): Promise<Buffer> => {
  throw new Error(`node:zlib has no zstd in Node ${process.version} (needs ≥ 22.15)`);
};
const zstdCompress = typeof zlib.zstdCompress === 'function' ? promisify(zlib.zstdCompress) : noZstd;
const zstdDecompress = typeof zlib.zstdDecompress === 'function' ? promisify(zlib.zstdDecompress) : noZstd;

/** The three codecs kafkajs lacks (gzip is kafkajs's own, wrapped at registration). */
export const RAW_CODECS: Readonly<Record<Exclude<CodecName, 'gzip'>, KafkaCodec>> = {
  lz4: {
    compress: (encoder) => compressFrame(encoder.buffer),
    decompress: (buffer) => decompressFrame(buffer),
  },
  snappy: {
    // Raw snappy, as librdkafka writes it; Java's client reads raw and xerial-framed alike.
    compress: (encoder) => snappyCompress(encoder.buffer),
    decompress: snappyDecompress,
  },
  zstd: {
    compress: (encoder) => zstdCompress(encoder.buffer),
    decompress: (buffer) => zstdDecompress(buffer),
  },
};

/**
 * Registers LZ4, Snappy and ZSTD in kafkajs's codec table and guards all four codecs (gzip
 * included) against undecodable batches. Idempotent: a codec already registered is left alone.
 */
export function registerKafkaCodecs(): void {
  const table = CompressionCodecs as unknown as Record<number, CodecFactory>;
  for (const name of CODEC_NAMES) {
    const type = TYPE_OF[name];
    const current = table[type];
    if (current?.[MARK]) continue;
    const raw = name === 'gzip' ? (current!() as KafkaCodec) : RAW_CODECS[name];
    const guarded = guardCodec(name, raw);
    table[type] = Object.assign(() => guarded, { [MARK]: name });
  }
}

/**
 * `codec` whose decompress never fails on a batch it can identify: see the file comment. The
 * batch header must precede `buffer` in memory, as it does inside kafkajs's fetch decoder.
 */
export function guardCodec(name: CodecName, codec: KafkaCodec): KafkaCodec {
  const type = TYPE_OF[name];
  return {
    compress: (encoder) => codec.compress(encoder),
    async decompress(buffer) {
      let reason: string;
      try {
        const records = await codec.decompress(buffer);
        const header = peekHeader(buffer);
        // Framing check: each of `count` records is a varint length and that many bytes. Bad
        // framing would throw inside kafkajs's record decoder, with no codec to blame.
        if (!header || recordsFramed(records, header.count)) return records;
        reason = 'decompressed records are malformed';
      } catch (err) {
        reason = (err as Error)?.message ?? String(err);
      }
      const header = batchHeaderBefore(buffer, type);
      if (typeof header === 'string') {
        throw new Error(`${name}: cannot decompress a record batch (${reason}), and the bytes before it do not validate as its header (${header}), so it cannot be dead-lettered either`);
      }
      (undecodableBatches as Record<CodecName, number>)[name]++;
      return syntheticRecords(header.count, header.lastOffsetDelta, shortReason(`${name}: ${reason}`));
    },
  };
}

async function snappyDecompress(buffer: Buffer): Promise<Buffer> {
  if (!isXerial(buffer)) return (await snappyUncompress(buffer)) as Buffer;
  // xerial framing (snappy-java's SnappyOutputStream): magic 0x82 "SNAPPY" 0x00, int32 version,
  // int32 compatible version, then blocks of [int32 length][raw snappy].
  const chunks: Buffer[] = [];
  let pos = XERIAL_HEADER_BYTES;
  while (pos < buffer.length) {
    if (pos + 4 > buffer.length) throw new Error(`xerial snappy: truncated block length at byte ${pos}`);
    const len = buffer.readInt32BE(pos);
    pos += 4;
    if (len < 0 || pos + len > buffer.length) throw new Error(`xerial snappy: block of ${len} bytes at byte ${pos} overruns the ${buffer.length}-byte input`);
    chunks.push((await snappyUncompress(buffer.subarray(pos, pos + len))) as Buffer);
    pos += len;
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]); // \x82SNAPPY\0
const XERIAL_HEADER_BYTES = 16;

function isXerial(buffer: Buffer): boolean {
  return buffer.length >= XERIAL_HEADER_BYTES && buffer.subarray(0, XERIAL_MAGIC.length).equals(XERIAL_MAGIC);
}

// The record batch (v2) as it precedes the compressed records, distances counted back from
// the first compressed byte (see kafkajs protocol/recordBatch/v0/decoder.js):
//   Length int32 @-53 | PartitionLeaderEpoch int32 @-49 | Magic int8 @-45 | CRC uint32 @-44 |
//   Attributes int16 @-40 | LastOffsetDelta int32 @-38 | FirstTimestamp int64 @-34 |
//   MaxTimestamp int64 @-26 | ProducerId int64 @-18 | ProducerEpoch int16 @-10 |
//   FirstSequence int32 @-8 | RecordCount int32 @-4 | compressed records…
// Length counts from PartitionLeaderEpoch to the end of the batch (49 + compressed bytes); the
// CRC-32C covers Attributes to the end.
const AT = { length: 53, magic: 45, crc: 44, attributes: 40, lastOffsetDelta: 38, count: 4 } as const;
const RECORD_BATCH_MAGIC = 2;
const CODEC_MASK = 0x07;
/** A batch is at most max.message.bytes (1 MiB by default); a million records is far beyond any real one. */
export const MAX_SYNTHETIC_RECORDS = 1_000_000;

interface BatchHeader {
  count: number;
  lastOffsetDelta: number;
}

/** The 53 bytes before `buffer` in its memory, or null when they are not there. */
function before(buffer: Buffer): Buffer | null {
  if (buffer.byteOffset < AT.length) return null;
  return Buffer.from(buffer.buffer, buffer.byteOffset - AT.length, AT.length);
}

/** A cheap look at the header on the success path (no CRC): the count, when it plausibly is one. */
function peekHeader(buffer: Buffer): BatchHeader | null {
  const h = before(buffer);
  if (!h) return null;
  const at = (d: number) => AT.length - d;
  if (h.readInt8(at(AT.magic)) !== RECORD_BATCH_MAGIC || h.readInt32BE(at(AT.length)) !== 49 + buffer.length) return null;
  const count = h.readInt32BE(at(AT.count));
  const lastOffsetDelta = h.readInt32BE(at(AT.lastOffsetDelta));
  return count > 0 && count <= lastOffsetDelta + 1 && count <= MAX_SYNTHETIC_RECORDS ? { count, lastOffsetDelta } : null;
}

/** This batch's header before `buffer`, fully validated; or why it is not one. */
function batchHeaderBefore(buffer: Buffer, type: number): BatchHeader | string {
  const h = before(buffer);
  if (!h) return `only ${buffer.byteOffset} bytes precede it in memory, a batch header needs ${AT.length}`;
  const at = (d: number) => AT.length - d;
  const magic = h.readInt8(at(AT.magic));
  if (magic !== RECORD_BATCH_MAGIC) return `magic byte ${magic}, not ${RECORD_BATCH_MAGIC}`;
  const length = h.readInt32BE(at(AT.length));
  if (length !== 49 + buffer.length) return `batch length ${length}, not 49 + ${buffer.length} compressed bytes`;
  const attributes = h.readInt16BE(at(AT.attributes));
  if ((attributes & CODEC_MASK) !== type) return `attributes name codec ${attributes & CODEC_MASK}, not ${type}`;
  const crc = h.readUInt32BE(at(AT.crc));
  const actual = crc32C(Buffer.from(buffer.buffer, buffer.byteOffset - AT.attributes, AT.attributes + buffer.length));
  if (crc !== actual) return `CRC-32C ${actual} does not match the header's ${crc}`;
  const lastOffsetDelta = h.readInt32BE(at(AT.lastOffsetDelta));
  const count = h.readInt32BE(at(AT.count));
  if (!(count > 0 && count <= lastOffsetDelta + 1 && count <= MAX_SYNTHETIC_RECORDS)) {
    return `record count ${count} is not within 1…min(lastOffsetDelta + 1 = ${lastOffsetDelta + 1}, ${MAX_SYNTHETIC_RECORDS})`;
  }
  return { count, lastOffsetDelta };
}

const crc32C = require('kafkajs/src/protocol/recordBatch/crc32C') as (buffer: Buffer) => number;

/** Whether `records` holds `count` length-prefixed records and nothing else. */
function recordsFramed(records: Buffer, count: number): boolean {
  let pos = 0;
  for (let i = 0; i < count; i++) {
    const v = readVarInt(records, pos);
    if (!v || v.value < 0) return false;
    pos = v.next + v.value;
    if (pos > records.length) return false;
  }
  return pos === records.length;
}

function readVarInt(buf: Buffer, pos: number): { value: number; next: number } | null {
  let raw = 0;
  for (let shift = 0; shift <= 28; shift += 7) {
    if (pos >= buf.length) return null;
    const b = buf[pos++]!;
    raw += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return { value: raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2, next: pos }; // zigzag
  }
  return null;
}

function shortReason(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= 120 ? flat : `${flat.slice(0, 119)}…`;
}

/**
 * `count` records, uncompressed, as kafkajs's record decoder reads them: offsetDelta 0…count−1
 * (what every producer writes). If compaction left gaps (count < lastOffsetDelta + 1), the real
 * offsets are unknowable; the last record then takes lastOffsetDelta, so the consumer's position
 * still moves past the whole batch.
 */
export function syntheticRecords(count: number, lastOffsetDelta: number, reason: string): Buffer {
  const key = Buffer.from(UNDECODABLE_BATCH_HEADER);
  const value = Buffer.from(reason);
  const tail = Buffer.concat([
    zigzag(-1), // key: null
    zigzag(-1), // value: null
    zigzag(1), // one header
    zigzag(key.length), key,
    zigzag(value.length), value,
  ]);
  const parts: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const offsetDelta = i === count - 1 ? lastOffsetDelta : i;
    const body = Buffer.concat([Buffer.from([0]), zigzag(0), zigzag(offsetDelta), tail]); // attributes, timestampDelta
    parts.push(zigzag(body.length), body);
  }
  return Buffer.concat(parts);
}

function zigzag(n: number): Buffer {
  let v = n >= 0 ? n * 2 : -n * 2 - 1;
  const bytes: number[] = [];
  while (v >= 0x80) {
    bytes.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  bytes.push(v);
  return Buffer.from(bytes);
}
