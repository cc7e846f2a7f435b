/**
 * Readers of a user's own transaction history: transactions and outcomes (labels) from
 * JSON Lines, CSV or Avro object container files, checked record by record.
 *
 *   jsonl  one Transaction / TransactionOutcome object per line (the contracts in
 *          schemas/*.avsc; fields with a schema default may be left out, others are dropped).
 *          Times are epoch milliseconds, as in the contract.
 *   csv    a header row, then one record per row; columns and cell syntax in csv.ts.
 *   avro   an Avro object container file (null, deflate or snappy blocks) whose writer schema
 *          is a record carrying the contract's fields by name: field order, extra fields and
 *          the schema's name do not matter; a required field (no default in the contract)
 *          missing from the writer schema makes the file unusable. "Line" numbers of an Avro
 *          file are record numbers (1-based); `header` stands for its schema.
 *
 * Each reader yields, in file order, batches of items: a checked record with its line number,
 * or a bad line (check.ts: shape, then the scorer's content rules). A bad line marked fatal
 * (an unusable header or schema, a file that is not Avro) ends the file. The caller decides
 * what to do with bad lines (merge.ts: count them, keep the good records). Text files are
 * read in 1 MiB chunks and each chunk's lines are checked without an await per line: one
 * promise per line (readline, then a generator per layer) cost more than the checks.
 */
import { createReadStream } from 'node:fs';
import avro from 'avsc';
import { uncompress } from 'snappy';
import type { Transaction } from '../../../common/src/contracts.js';
import { checkTransactionLine } from '../../../simulator/src/validate.js';
import {
  checkObject, classify, OUTCOME_TYPE, outcomeContentProblems, transactionContentProblems, TRANSACTION_TYPE, usableId,
  type ContentRules, type OutcomeRecord,
} from './check.js';
import { cellsToObject, csvLayout, CsvSplitter, type ColumnMapping, type Contract, type CsvLayout, type CsvRecord } from './csv.js';
import type { BadLine, Problem } from './problems.js';

export type HistoryFormat = 'jsonl' | 'csv' | 'avro';
export const HISTORY_FORMATS: readonly HistoryFormat[] = ['jsonl', 'csv', 'avro'];

const EXTENSIONS: Record<string, HistoryFormat> = { '.jsonl': 'jsonl', '.ndjson': 'jsonl', '.csv': 'csv', '.avro': 'avro' };

/** The format given, else the one the file's extension names; throws when neither says. */
export function formatOf(file: string, given?: string): HistoryFormat {
  if (given !== undefined) {
    if (!(HISTORY_FORMATS as readonly string[]).includes(given)) throw new Error(`--format must be one of ${HISTORY_FORMATS.join(', ')}`);
    return given as HistoryFormat;
  }
  const lower = file.toLowerCase();
  const ext = Object.keys(EXTENSIONS).find((e) => lower.endsWith(e));
  if (!ext) throw new Error(`cannot tell the format of ${file} from its extension (.jsonl, .ndjson, .csv, .avro): give --format jsonl|csv|avro`);
  return EXTENSIONS[ext] as HistoryFormat;
}

export interface ReaderOptions {
  format: HistoryFormat;
  /** CSV only; default: every field from the column of its own name. */
  columns?: ColumnMapping;
  rules: ContentRules;
}

/**
 * A good record, or a bad line. `id` on a bad transaction line is its transaction id when
 * that field itself is usable (check.ts usableId): an outcome for it is dropped quietly.
 */
export type ReadItem<T> = { line: number; value: T; bad?: undefined } | { bad: BadLine; id?: string };

// ---- records, whatever the format ---------------------------------------------------------

/** Shape problems first (missing, types); content rules only for a well-shaped record. */
function finishTransaction(file: string, line: number, record: Record<string, unknown>, shape: Problem[], rules: ContentRules): ReadItem<Transaction> {
  if (shape.length > 0) return { bad: { file, line, problems: shape }, id: shape.some((p) => p.field === 'transactionId') ? undefined : usableId(record.transactionId) };
  const tx = record as unknown as Transaction;
  const content = transactionContentProblems(tx, rules);
  if (content.length > 0) return { bad: { file, line, problems: content }, id: content.some((p) => p.field === 'transactionId') ? undefined : usableId(tx.transactionId) };
  return { line, value: tx };
}

