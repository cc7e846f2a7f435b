/**
 * Checks one record of a user's history against its contract, in words that are safe to print.
 *
 * Two layers, the same for every file format:
 *  1. shape: the Avro schema of the contract (schemas/Transaction.avsc,
 *     schemas/TransactionOutcome.avsc). JSON Lines transactions go through the simulator's
 *     checkTransactionLine (the `publish --file` check); records from CSV, Avro files and
 *     JSON Lines outcomes are plain objects and go through checkObject below, which uses the
 *     same Avro validation and the same words.
 *  2. content: the rules the scorer applies to every record it decodes
 *     (scorer/src/decode/transaction.ts: validateTransaction, with the PAN check of
 *     scorer/src/decode/pan.ts that makes it answer PAN_LIKE_VALUE), with the scorer's own
 *     limits (FRAUD_MAX_AMOUNT_MINOR, FRAUD_MAX_FUTURE_SKEW_MS and their defaults). A row the
 *     scorer would dead-letter online is refused here too, so an offline table never holds
 *     features of transactions the scorer would not have scored. Outcomes get the equivalent:
 *     the PAN and id rules on their three ids, the event-time rules on their eventTime, and
 *     knownAt not before eventTime.
 *
 * No message carries a value: only field names, expected types and the JSON kind found.
 */
import avro from 'avsc';
import { loadSchema } from '../../../common/src/avro.js';
import { SCHEMA_FILES, type Transaction, type TransactionOutcome } from '../../../common/src/contracts.js';
import { loadConfig } from '../../../scorer/src/config.js';
import { containsPanLike } from '../../../scorer/src/decode/pan.js';
import { validateTransaction, type DecodeLimits } from '../../../scorer/src/decode/transaction.js';
import { InputError, type ErrorCode } from '../../../scorer/src/errors.js';
import { problemFor, type FieldProblem } from '../../../simulator/src/validate.js';
import type { BadKind, Problem } from './problems.js';

export const TRANSACTION_TYPE = loadSchema(SCHEMA_FILES.transaction) as avro.types.RecordType;
export const OUTCOME_TYPE = loadSchema(SCHEMA_FILES.outcome) as avro.types.RecordType;

/** Epoch-millisecond fields: their problems are "bad time", not "bad number". */
export const TIME_FIELDS: ReadonlySet<string> = new Set(['eventTime', 'knownAt']);

/**
 * An outcome as read from a file. `fraudScenario` is undefined when the file does not carry
 * it (a JSON object without the field, a CSV without the column or with an empty cell, an
 * Avro writer schema without the field): the feature table then leaves TX_FRAUD_SCENARIO empty
 * rather than claiming scenario 0 for a fraud.
 */
export type OutcomeRecord = Omit<TransactionOutcome, 'fraudScenario'> & { fraudScenario?: number };

/** The scorer's decode limits, from the same variables and defaults as the scorer's config. */
export function scorerLimits(env: Record<string, string | undefined> = process.env): DecodeLimits {
  const config = loadConfig({
    FRAUD_KAFKA_BROKERS: 'unused:9092',
    FRAUD_INSTANCE_ID: 'features',
    FRAUD_MAX_AMOUNT_MINOR: env.FRAUD_MAX_AMOUNT_MINOR,
    FRAUD_MAX_FUTURE_SKEW_MS: env.FRAUD_MAX_FUTURE_SKEW_MS,
  });
  return { maxAmountMinor: config.maxAmountMinor, maxFutureSkewMs: config.maxFutureSkewMs };
}

export interface ContentRules {
  limits: DecodeLimits;
  /** Wall clock for the future-time rule (epoch ms). */
  now: number;
}

// ---- shape ------------------------------------------------------------------------------

/** The kind of a shape problem: a missing or null required field, a time, a number, or another value. */
export function shapeKind(field: string, message: string, type: avro.types.RecordType): BadKind {
  if (!field) return 'malformed';
  if (message.endsWith('got nothing (field missing)') || message.endsWith('got null')) return 'missing-field';
  if (TIME_FIELDS.has(field)) return 'bad-time';
  const fieldType = type.field(field)?.type;
  if (fieldType instanceof avro.types.LongType || fieldType instanceof avro.types.IntType) return 'bad-number';
  return 'bad-value';
}

/** Shape problems (simulator validate.ts words) as classified Problems. */
export function classify(problems: readonly FieldProblem[], type: avro.types.RecordType): Problem[] {
  return problems.map((p) => ({ field: p.path, kind: shapeKind(p.path, p.message, type), message: p.message }));
}

/**
 * Validates an object against a record type: missing fields that have a schema default get
 * it, undeclared fields are dropped. The object-input twin of checkTransactionLine.
 */
