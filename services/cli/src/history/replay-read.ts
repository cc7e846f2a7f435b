/**
 * Reading a replay's records (replay.ts): each record decoded with the project's codecs and
 * checked by the rules history files follow (check.ts), then kept or counted as outside what
 * the window needs. Batches come out in the plan's range order (TopicSource.read), so the
 * caller can join them as they arrive and still get the same history every run.
 *
 * (Reading the outcomes topic on a worker thread while this one reads the transactions was
 * tried and measured: on two cores shared with the broker it won nothing, and the worker
 * took ~0.8 s to start under tsx.)
 */
import { CodecError, type Codec } from '../../../common/src/avro.js';
import type { Transaction, TransactionOutcome } from '../../../common/src/contracts.js';
import type { DecodeLimits } from '../../../scorer/src/decode/transaction.js';
import type { BatchTransaction } from '../../../scorer/src/features/index.js';
import { outcomeContentProblems, transactionContentProblems, usableId, type OutcomeRecord } from './check.js';
import type { PartitionRange, TopicRecord, TopicSource } from './kafka-source.js';
import type { BadLine, Problem } from './problems.js';

const whole = (kind: Problem['kind'], message: string): Problem[] => [{ field: '', kind, message }];

/** Why a value does not decode, in words that carry none of its bytes. */
function decodeProblems(err: unknown, wireFormat: string): Problem[] {
  if (!(err instanceof CodecError)) return whole('malformed', 'not valid Avro of the contract');
  switch (err.code) {
    case 'BAD_MAGIC_BYTE': return whole('malformed', 'not in the Confluent wire format (magic byte 0 + schema id): is the topic written plain? (FRAUD_WIRE_FORMAT, --wire-format)');
    case 'UNKNOWN_SCHEMA_ID': return whole('malformed', 'written with a schema id this version does not know');
    case 'INCOMPATIBLE_SCHEMA': return whole('missing-field', 'its writer schema lacks a field the contract requires');
    case 'MALFORMED_AVRO': return whole('malformed', `not valid Avro of the contract, read in the ${wireFormat} wire format (FRAUD_WIRE_FORMAT, --wire-format)`);
  }
}

function decode<T>(codec: Codec<T>, value: Buffer | null, wireFormat: string): { value: T; problems?: undefined } | { problems: Problem[] } {
  if (!value || value.length === 0) return { problems: whole('malformed', 'no value (a tombstone or an empty record)') };
  try {
    return { value: codec.decode(value) };
  } catch (err) {
    return { problems: decodeProblems(err, wireFormat) };
  }
}

export interface RecordRules {
  limits: DecodeLimits;
  wireFormat: string;
}

/** A record that is not usable: its bad line, and its transaction id when that is usable (merge.ts). */
export interface BadRecord {
  bad: BadLine;
  id?: string;
}

/** One transactions record: the slim transaction (the fields the history keeps), or its bad line. */
export function checkTransactionRecord(file: string, record: TopicRecord, codec: Codec<Transaction>, rules: RecordRules): BatchTransaction | BadRecord {
  const decoded = decode(codec, record.value, rules.wireFormat);
  if (decoded.problems) return { bad: { file, line: Number(record.offset), problems: decoded.problems } };
  const tx = decoded.value;
  const problems = transactionContentProblems(tx, { limits: rules.limits, now: Number(record.timestamp) });
  if (problems.length > 0) {
    return { bad: { file, line: Number(record.offset), problems }, id: problems.some((p) => p.field === 'transactionId') ? undefined : usableId(tx.transactionId) };
  }
  return { transactionId: tx.transactionId, cardToken: tx.cardToken, terminalId: tx.terminalId, amountMinor: tx.amountMinor, eventTime: tx.eventTime };
}

/** One outcomes record, or its bad line. */
export function checkOutcomeRecord(file: string, record: TopicRecord, codec: Codec<TransactionOutcome>, rules: RecordRules): OutcomeRecord | BadRecord {
  const decoded = decode(codec, record.value, rules.wireFormat);
  if (decoded.problems) return { bad: { file, line: Number(record.offset), problems: decoded.problems } };
  const problems = outcomeContentProblems(decoded.value, { limits: rules.limits, now: Number(record.timestamp) });
  if (problems.length > 0) return { bad: { file, line: Number(record.offset), problems } };
  return decoded.value;
}

/** What a reader needs besides the ranges: which topic is which, the rules, what to keep. */
export interface ReadContext {
  transactionsTopic: string;
  rules: RecordRules;
  /** Good transactions with keepTransactionsFrom <= eventTime < until are kept, others counted as outside. */
  keepTransactionsFrom: number;
  /** Good outcomes with keepOutcomesFrom <= eventTime < until are kept. */
  keepOutcomesFrom: number;
  /** Epoch ms; Infinity: no end. */
  until: number;
}

/** One batch of checked records of one partition, in offset order. */
export interface CheckedBatch {
  topic: string;
  partition: number;
  /** Records read (kept, bad, or outside). */
  read: number;
  /** Good records outside what the window needs: counted, not kept. */
  outside: number;
  /** Kept records (transactions or outcomes, or their bad lines), with their offsets beside them. */
  values: (BatchTransaction | OutcomeRecord | BadRecord)[];
  offsets: number[];
}

/** Reads the ranges one after another (TopicSource.read) and hands over their checked batches. */
export type RecordReader = (ranges: readonly PartitionRange[], ctx: ReadContext, onBatch: (batch: CheckedBatch) => void) => Promise<void>;

export const isBad = (v: object): v is BadRecord => 'bad' in v;

export interface ReplayCodecs {
  transaction: Codec<Transaction>;
  outcome: Codec<TransactionOutcome>;
}

export const placeOf = (range: { topic: string; partition: number }): string => `${range.topic}/${range.partition}`;

function checkBatch(range: PartitionRange, records: readonly TopicRecord[], ctx: ReadContext, codecs: ReplayCodecs): CheckedBatch {
  const place = placeOf(range);
  const batch: CheckedBatch = { topic: range.topic, partition: range.partition, read: records.length, outside: 0, values: [], offsets: [] };
  const transactions = range.topic === ctx.transactionsTopic;
  const from = transactions ? ctx.keepTransactionsFrom : ctx.keepOutcomesFrom;
  for (const record of records) {
    const v = transactions ? checkTransactionRecord(place, record, codecs.transaction, ctx.rules) : checkOutcomeRecord(place, record, codecs.outcome, ctx.rules);
    if (!isBad(v) && (v.eventTime < from || v.eventTime >= ctx.until)) {
      batch.outside++;
      continue;
    }
    batch.values.push(v);
    batch.offsets.push(Number(record.offset));
  }
  return batch;
}

/** Reads with `source` and checks each batch as it comes. */
export function checkingReader(source: TopicSource, codecs: ReplayCodecs): RecordReader {
  return (ranges, ctx, onBatch) => source.read(ranges, (range, records) => onBatch(checkBatch(range, records, ctx, codecs)));
}