function finishOutcome(file: string, line: number, record: Record<string, unknown>, shape: Problem[], carriesScenario: boolean, rules: ContentRules): ReadItem<OutcomeRecord> {
  if (shape.length > 0) return { bad: { file, line, problems: shape } };
  const outcome = record as unknown as OutcomeRecord;
  if (!carriesScenario) delete outcome.fraudScenario;
  const content = outcomeContentProblems(outcome, rules);
  if (content.length > 0) return { bad: { file, line, problems: content } };
  return { line, value: outcome };
}

/** Object from CSV or Avro: conversion problems first, then the Avro check for the other fields. */
function checkConverted(object: Record<string, unknown>, converted: Problem[], contract: Contract): { record: Record<string, unknown>; problems: Problem[] } {
  const { record, problems } = checkObject(object, contract === 'transaction' ? TRANSACTION_TYPE : OUTCOME_TYPE);
  const reported = new Set(converted.map((p) => p.field));
  return { record, problems: [...converted, ...problems.filter((p) => !reported.has(p.field))] };
}

// ---- text files ---------------------------------------------------------------------------

/**
 * The lines of a text file in chunks (line breaks \n or \r\n; a lone \r, as old Mac files
 * have, is not one; a UTF-8 byte-order mark before the first line is dropped). Line numbers
 * are the running count of the lines yielded, from 1.
 */
export async function* lineChunks(file: string): AsyncGenerator<string[]> {
  const input = createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 });
  let rest = '';
  let first = true;
  try {
    for await (const chunk of input as AsyncIterable<string>) {
      let text = rest + chunk;
      if (first) {
        if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
        first = false;
      }
      const lines = text.split('\n');
      rest = lines.pop() as string;
      for (let i = 0; i < lines.length; i++) {
        const line = lines[i] as string;
        if (line.endsWith('\r')) lines[i] = line.slice(0, -1);
      }
      yield lines;
    }
    if (rest !== '') yield [rest.endsWith('\r') ? rest.slice(0, -1) : rest];
  } finally {
    input.destroy();
  }
}

// ---- JSON Lines ---------------------------------------------------------------------------

async function* jsonlTransactions(file: string, rules: ContentRules): AsyncGenerator<ReadItem<Transaction>[]> {
  let line = 0;
  for await (const lines of lineChunks(file)) {
    const items: ReadItem<Transaction>[] = [];
    for (const text of lines) {
      line++;
      if (text.trim() === '') continue;
      const check = checkTransactionLine(text, TRANSACTION_TYPE);
      if (check.ok) {
        items.push(finishTransaction(file, line, check.tx as unknown as Record<string, unknown>, [], rules));
        continue;
      }
      const problems = classify(check.problems, TRANSACTION_TYPE);
      let id: string | undefined;
      if (!problems.some((p) => p.field === '' || p.field === 'transactionId')) {
        id = usableId((JSON.parse(text) as Record<string, unknown>).transactionId);
      }
      items.push({ bad: { file, line, problems }, id });
    }
    yield items;
  }
}

function parseObject(text: string): { object: Record<string, unknown>; problem?: undefined } | { object?: undefined; problem: Problem } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // V8's message quotes the input near the error: never relay it.
    return { problem: { field: '', kind: 'malformed', message: 'not valid JSON' } };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    const kind = Array.isArray(parsed) ? 'an array' : parsed === null ? 'null' : `a ${typeof parsed}`;
    return { problem: { field: '', kind: 'malformed', message: `expected a JSON object, got ${kind}` } };
  }
  return { object: parsed as Record<string, unknown> };
}

async function* jsonlOutcomes(file: string, rules: ContentRules): AsyncGenerator<ReadItem<OutcomeRecord>[]> {
  let line = 0;
  for await (const lines of lineChunks(file)) {
    const items: ReadItem<OutcomeRecord>[] = [];
    for (const text of lines) {
      line++;
      if (text.trim() === '') continue;
      const parsed = parseObject(text);
      if (parsed.problem) {
        items.push({ bad: { file, line, problems: [parsed.problem] } });
        continue;
      }
      const { record, problems } = checkObject(parsed.object, OUTCOME_TYPE);
      items.push(finishOutcome(file, line, record, problems, parsed.object.fraudScenario !== undefined, rules));
    }
    yield items;
  }
}

