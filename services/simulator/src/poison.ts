/**
 * Malformed transaction records, one of each kind the scorer must dead-letter without
 * stopping: wrong framing, unknown schema, truncated body, a writer schema missing a required
 * field, implausible values, and a PAN where a token belongs. Used by the demo and the tests.
 */
import { createCodecs, type Transaction } from '../../common/src/contracts.js';
import { loadSchema } from '../../common/src/avro.js';

export const POISON_KINDS = ['bad-magic', 'unknown-schema', 'truncated', 'missing-field', 'negative-amount', 'future-time', 'pan-token'] as const;
export type PoisonKind = (typeof POISON_KINDS)[number];

/** The error code the scorer is expected to give each kind. */
export const EXPECTED_CODE: Record<PoisonKind, string> = {
  'bad-magic': 'BAD_MAGIC_BYTE',
  'unknown-schema': 'UNKNOWN_SCHEMA_ID',
  truncated: 'MALFORMED_AVRO',
  'missing-field': 'MISSING_FIELD',
  'negative-amount': 'INVALID_AMOUNT',
  'future-time': 'INVALID_EVENT_TIME',
  'pan-token': 'PAN_LIKE_VALUE',
};

/** Schema id 9001 (schemas/ids.json, a test vector): a Transaction writer schema without cardToken. */
export const MISSING_FIELD_SCHEMA_ID = 9001;
const withoutCardToken = loadSchema('test-vectors/Transaction-without-cardToken.avsc');

/** A Luhn-valid test card number (a well-known test PAN, not a real card). */
export const TEST_PAN = '4111111111111111';

/** Encodes one poison record of the given kind, built from a valid transaction. */
export function poisonRecord(kind: PoisonKind, tx: Transaction, now = Date.now()): { key: string; value: Buffer } {
  const codecs = createCodecs('confluent');
  const good = codecs.transaction.encode(tx);
  const key = tx.cardToken;
  switch (kind) {
    case 'bad-magic':
      return { key, value: Buffer.from(JSON.stringify(tx)) };
    case 'unknown-schema': {
      const v = Buffer.from(good);
      v.writeUInt32BE(424242, 1);
      return { key, value: v };
    }
    case 'truncated':
      return { key, value: good.subarray(0, Math.max(6, good.length - 9)) };
    case 'missing-field': {
      const { cardToken: _drop, ...rest } = tx;
      const body = withoutCardToken.toBuffer(rest);
      const header = Buffer.alloc(5);
      header.writeUInt32BE(MISSING_FIELD_SCHEMA_ID, 1);
      return { key, value: Buffer.concat([header, body]) };
    }
    case 'negative-amount':
      return { key, value: codecs.transaction.encode({ ...tx, amountMinor: -tx.amountMinor - 1 }) };
    case 'future-time':
      return { key, value: codecs.transaction.encode({ ...tx, eventTime: now + 30 * 86_400_000 }) };
    case 'pan-token':
      return { key: 'withheld', value: codecs.transaction.encode({ ...tx, cardToken: TEST_PAN }) };
  }
}
