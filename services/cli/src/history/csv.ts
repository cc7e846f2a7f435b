/**
 * CSV history files: RFC 4180 records, a header row, and the column mapping.
 *
 * Columns. The header row names the columns; by default each contract field is read from the
 * column of the same name (Transaction: transactionId, cardToken, terminalId, amountMinor,
 * eventTime required; currency, merchantId, merchantCategoryCode, merchantCountry, channel,
 * entryMode, cardPresent optional. TransactionOutcome: transactionId, terminalId, cardToken,
 * eventTime, isFraud, knownAt required; fraudScenario optional). Other columns are ignored.
 * `--columns field=column,...` reads a field from another column; `transaction.field=column`
 * or `outcome.field=column` applies to one file only (and wins over the plain form).
 *
 * Cells. Text as is (ids are not trimmed: the scorer's id rule then refuses stray spaces);
 * integers as decimal digits (surrounding spaces allowed); times as epoch milliseconds or an
 * ISO 8601 date-time with a zone (2018-04-01T08:00:00Z, 2018-04-01T10:00:00.250+02:00);
 * booleans as true/false or 1/0 (any case). An empty cell is a missing value: the field's
 * schema default when it has one (null for the merchant fields), else a missing field.
 * Quoted cells may hold commas, doubled quotes and line breaks; a UTF-8 byte-order mark
 * before the header is skipped.
 */
import avro from 'avsc';
import { OUTCOME_TYPE, TIME_FIELDS, TRANSACTION_TYPE } from './check.js';
import type { BadLine, Problem } from './problems.js';

export type Contract = 'transaction' | 'outcome';

/** Field → column name, per contract. */
export type ColumnMapping = Record<Contract, Map<string, string>>;

const TYPES: Record<Contract, avro.types.RecordType> = { transaction: TRANSACTION_TYPE, outcome: OUTCOME_TYPE };

/**
 * Parses `--columns field=column,...`. Throws (a usage error, before any file is read) on a
 * malformed entry or a field that neither contract has.
 */
export function parseColumnMapping(spec: string | undefined): ColumnMapping {
  const mapping: ColumnMapping = { transaction: new Map(), outcome: new Map() };
  if (spec === undefined || spec.trim() === '') return mapping;
  const qualified: [Contract, string, string][] = [];
  for (const entry of spec.split(',')) {
    const eq = entry.indexOf('=');
    const key = entry.slice(0, eq).trim();
    const column = entry.slice(eq + 1).trim();
    if (eq <= 0 || column === '') throw new Error(`--columns: expected field=column, got an entry without both (entries are comma-separated)`);
    const dot = key.indexOf('.');
    const scope = dot > 0 ? key.slice(0, dot) : undefined;
    const field = dot > 0 ? key.slice(dot + 1) : key;
    if (scope !== undefined && scope !== 'transaction' && scope !== 'outcome') {
      throw new Error(`--columns: a qualified field starts with transaction. or outcome., got ${JSON.stringify(key)}`);
    }
    const contracts = (scope ? [scope] : ['transaction', 'outcome']) as Contract[];
    const owners = contracts.filter((c) => TYPES[c].field(field) !== undefined);
    if (owners.length === 0) {
      const names = [...new Set([...TRANSACTION_TYPE.fields, ...OUTCOME_TYPE.fields].map((f) => f.name))].join(', ');
      throw new Error(`--columns: ${JSON.stringify(key)} is not a field of ${scope ?? 'Transaction or TransactionOutcome'} (fields: ${names})`);
    }
    if (scope) qualified.push([scope as Contract, field, column]);
    else for (const c of owners) mapping[c].set(field, column);
  }
  // Qualified entries win over plain ones, whatever their order on the command line.
  for (const [c, field, column] of qualified) mapping[c].set(field, column);
  return mapping;
}

/** A CSV record: its cells, and the line it starts on (1-based). */
export type CsvRecord = { line: number; cells: string[]; error?: undefined } | { line: number; cells?: undefined; error: string };

/**
 * Splits lines into CSV records, one line at a time (synchronous, so a reader can hand it a
 * whole chunk of lines without an await per line). Blank lines outside quotes are skipped; a
 * quoted cell may span lines (its record keeps the number of the line it starts on).
 */
export class CsvSplitter {
  private lineNo = 0;
  private cells: string[] = [];
  private cell = '';
  private quoted = false;
  private start = 0;