// ---- CSV ----------------------------------------------------------------------------------

/** A CSV or Avro record converted to a contract object, before the content rules. */
type Shaped = { line: number; record: Record<string, unknown>; problems: Problem[]; present: Set<string>; bad?: undefined } | { bad: BadLine };

async function* csvItems(file: string, contract: Contract, mapping: ColumnMapping | undefined): AsyncGenerator<Shaped[]> {
  const columns = mapping ?? { transaction: new Map(), outcome: new Map() };
  const splitter = new CsvSplitter();
  let layout: CsvLayout | undefined;
  /** The item of one CSV record; `stop` when the header is unusable. */
  const itemOf = (rec: CsvRecord): { item?: Shaped; stop?: boolean } => {
    if (rec.error !== undefined) {
      if (!layout) return { item: { bad: { file, line: rec.line, problems: [{ field: '', kind: 'bad-header', message: `the header row is not valid CSV (${rec.error})` }], fatal: true } }, stop: true };
      return { item: { bad: { file, line: rec.line, problems: [{ field: '', kind: 'malformed', message: `not valid CSV (${rec.error})` }] } } };
    }
    if (!layout) {
      const found = csvLayout(file, rec.line, rec.cells, contract, columns);
      if ('problems' in found) return { item: { bad: found }, stop: true };
      layout = found;
      return {};
    }
    const { object, problems: converted, present } = cellsToObject(rec.cells, layout);
    if (converted.some((p) => p.kind === 'malformed')) return { item: { bad: { file, line: rec.line, problems: converted } } };
    const { record, problems } = checkConverted(object, converted, contract);
    return { item: { line: rec.line, record, problems, present } };
  };
  for await (const lines of lineChunks(file)) {
    const items: Shaped[] = [];
    for (const text of lines) {
      const rec = splitter.push(text);
      if (!rec) continue;
      const { item, stop } = itemOf(rec);
      if (item) items.push(item);
      if (stop) {
        yield items;
        return;
      }
    }
    yield items;
  }
  const open = splitter.end();
  if (open) {
    const { item } = itemOf(open);
    if (item) yield [item];
  }
}

async function* csvTransactions(file: string, mapping: ColumnMapping | undefined, rules: ContentRules): AsyncGenerator<ReadItem<Transaction>[]> {
  for await (const batch of csvItems(file, 'transaction', mapping)) {
    yield batch.map((item) => (item.bad ? item : finishTransaction(file, item.line, item.record, item.problems, rules)));
  }
}

async function* csvOutcomes(file: string, mapping: ColumnMapping | undefined, rules: ContentRules): AsyncGenerator<ReadItem<OutcomeRecord>[]> {
  for await (const batch of csvItems(file, 'outcome', mapping)) {
    yield batch.map((item) => (item.bad ? item : finishOutcome(file, item.line, item.record, item.problems, item.present.has('fraudScenario'), rules)));
  }
}

// ---- Avro object container files -----------------------------------------------------------

/** Avro's snappy block codec: the compressed bytes, then the CRC-32 of the uncompressed ones. */
function snappyCodec(buffer: Buffer, callback: (err: Error | null, data?: Buffer) => void): void {
  uncompress(buffer.subarray(0, buffer.length - 4)).then(
    (data) => callback(null, Buffer.isBuffer(data) ? data : Buffer.from(data)),
    (err: unknown) => callback(err instanceof Error ? err : new Error(String(err))),
  );
}

const AVRO_CODECS = { ...avro.streams.BlockDecoder.defaultCodecs(), snappy: snappyCodec };

/** Why a writer schema cannot be read as the contract, or nothing when it can. */
function writerSchemaProblems(writer: avro.Type, type: avro.types.RecordType): Problem[] {
  if (!(writer instanceof avro.types.RecordType)) return [{ field: '', kind: 'bad-header', message: 'the writer schema is not a record' }];
  const names = new Set(writer.fields.map((f) => f.name));
  return type.fields
    .filter((f) => !names.has(f.name) && f.defaultValue() === undefined)
    .map((f) => ({ field: f.name, kind: 'missing-field' as const, message: 'the writer schema has no such field (a required field of the contract)' }));
}

