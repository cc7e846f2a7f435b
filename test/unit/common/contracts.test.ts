import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createCodec, loadSchema, localRegistry, SCHEMAS_DIR, schemaIdOf } from '../../../services/common/src/avro.js';
import {
  createCodecs,
  SCHEMA_FILES,
  type DeadLetter,
  type Decision,
  type Transaction,
  type TransactionOutcome,
} from '../../../services/common/src/contracts.js';

const T0 = Date.UTC(2024, 4, 17, 12, 30, 45, 123);

const transaction: Transaction = {
  transactionId: 'tx-000000042',
  cardToken: 'card-000123',
  terminalId: 'term-000777',
  amountMinor: 12_345,
  currency: 'EUR',
  eventTime: T0,
  merchantId: 'merch-9',
  merchantCategoryCode: '5411',
  merchantCountry: 'FR',
  channel: 'ECOM',
  entryMode: 'CARD_ON_FILE',
  cardPresent: false,
};

const transactionNulls: Transaction = {
  ...transaction,
  merchantId: null,
  merchantCategoryCode: null,
  merchantCountry: null,
  channel: 'UNKNOWN',
  entryMode: 'UNKNOWN',
  cardPresent: true,
  amountMinor: 0,
};

const outcome: TransactionOutcome = {
  transactionId: 'tx-000000042',
  terminalId: 'term-000777',
  cardToken: 'card-000123',
  eventTime: T0,
  isFraud: true,
  fraudScenario: 3,
  knownAt: T0 + 7 * 86_400_000,
};

const decision: Decision = {
  transactionId: 'tx-000000042',
  cardToken: 'card-000123',
  score: 0.8125,
  decision: 'BLOCK',
  reasons: ['SCORE_ABOVE_BLOCK_THRESHOLD', 'AMOUNT_ABOVE_220'],
  model: { name: 'xgb', version: '2024-05-01', digest: 'ab'.repeat(32) },
  policyVersion: 'policy-v1;xgb/2024-05-01;review=0.5;block=0.8',
  eventTime: T0,
  scoredAt: T0 + 17,
  source: { topic: 'transactions', partition: 5, offset: 9_007_199_254 },
  featureSetVersion: 'handbook-15-v1',
  features: [123.45, 0, 1, 0.1, -2.5, 1e-9],
  role: 'CANARY',
  deploymentRevision: 12,
};

const deadLetter: DeadLetter = {
  errorCode: 'INVALID_AMOUNT',
  reason: 'amountMinor must be a non-negative whole number of minor units',
  retryable: false,
  source: { topic: 'transactions', partition: 0, offset: 17 },
  payload: Buffer.from([0, 1, 2, 255, 254]),
  failedAt: T0,
};

const ids = (JSON.parse(readFileSync(join(SCHEMAS_DIR, 'ids.json'), 'utf8')) as { ids: Record<string, string> }).ids;
const idOf = (file: string): number => Number(Object.entries(ids).find(([, f]) => f === file)![0]);

describe.each(['confluent', 'plain'] as const)('round trip in the %s wire format', (format) => {
  const codecs = createCodecs(format);

  it('Transaction (with and without the optional fields)', () => {
    expect(codecs.transaction.decode(codecs.transaction.encode(transaction))).toEqual(transaction);
    expect(codecs.transaction.decode(codecs.transaction.encode(transactionNulls))).toEqual(transactionNulls);
  });

  it('TransactionOutcome', () => {
    expect(codecs.outcome.decode(codecs.outcome.encode(outcome))).toEqual(outcome);
  });

  it('Decision (doubles survive exactly, reasons and features keep their order)', () => {
    const back = codecs.decision.decode(codecs.decision.encode(decision));
    expect(back).toEqual(decision);
    expect(back.features[5]).toBe(1e-9);
    expect(back.source.offset).toBe(9_007_199_254);
  });

  it('DeadLetter with a payload and with a withheld (null) payload', () => {
    const back = codecs.deadLetter.decode(codecs.deadLetter.encode(deadLetter));
    expect(back).toEqual(deadLetter);
    expect(Buffer.isBuffer(back.payload)).toBe(true);
    expect(back.payload!.equals(deadLetter.payload!)).toBe(true);
    const withheld = { ...deadLetter, payload: null };
    expect(codecs.deadLetter.decode(codecs.deadLetter.encode(withheld))).toEqual(withheld);
  });
});

