/**
 * A REST body as a Transaction of the contract (schemas/Transaction.avsc), checked by the
 * scorer's own rules, or the dead-letter code it would get on the stream: a request the scorer
 * would dead-letter is refused here (400) instead of being published. Pure: no I/O.
 *
 * - A field missing (without a schema default) or null where the contract forbids it:
 *   MISSING_FIELD. Any other value the contract does not allow (a string for a long, an
 *   unknown enum symbol, a fraction for amountMinor): MALFORMED_AVRO, the code of a record
 *   that is not the contract. Fields the contract does not know are dropped, as a reader of an
 *   older schema drops them.
 * - Then the scorer's content rules (decode/transaction.ts validateTransaction): INVALID_ID,
 *   PAN_LIKE_VALUE, INVALID_AMOUNT, INVALID_EVENT_TIME.
 * Messages name the field and what was expected, never the value (a body may hold a PAN).
 */
import type avro from 'avsc';
import { loadSchema } from '../../common/src/avro.js';
import { SCHEMA_FILES, type Transaction } from '../../common/src/contracts.js';
import { validateTransaction, type DecodeLimits } from '../../scorer/src/decode/transaction.js';
import { InputError, type ErrorCode } from '../../scorer/src/errors.js';

const TRANSACTION_TYPE = loadSchema(SCHEMA_FILES.transaction) as avro.types.RecordType;

export type Parsed = { ok: true; tx: Transaction } | { ok: false; code: ErrorCode; message: string };

export function parseTransaction(body: unknown, limits: DecodeLimits, now: number): Parsed {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { ok: false, code: 'MALFORMED_AVRO', message: 'the body is not a JSON object (a Transaction)' };
  const input = body as Record<string, unknown>;
  const record: Record<string, unknown> = {};
  for (const field of TRANSACTION_TYPE.fields) {
    const given = Object.prototype.hasOwnProperty.call(input, field.name) ? input[field.name] : undefined;
    if (given !== undefined) record[field.name] = given;
    else {
      const fallback: unknown = field.defaultValue();
      if (fallback === undefined) return { ok: false, code: 'MISSING_FIELD', message: `${field.name} is required` };
      record[field.name] = fallback;
    }
  }
  const wrong: string[] = [];
  TRANSACTION_TYPE.isValid(record, { errorHook: (path: string[]) => wrong.push(path.join('.')) });
  if (wrong.length > 0) {
    const field = wrong[0] as string;
    if (record[field] === null) return { ok: false, code: 'MISSING_FIELD', message: `${field} must not be null` };
    return { ok: false, code: 'MALFORMED_AVRO', message: `${field} is not a ${describe(TRANSACTION_TYPE.field(field)?.type)} of the contract` };
  }
  const tx = record as unknown as Transaction;
  try {
    validateTransaction(tx, limits, now);
  } catch (err) {
    if (err instanceof InputError) return { ok: false, code: err.code, message: err.message };
    throw err;
  }
  return { ok: true, tx };
}

function describe(type: avro.Type | undefined): string {
  if (!type) return 'value';
  const name = type.typeName;
  if (name === 'enum') return `symbol of ${(type as avro.types.EnumType).symbols.join('|')}`;
  if (name === 'union:unwrapped' || name === 'union:wrapped') return 'null or string';
  return name;
}