/** A safe description of a decoder error (avsc's messages name no values, but are not relayed raw). */
function avroFailure(err: unknown, records: number): string {
  const message = err instanceof Error ? err.message : '';
  if (message.includes('magic bytes')) return 'not an Avro object container file';
  if (message.includes('unknown codec')) return 'its blocks use a compression codec this reader does not know (null, deflate and snappy are supported)';
  return `unreadable Avro data after record ${records}`;
}

const AVRO_BATCH = 1024;

async function* avroItems(file: string, contract: Contract): AsyncGenerator<Shaped[]> {
  const type = contract === 'transaction' ? TRANSACTION_TYPE : OUTCOME_TYPE;
  // What avro.createFileDecoder does, with the file stream kept: its errors reach the
  // decoder (and this loop), and both are closed when the caller stops early.
  const input = createReadStream(file);
  const decoder = new avro.streams.BlockDecoder({ codecs: AVRO_CODECS });
  input.on('error', (err) => decoder.destroy(err));
  input.pipe(decoder);
  let writerFields: Set<string> | undefined;
  let schemaProblems: Problem[] = [];
  let sawHeader = false;
  decoder.on('metadata', (writer: avro.Type) => {
    sawHeader = true;
    schemaProblems = writerSchemaProblems(writer, type);
    if (writer instanceof avro.types.RecordType) writerFields = new Set(writer.fields.map((f) => f.name));
  });
  let records = 0;
  let batch: Shaped[] = [];
  try {
    for await (const value of decoder as AsyncIterable<Record<string, unknown>>) {
      if (schemaProblems.length > 0) break;
      records++;
      const object: Record<string, unknown> = {};
      for (const field of type.fields) if (writerFields?.has(field.name)) object[field.name] = value[field.name];
      const { record, problems } = checkObject(object, type);
      batch.push({ line: records, record, problems, present: writerFields ?? new Set() });
      if (batch.length >= AVRO_BATCH) {
        yield batch;
        batch = [];
      }
    }
  } catch (err) {
    batch.push({ bad: { file, line: records === 0 ? 'header' : records + 1, problems: [{ field: '', kind: 'bad-header', message: avroFailure(err, records) }], fatal: true } });
    yield batch;
    return;
  } finally {
    input.destroy();
    decoder.destroy();
  }
  // The header comes before any record, so a bad schema is caught even in a file without records.
  if (!sawHeader) batch.push({ bad: { file, line: 'header', problems: [{ field: '', kind: 'bad-header', message: 'not an Avro object container file (no header)' }], fatal: true } });
  else if (schemaProblems.length > 0) batch.push({ bad: { file, line: 'header', problems: schemaProblems, fatal: true } });
  if (batch.length > 0) yield batch;
}

async function* avroTransactions(file: string, rules: ContentRules): AsyncGenerator<ReadItem<Transaction>[]> {
  for await (const batch of avroItems(file, 'transaction')) {
    yield batch.map((item) => (item.bad ? item : finishTransaction(file, item.line, item.record, item.problems, rules)));
  }
}

async function* avroOutcomes(file: string, rules: ContentRules): AsyncGenerator<ReadItem<OutcomeRecord>[]> {
  for await (const batch of avroItems(file, 'outcome')) {
    yield batch.map((item) => (item.bad ? item : finishOutcome(file, item.line, item.record, item.problems, item.present.has('fraudScenario'), rules)));
  }
}

// ---- entry points -------------------------------------------------------------------------

/** The transactions of a file, checked; in file order, in batches. */
export function readTransactions(file: string, opts: ReaderOptions): AsyncGenerator<ReadItem<Transaction>[]> {
  switch (opts.format) {
    case 'jsonl': return jsonlTransactions(file, opts.rules);
    case 'csv': return csvTransactions(file, opts.columns, opts.rules);
    case 'avro': return avroTransactions(file, opts.rules);
  }
}

/** The outcomes of a file, checked; in file order, in batches. */
export function readOutcomes(file: string, opts: ReaderOptions): AsyncGenerator<ReadItem<OutcomeRecord>[]> {
  switch (opts.format) {
    case 'jsonl': return jsonlOutcomes(file, opts.rules);
    case 'csv': return csvOutcomes(file, opts.columns, opts.rules);
    case 'avro': return avroOutcomes(file, opts.rules);
  }
}