  /** The record this line completes, if any. */
  push(text: string): CsvRecord | undefined {
    const lineNo = ++this.lineNo;
    if (lineNo === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    if (!this.quoted) {
      if (text.trim() === '') return undefined;
      this.start = lineNo;
      // Fast path: no quotes at all.
      if (!text.includes('"')) return { line: lineNo, cells: text.split(',') };
    } else {
      this.cell += '\n';
    }
    let cell = this.cell;
    let error: string | undefined;
    for (let i = 0; i < text.length; i++) {
      const ch = text[i];
      if (this.quoted) {
        if (ch === '"') {
          if (text[i + 1] === '"') {
            cell += '"';
            i++;
          } else {
            this.quoted = false;
            const next = text[i + 1];
            if (next !== undefined && next !== ',') {
              error = 'a closing quote must end its cell';
              break;
            }
          }
        } else {
          cell += ch;
        }
      } else if (ch === ',') {
        this.cells.push(cell);
        cell = '';
      } else if (ch === '"') {
        if (cell !== '') {
          error = 'a quote inside an unquoted cell';
          break;
        }
        this.quoted = true;
      } else {
        cell += ch;
      }
    }
    if (error !== undefined) {
      this.reset();
      return { line: this.start, error };
    }
    if (this.quoted) {
      this.cell = cell;
      return undefined;
    }
    this.cells.push(cell);
    const record = { line: this.start, cells: this.cells };
    this.reset();
    return record;
  }

  /** At the end of the file: the error of a record left open, if any. */
  end(): CsvRecord | undefined {
    return this.quoted ? { line: this.start, error: 'a quoted cell is not closed before the end of the file' } : undefined;
  }

  private reset(): void {
    this.cells = [];
    this.cell = '';
    this.quoted = false;
  }
}

/** How the cells of one file become contract fields. */
export interface CsvLayout {
  contract: Contract;
  /** Contract field → cell index; fields without a column are absent. */
  index: Map<string, number>;
  headerCells: number;
}

/**
 * Matches a header row to the contract. Returns the layout, or the (fatal) bad header line:
 * a required field without its column, a --columns entry naming a column the header does
 * not have, or a used column name appearing twice. Only contract field names and the
 * user's own --columns text appear in messages, never the header's other cells.
 */
export function csvLayout(file: string, line: number, header: string[], contract: Contract, mapping: ColumnMapping): CsvLayout | BadLine {
  const type = TYPES[contract];
  const positions = new Map<string, number[]>();
  header.forEach((name, i) => {
    const key = name.trim();
    positions.set(key, [...(positions.get(key) ?? []), i]);
  });
  const index = new Map<string, number>();
  const problems: Problem[] = [];
  for (const field of type.fields) {
    const mapped = mapping[contract].get(field.name);
    const column = mapped ?? field.name;
    const at = positions.get(column);
    if (!at) {
      if (mapped !== undefined) {
        problems.push({ field: field.name, kind: 'unknown-column', message: `--columns maps it to column ${JSON.stringify(mapped)}, which the header does not have` });
      } else if (field.defaultValue() === undefined) {
        problems.push({ field: field.name, kind: 'missing-field', message: `the header has no column ${JSON.stringify(column)} (name another with --columns ${field.name}=<column>)` });
      }
      continue;
    }
    if (at.length > 1) {
      problems.push({ field: field.name, kind: 'bad-header', message: `column ${JSON.stringify(column)} appears ${at.length} times in the header` });
      continue;
    }
    index.set(field.name, at[0] as number);
  }
  if (problems.length > 0) return { file, line, problems, fatal: true };
  return { contract, index, headerCells: header.length };
}

const INTEGER = /^\s*[+-]?\d+\s*$/;
const ISO_TIME = /^\s*\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:\d{2})\s*$/;

type Converted = { ok: true; value: unknown } | { ok: false; problem: Problem };

function convertCell(cell: string, field: avro.types.Field): Converted {
  const type = field.type;
  const bad = (kind: Problem['kind'], message: string): Converted => ({ ok: false, problem: { field: field.name, kind, message } });
  if (type instanceof avro.types.LongType || type instanceof avro.types.IntType) {
    const time = TIME_FIELDS.has(field.name);
    if (INTEGER.test(cell)) {
      const n = Number(cell);
      if (Number.isSafeInteger(n)) return { ok: true, value: n };
      return bad(time ? 'bad-time' : 'bad-number', 'expected an integer within +/-2^53, got one outside that range');
    }
    if (time) {
      const ms = ISO_TIME.test(cell) ? Date.parse(cell.trim()) : Number.NaN;
      if (Number.isFinite(ms)) return { ok: true, value: ms };
      return bad('bad-time', 'expected epoch milliseconds or an ISO 8601 date-time with a zone (e.g. 2018-04-01T08:00:00Z), got text that is neither');
    }
    return bad('bad-number', 'expected an integer, got text that is not one');
  }
  if (type instanceof avro.types.BooleanType) {
    const v = cell.trim().toLowerCase();
    if (v === 'true' || v === '1') return { ok: true, value: true };
    if (v === 'false' || v === '0') return { ok: true, value: false };
    return bad('bad-value', 'expected a boolean (true/false or 1/0), got text that is neither');
  }
  // Strings, enums (checked against their symbols by the Avro check) and nullable strings.
  return { ok: true, value: cell };
}

/**
 * One record's cells as a contract object, ready for checkObject. Empty cells and absent
 * columns are left out, so the schema default applies or the Avro check reports the field
 * missing. `present` lists the fields that had a non-empty cell.
 */
export function cellsToObject(cells: string[], layout: CsvLayout): { object: Record<string, unknown>; problems: Problem[]; present: Set<string> } {
  const type = TYPES[layout.contract];
  const object: Record<string, unknown> = {};
  const problems: Problem[] = [];
  const present = new Set<string>();
  if (cells.length > layout.headerCells) {
    problems.push({ field: '', kind: 'malformed', message: `has ${cells.length} cells, more than the header's ${layout.headerCells}` });
    return { object, problems, present };
  }
  for (const field of type.fields) {
    const at = layout.index.get(field.name);
    const cell = at === undefined ? undefined : cells[at];
    if (cell === undefined || cell === '') continue;
    present.add(field.name);
    const converted = convertCell(cell, field);
    if (converted.ok) object[field.name] = converted.value;
    else problems.push(converted.problem);
  }
  return { object, problems, present };
}
