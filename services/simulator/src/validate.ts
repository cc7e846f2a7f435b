/**
 * Checks one JSON Lines record from a user's file against the Transaction Avro schema, and
 * says what is wrong in words that are safe to print.
 *
 * Why messages never include values: a user's file may hold a real card number in any
 * field (a PAN pasted where the token should be). The messages name the line, the field
 * path, the expected Avro type and only the JSON *kind* of what was found.
 */
import avro from 'avsc';
import type { Transaction } from '../../common/src/contracts.js';

/** One problem in one record; `path` is schema field names only, never user text. */
export interface FieldProblem {
  path: string;
  message: string;
}

export type LineCheck = { ok: true; tx: Transaction } | { ok: false; problems: FieldProblem[] };

/** A JSON Lines record that is not a valid Transaction. */
export class JsonLinesError extends Error {
  constructor(readonly line: number, readonly problems: FieldProblem[]) {
    super(`line ${line}: ${problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message)).join('; ')}`);
    this.name = 'JsonLinesError';
  }
}

/** A file had invalid records; carries the first few and the total count. */
export class JsonLinesValidationError extends Error {
  constructor(readonly file: string, readonly errors: JsonLinesError[], readonly invalidLines: number) {
    const shown = errors.map((e) => `  ${e.message}`).join('\n');
    const more = invalidLines > errors.length ? `\n  ... and ${invalidLines - errors.length} more invalid lines` : '';
    super(`${invalidLines} invalid line(s) in ${file} (nothing was published):\n${shown}${more}`);
    this.name = 'JsonLinesValidationError';
  }
}

/** The JSON kind of a value, for messages: never the value itself. */
function kindOf(value: unknown): string {
  if (value === undefined) return 'nothing (field missing)';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'a number' : 'a non-integer number';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'boolean') return 'a boolean';
  return `a value of type ${typeof value}`;
}

/** What the schema wants, in words. Enum symbols are schema text, safe to show. */
export function describeType(type: avro.Type): string {
  if (type instanceof avro.types.EnumType) return `one of ${type.symbols.join(', ')}`;
  if (type instanceof avro.types.UnwrappedUnionType) return type.types.map(describeType).join(' or ');
  if (type instanceof avro.types.LongType || type instanceof avro.types.IntType) return 'an integer';
  const name = type.typeName;
  return name === 'string' ? 'a string' : name === 'boolean' ? 'a boolean (true/false)' : name;
}

/** Why a value does not fit a type, in words that never repeat the value. */
export function problemFor(value: unknown, type: avro.Type): string {
  // An enum given a string: say it is not a symbol, without repeating what was given.
  if (type instanceof avro.types.EnumType && typeof value === 'string') return `expected ${describeType(type)}, got a string that is not one of them`;
  const integer = type instanceof avro.types.LongType || type instanceof avro.types.IntType;
  if (integer && typeof value === 'number' && !Number.isInteger(value)) return 'expected an integer, got a non-integer number';
  if (integer && typeof value === 'number') return type instanceof avro.types.IntType
    ? 'expected an integer within +/-2^31, got one outside that range'
    : 'expected an integer within +/-2^53, got one outside that range';
  return `expected ${describeType(type)}, got ${kindOf(value)}`;
}

/**
 * Parses and validates one line. Missing fields that have a schema default get it (so a
 * file may omit currency, merchant fields, channel...); undeclared extra fields are dropped
 * rather than published, since they could carry anything.
 */
export function checkTransactionLine(text: string, type: avro.Type): LineCheck {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // V8's JSON.parse message quotes the input near the error: never relay it.
    return { ok: false, problems: [{ path: '', message: 'not valid JSON' }] };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { ok: false, problems: [{ path: '', message: `expected a JSON object, got ${kindOf(parsed)}` }] };
  }
  if (!(type instanceof avro.types.RecordType)) throw new TypeError('checkTransactionLine needs a record type');

  const input = parsed as Record<string, unknown>;
  const record: Record<string, unknown> = {};
  for (const field of type.fields) {
    const given = Object.prototype.hasOwnProperty.call(input, field.name) ? input[field.name] : undefined;
    record[field.name] = given === undefined ? field.defaultValue() : given;
  }

  const problems: FieldProblem[] = [];
  type.isValid(record, {
    errorHook: (path: string[], value: unknown, at: avro.Type) => {
      problems.push({ path: path.join('.'), message: problemFor(value, at) });
    },
  });
  return problems.length === 0 ? { ok: true, tx: record as unknown as Transaction } : { ok: false, problems };
}
