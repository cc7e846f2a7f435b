/**
 * Avro codec for the wire contracts in schemas/.
 *
 * Two framings: the Confluent wire format (magic byte 0, 4-byte big-endian schema id, Avro
 * body) and plain Avro (body only, written with the current schema). Decoding resolves the
 * writer's schema (found by id) against the reader's, so a producer that adds a field with a
 * default, or drops one the reader defaults, does not break a running consumer.
 */
import avro from 'avsc';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from './paths.js';

export const SCHEMAS_DIR = join(PROJECT_ROOT, 'schemas');

export type WireFormat = 'confluent' | 'plain';
export type CodecErrorCode = 'BAD_MAGIC_BYTE' | 'UNKNOWN_SCHEMA_ID' | 'INCOMPATIBLE_SCHEMA' | 'MALFORMED_AVRO';

/** A value could not be decoded; `code` says why in a form the DLQ can carry. */
export class CodecError extends Error {
  constructor(readonly code: CodecErrorCode, message: string) {
    super(message);
    this.name = 'CodecError';
  }
}

/** Finds a writer schema by the id carried in a Confluent-framed message. */
export interface SchemaRegistry {
  typeForId(id: number): avro.Type | undefined;
}

/** Parses one .avsc file from schemas/ (or an absolute path). */
export function loadSchema(file: string): avro.Type {
  const path = file.startsWith('/') ? file : join(SCHEMAS_DIR, file);
  return avro.Type.forSchema(JSON.parse(readFileSync(path, 'utf8')) as avro.Schema);
}

/**
 * The registry embedded in schemas/ids.json: ids never change meaning, so a decoder can trust
 * them without a network round trip. Extra ids (tests, evolved producers) can be added.
 */
export function localRegistry(extra: Record<number, avro.Type> = {}): SchemaRegistry & { ids: Map<number, avro.Type> } {
  const raw = JSON.parse(readFileSync(join(SCHEMAS_DIR, 'ids.json'), 'utf8')) as { ids: Record<string, string> };
  const ids = new Map<number, avro.Type>();
  for (const [id, file] of Object.entries(raw.ids)) ids.set(Number(id), loadSchema(file));
  for (const [id, type] of Object.entries(extra)) ids.set(Number(id), type);
  return { ids, typeForId: (id) => ids.get(id) };
}

/** Looks up the id that schemas/ids.json gives a schema file. */
export function schemaIdOf(file: string): number {
  const raw = JSON.parse(readFileSync(join(SCHEMAS_DIR, 'ids.json'), 'utf8')) as { ids: Record<string, string> };
  const hit = Object.entries(raw.ids).find(([, f]) => f === file);
  if (!hit) throw new Error(`schemas/ids.json gives no id to ${file}`);
  return Number(hit[0]);
}

export interface Codec<T> {
  encode(value: T): Buffer;
  /** Throws CodecError on bad framing, unknown writer schema or a body that does not parse. */
  decode(bytes: Buffer): T;
  readonly type: avro.Type;
}

export interface CodecOptions {
  /** The schema this process reads and writes. */
  type: avro.Type;
  format: WireFormat;
  /** Needed for 'confluent': the id written in front of every encoded value. */
  schemaId?: number;
  registry?: SchemaRegistry;
}

const MAGIC = 0;
const HEADER_BYTES = 5;

export function createCodec<T>(opts: CodecOptions): Codec<T> {
  const { type, format } = opts;
  if (format === 'confluent' && (opts.schemaId === undefined || !opts.registry)) {
    throw new Error('confluent wire format needs schemaId and registry');
  }
  // One resolver per writer id, built once: resolution is the expensive part of decoding.
  const resolvers = new Map<number, avro.Resolver | null>();
  const resolverFor = (id: number): avro.Resolver | null | undefined => {
    if (resolvers.has(id)) return resolvers.get(id);
    const writer = opts.registry?.typeForId(id);
    if (!writer) return undefined;
    let resolver: avro.Resolver | null;
    try {
      resolver = writer.equals(type) ? null : type.createResolver(writer);
    } catch (err) {
      // Typically a field the reader requires (no default) that the writer's schema lacks.
      throw new CodecError('INCOMPATIBLE_SCHEMA', `writer schema ${id} cannot be read as ${String(type.name)}: ${(err as Error).message}`);
    }
    resolvers.set(id, resolver);
    return resolver;
  };

  const parseBody = (body: Buffer, resolver: avro.Resolver | null): T => {
    try {
      // noCheck=false: trailing bytes or a truncated body throw instead of yielding garbage.
      return (resolver ? type.fromBuffer(body, resolver) : type.fromBuffer(body)) as T;
    } catch (err) {
      throw new CodecError('MALFORMED_AVRO', `Avro body does not parse: ${(err as Error).message}`);
    }
  };

  if (format === 'plain') {
    return { type, encode: (v) => type.toBuffer(v), decode: (b) => parseBody(b, null) };
  }

  const schemaId = opts.schemaId as number;
  // Values are written behind the header in a scratch buffer and copied out once: one
  // allocation per value instead of two (toBuffer's, then the framed copy). Encoding is
  // synchronous, so one scratch per codec is never shared by two calls.
  let scratch = Buffer.allocUnsafe(1024);
  return {
    type,
    encode(value) {
      let end = type.encode(value, scratch, HEADER_BYTES);
      if (end < 0) {
        // Too small: `-end` more bytes were needed.
        scratch = Buffer.allocUnsafe(Math.max(2 * scratch.length, scratch.length - end));
        end = type.encode(value, scratch, HEADER_BYTES);
      }
      scratch.writeUInt8(MAGIC, 0);
      scratch.writeUInt32BE(schemaId, 1);
      const out = Buffer.allocUnsafe(end);
      scratch.copy(out, 0, 0, end);
      return out;
    },
    decode(bytes) {
      if (bytes.length < HEADER_BYTES || bytes[0] !== MAGIC) {
        throw new CodecError('BAD_MAGIC_BYTE', `expected Confluent framing (magic byte 0 + 4-byte schema id), got ${bytes.length} bytes starting 0x${(bytes[0] ?? 0).toString(16)}`);
      }
      const id = bytes.readUInt32BE(1);
      const resolver = resolverFor(id);
      if (resolver === undefined) throw new CodecError('UNKNOWN_SCHEMA_ID', `schema id ${id} is not registered`);
      return parseBody(bytes.subarray(HEADER_BYTES), resolver);
    },
  };
}
