/**
 * Turns one Kafka record value into a validated Transaction, or an InputError that says why
 * not. No I/O: the clock is passed in, so the future-time rule is testable.
 */
import { CodecError, type Codec } from '../../../common/src/avro.js';
import type { Transaction } from '../../../common/src/contracts.js';
import { InputError } from '../errors.js';
import { containsPanLike } from './pan.js';

export interface DecodeLimits {
  /** Events later than now + this are implausible. */
  maxFutureSkewMs: number;
  maxAmountMinor: number;
}

/** Events before this are implausible: older than any card network's records. */
const EARLIEST_EVENT_TIME = Date.UTC(2000, 0, 1);
const ID_PATTERN = /^[\w.:-]{1,128}$/;

export function decodeTransaction(bytes: Buffer | null, codec: Codec<Transaction>, limits: DecodeLimits, now: number): Transaction {
  if (!bytes || bytes.length === 0) throw new InputError('MISSING_FIELD', 'record has no value (tombstone or empty)');
  let tx: Transaction;
  try {
    tx = codec.decode(bytes);
  } catch (err) {
    if (err instanceof CodecError) {
      // A field the reader needs but the writer's schema lacks is a missing required field.
      throw new InputError(err.code === 'INCOMPATIBLE_SCHEMA' ? 'MISSING_FIELD' : err.code, err.message);
    }
    throw err;
  }
  validateTransaction(tx, limits, now);
  return tx;
}

/** Content rules that Avro typing cannot express. Messages name fields, never values. */
export function validateTransaction(tx: Transaction, limits: DecodeLimits, now: number): void {
  for (const field of ['transactionId', 'cardToken', 'terminalId'] as const) {
    const value = tx[field];
    if (containsPanLike(value)) throw new InputError('PAN_LIKE_VALUE', `${field} looks like a card number (PAN); only tokens are accepted`);
    if (!ID_PATTERN.test(value)) throw new InputError('INVALID_ID', `${field} must be 1–128 characters of [A-Za-z0-9_.:-]`);
  }
  for (const field of ['merchantId', 'merchantCategoryCode', 'merchantCountry'] as const) {
    const value = tx[field];
    if (value !== null && containsPanLike(value)) throw new InputError('PAN_LIKE_VALUE', `${field} looks like a card number (PAN)`);
  }
  // Zero is legal: issuers see zero-amount account-verification authorisations.
  if (!Number.isSafeInteger(tx.amountMinor) || tx.amountMinor < 0) {
    throw new InputError('INVALID_AMOUNT', 'amountMinor must be a non-negative whole number of minor units');
  }
  if (tx.amountMinor > limits.maxAmountMinor) {
    throw new InputError('INVALID_AMOUNT', `amountMinor is above the plausible maximum ${limits.maxAmountMinor}`);
  }
  if (tx.eventTime > now + limits.maxFutureSkewMs) {
    throw new InputError('INVALID_EVENT_TIME', `eventTime is more than ${limits.maxFutureSkewMs} ms in the future`);
  }
  if (tx.eventTime < EARLIEST_EVENT_TIME) {
    throw new InputError('INVALID_EVENT_TIME', 'eventTime is before 2000-01-01');
  }
}