export function checkObject(input: Record<string, unknown>, type: avro.types.RecordType): { record: Record<string, unknown>; problems: Problem[] } {
  const record: Record<string, unknown> = {};
  for (const field of type.fields) {
    const given = Object.prototype.hasOwnProperty.call(input, field.name) ? input[field.name] : undefined;
    record[field.name] = given === undefined ? field.defaultValue() : given;
  }
  const found: FieldProblem[] = [];
  type.isValid(record, {
    errorHook: (path: string[], value: unknown, at: avro.Type) => {
      found.push({ path: path.join('.'), message: problemFor(value, at) });
    },
  });
  return { record, problems: classify(found, type) };
}

// ---- content ----------------------------------------------------------------------------

const PAN_MESSAGE = 'looks like a card number (PAN); only tokens are accepted';
const TRANSACTION_STRING_FIELDS = ['transactionId', 'cardToken', 'terminalId', 'currency', 'merchantId', 'merchantCategoryCode', 'merchantCountry'] as const;
const OUTCOME_ID_FIELDS = ['transactionId', 'terminalId', 'cardToken'] as const;

const KIND_OF_CODE: Partial<Record<ErrorCode, BadKind>> = {
  PAN_LIKE_VALUE: 'pan-like',
  INVALID_ID: 'invalid-id',
  INVALID_AMOUNT: 'bad-number',
  INVALID_EVENT_TIME: 'bad-time',
};

/**
 * The scorer's InputError as a Problem. Its messages start with the field name
 * ("amountMinor is above ..."), which becomes the field; they never carry values.
 */
function fromInputError(err: InputError): Problem {
  const space = err.message.indexOf(' ');
  const head = space > 0 ? err.message.slice(0, space) : '';
  const known = TRANSACTION_TYPE.field(head) !== undefined;
  return {
    field: known ? head : '',
    kind: KIND_OF_CODE[err.code] ?? 'bad-value',
    message: known ? err.message.slice(space + 1) : err.message,
  };
}

function panProblems<T extends object>(record: T, fields: readonly (keyof T & string)[]): Problem[] {
  const problems: Problem[] = [];
  for (const field of fields) {
    const value = record[field];
    if (typeof value === 'string' && containsPanLike(value)) problems.push({ field, kind: 'pan-like', message: PAN_MESSAGE });
  }
  return problems;
}

function scorerRules(tx: Transaction, rules: ContentRules): Problem[] {
  try {
    validateTransaction(tx, rules.limits, rules.now);
  } catch (err) {
    if (err instanceof InputError) return [fromInputError(err)];
    throw err;
  }
  return [];
}

/** Content problems of a well-shaped transaction: PAN-like values in any text field, then the scorer's rules. */
export function transactionContentProblems(tx: Transaction, rules: ContentRules): Problem[] {
  // Almost every record passes: the scorer's rules check every text field but currency for
  // PAN-like values themselves, so passing them and a clean currency means no problem at all
  // (the same answer as below, with each field scanned once).
  const scorer = scorerRules(tx, rules);
  if (scorer.length === 0 && !containsPanLike(tx.currency)) return scorer;
  const pan = panProblems(tx, TRANSACTION_STRING_FIELDS);
  return pan.length > 0 ? pan : scorer;
}

/**
 * Content problems of a well-shaped outcome: PAN-like ids, then the scorer's id and
 * event-time rules (run on the transaction the outcome describes, as far as it carries it),
 * then knownAt not before eventTime (a label cannot be known before the payment happened).
 */
export function outcomeContentProblems(o: OutcomeRecord, rules: ContentRules): Problem[] {
  const described: Transaction = {
    transactionId: o.transactionId, cardToken: o.cardToken, terminalId: o.terminalId, amountMinor: 0, currency: 'EUR',
    eventTime: o.eventTime, merchantId: null, merchantCategoryCode: null, merchantCountry: null,
    channel: 'UNKNOWN', entryMode: 'UNKNOWN', cardPresent: false,
  };
  // The scorer's rules check the three ids for PAN-like values themselves: when they pass,
  // the PAN check below would find nothing (same answer, each id scanned once).
  const scorer = scorerRules(described, rules);
  if (scorer.length > 0) {
    const pan = panProblems(o, OUTCOME_ID_FIELDS);
    return pan.length > 0 ? pan : scorer;
  }
  if (o.knownAt < o.eventTime) return [{ field: 'knownAt', kind: 'out-of-order-outcome', message: "is before the transaction's eventTime (a label known before the payment)" }];
  return [];
}

/**
 * A transaction id from a bad line, when it is itself usable (a string, short, not PAN-like):
 * an outcome for that transaction is then dropped with it instead of being reported as an
 * outcome for an unknown transaction. Kept in memory only, never printed.
 */
export function usableId(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 && value.length <= 128 && !containsPanLike(value) ? value : undefined;
}
