/**
 * The closed list of reasons an input can fail, each with whether a retry could help.
 * Non-retryable errors on input go to the DLQ with their code; retryable ones (broker,
 * transient) are retried by the consumer loop and never dead-lettered.
 */
export const ERROR_CODES = [
  // framing and schema (poison input: never retried)
  'BAD_MAGIC_BYTE',
  'UNKNOWN_SCHEMA_ID',
  'INCOMPATIBLE_SCHEMA',
  'MALFORMED_AVRO',
  'MISSING_FIELD',
  // a compressed record batch the Kafka client could not decompress (its records are unknown)
  'UNDECODABLE_BATCH',
  // content validation
  'INVALID_AMOUNT',
  'INVALID_EVENT_TIME',
  'PAN_LIKE_VALUE',
  'INVALID_ID',
  // scoring
  'MODEL_FAILURE',
  // infrastructure
  'BROKER_UNAVAILABLE',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

const RETRYABLE: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['BROKER_UNAVAILABLE', 'MODEL_FAILURE']);

export function isRetryable(code: ErrorCode): boolean {
  return RETRYABLE.has(code);
}

/** An input that cannot be scored; carries a DLQ-safe reason (no PAN, no card token). */
export class InputError extends Error {
  constructor(readonly code: ErrorCode, message: string) {
    super(message);
    this.name = 'InputError';
  }
  get retryable(): boolean {
    return isRetryable(this.code);
  }
}