describe('Confluent framing', () => {
  const confluent = createCodecs('confluent');
  const plain = createCodecs('plain');
  const cases = [
    [SCHEMA_FILES.transaction, confluent.transaction.encode(transaction), plain.transaction.encode(transaction)],
    [SCHEMA_FILES.outcome, confluent.outcome.encode(outcome), plain.outcome.encode(outcome)],
    [SCHEMA_FILES.decision, confluent.decision.encode(decision), plain.decision.encode(decision)],
    [SCHEMA_FILES.deadLetter, confluent.deadLetter.encode(deadLetter), plain.deadLetter.encode(deadLetter)],
  ] as const;

  it('ids.json gives each contract its id; Decision version 1 keeps id 3, version 2 is 5', () => {
    expect([SCHEMA_FILES.transaction, SCHEMA_FILES.outcome, SCHEMA_FILES.decision, SCHEMA_FILES.deadLetter].map(idOf)).toEqual([1, 2, 5, 4]);
    expect(idOf('history/Decision.v1.avsc')).toBe(3);
    expect([SCHEMA_FILES.deploymentSpec, SCHEMA_FILES.deploymentStatus].map(idOf)).toEqual([6, 7]);
    for (const file of Object.values(SCHEMA_FILES)) expect(schemaIdOf(file)).toBe(idOf(file));
    expect(() => schemaIdOf('Nope.avsc')).toThrow(/Nope\.avsc/);
  });

  it.each(cases)('%s: magic byte 0, 4-byte big-endian id, then exactly the plain body', (file, framed, body) => {
    expect(framed[0]).toBe(0);
    expect(framed.readUInt32BE(1)).toBe(idOf(file));
    expect([...framed.subarray(1, 5)]).toEqual([0, 0, 0, idOf(file)]);
    expect(framed.length).toBe(body.length + 5);
    expect(framed.subarray(5).equals(body)).toBe(true);
  });

  it('plain encoding has no header: it is the bare Avro body', () => {
    expect(plain.transaction.encode(transaction).equals(plain.transaction.type.toBuffer(transaction))).toBe(true);
    // the first byte of a plain Transaction is the zig-zag length of transactionId, not a magic byte
    expect(plain.transaction.encode(transaction)[0]).toBe(transaction.transactionId.length * 2);
  });
});

describe('Decision version 2 (role, deploymentRevision) next to version 1', () => {
  const codecs = createCodecs('confluent');
  const v1 = loadSchema('history/Decision.v1.avsc');

  it('a version-1 decision (id 3) reads with the defaults: CHAMPION, revision -1', () => {
    const { role: _r, deploymentRevision: _d, ...old } = decision;
    const body = v1.toBuffer(old);
    const framed = Buffer.concat([Buffer.from([0, 0, 0, 0, 3]), body]);
    expect(codecs.decision.decode(framed)).toEqual({ ...old, role: 'CHAMPION', deploymentRevision: -1 });
  });

  it('a version-1 reader reads a version-2 decision, skipping the new fields', () => {
    const framed = codecs.decision.encode(decision);
    const old = createCodec<Record<string, unknown>>({ type: v1, format: 'confluent', schemaId: 3, registry: localRegistry() });
    const back = old.decode(framed);
    expect(back.transactionId).toBe(decision.transactionId);
    expect(back).not.toHaveProperty('role');
  });

  it('DeploymentSpec and DeploymentStatus round-trip', () => {
    const pin = { name: 'fraud-lgbm', version: '1.0.0', digest: 'ab'.repeat(32) };
    const spec = { champion: pin, shadow: { ...pin, name: 'fraud-lr' }, canary: { model: { ...pin, name: 'fraud-rf' }, sharePercent: 12.5 }, policy: 'policy-v1', requestedBy: 'ops', requestedAt: T0, reason: 'try rf', restoresRevision: null };
    expect(codecs.deploymentSpec.decode(codecs.deploymentSpec.encode(spec))).toEqual(spec);
    const status = { instance: 'scorer-0', appliedRevision: 4, champion: pin, shadow: null, canary: pin, canarySharePercent: 5, lastRevisionSeen: 5, refusal: 'digest_mismatch: …', reportedAt: T0 };
    expect(codecs.deploymentStatus.decode(codecs.deploymentStatus.encode(status))).toEqual(status);
  });
});
