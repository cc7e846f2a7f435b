/**
 * The scorer's decode against a schema registry, no Kafka: the pipeline built as service.ts
 * builds it (openCodecs + its prepare step), the real registry client, the protocol fake.
 * Cached ids keep decoding through an outage; an id the registry does not give within the
 * bound is dead-lettered as UNKNOWN_SCHEMA_ID, never thrown; one that appears during the wait
 * is decoded.
 */
import avro from 'avsc';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCodec, loadSchema, localRegistry } from '../../../services/common/src/avro.js';
import { createCodecs, SCHEMA_FILES, type Transaction } from '../../../services/common/src/contracts.js';
import { openCodecs, type ProcessCodecs } from '../../../services/common/src/registry-codecs.js';
import { createRegistryResolver } from '../../../services/common/src/registry-resolver.js';
import { registrySchema } from '../../../services/common/src/schema-registry.js';
import type { Model } from '../../../services/scorer/src/model/load.js';
import { createPipeline, type InputRecord, type Pipeline, type PipelineResult } from '../../../services/scorer/src/pipeline.js';
import { startSchemaRegistryFake, type SchemaRegistryFake } from '../../helpers/schema-registry-fake.js';

const NOW = Date.UTC(2024, 5, 1, 12);
const WAIT_MS = 400;
const tx = (n: number): Transaction => ({
  transactionId: `tx-${n}`, cardToken: `card-${n}`, terminalId: 'term-1', amountMinor: 1_000 + n, currency: 'EUR', eventTime: NOW - 60_000,
  merchantId: null, merchantCategoryCode: null, merchantCountry: null, channel: 'POS', entryMode: 'CHIP', cardPresent: true,
});

/** A producer writing Transactions with `id` in front (the registry's id, as a Confluent serializer would). */
const producer = (id: number, file: string = SCHEMA_FILES.transaction) => createCodec<Transaction>({ type: loadSchema(file), format: 'confluent', schemaId: id, registry: localRegistry() });

const model: Model = {
  ref: { name: 'fake', version: '1', digest: 'd'.repeat(64) },
  manifest: {} as Model['manifest'],
  score: async (_rows, n) => new Float32Array(n).fill(0.1),
  dispose: async () => {},
};

let offset = 0;
const record = (value: Buffer): InputRecord => ({ partition: 0, offset: String(offset++), key: null, value, timestamp: String(NOW) });

function pipelineOf(data: ProcessCodecs): Pipeline {
  return createPipeline({
    topic: 'transactions',
    codec: data.codecs.transaction,
    prepare: data.prepare && ((records) => data.prepare!(records, (r) => r.value)),
    limits: { maxFutureSkewMs: 300_000, maxAmountMinor: 100_000_000 },
    featuresFor: () => ({ width: 1, featureSetVersion: 'f', compute: (t, out, o) => void (out[o] = t.amountMinor) }),
    serving: () => ({ revision: 1, champion: { role: 'CHAMPION', model, policy: { version: 'p', decide: () => ({ decision: 'ALLOW', reasons: [] }) } } }),
    clock: () => NOW,
  });
}

const summary = (results: PipelineResult[]) => results.map((r) => (r.kind === 'decision' ? r.decision.transactionId : r.deadLetter.errorCode));

describe('scorer decode through a schema registry', () => {
  let fake: SchemaRegistryFake;
  let pipeline: Pipeline;
  let txId: number;

  beforeEach(async () => {
    fake = await startSchemaRegistryFake();
    txId = fake.add('transactions-value', registrySchema(SCHEMA_FILES.transaction).schema);
    fake.add('fraud-decisions-value', registrySchema(SCHEMA_FILES.decision).schema);
    fake.add('transactions-dlq-value', registrySchema(SCHEMA_FILES.deadLetter).schema);
    const data = await openCodecs({ format: 'confluent', registry: { url: fake.url, unknownIdWaitMs: WAIT_MS }, clientId: 'test', writes: { decision: ['fraud-decisions'], deadLetter: ['transactions-dlq'] } });
    pipeline = pipelineOf(data);
  });
  afterEach(async () => {
    await fake.close();
  });

  it('an id is fetched once, then served from the cache while the registry is down', async () => {
    expect(txId).not.toBe(1); // not schemas/ids.json's id for Transaction: the registry's is the one read
    const write = producer(txId);
    expect(summary(await pipeline.process([record(write.encode(tx(1))), record(write.encode(tx(2)))]))).toEqual(['tx-1', 'tx-2']);
    expect(fake.count('GET', `/schemas/ids/${txId}`)).toBe(1);

    await fake.down('refuse');
    const started = Date.now();
    expect(summary(await pipeline.process([record(write.encode(tx(3)))]))).toEqual(['tx-3']);
    expect(Date.now() - started).toBeLessThan(50); // no wait: nothing to fetch
    await fake.up();
    expect(fake.count('GET', '/schemas/ids/')).toBe(1);
  });

  it('an unknown id while the registry is down: dead-lettered UNKNOWN_SCHEMA_ID after the bound, no throw; the rest of the chunk is scored', async () => {
    const known = producer(txId);
    await pipeline.process([record(known.encode(tx(1)))]); // cache txId
    await fake.down('refuse');
    const started = Date.now();
    const results = await pipeline.process([record(known.encode(tx(2))), record(producer(4242).encode(tx(3))), record(known.encode(tx(4)))]);
    const waited = Date.now() - started;
    expect(summary(results)).toEqual(['tx-2', 'UNKNOWN_SCHEMA_ID', 'tx-4']);
    expect(results[1]!.kind === 'dead-letter' && results[1]!.deadLetter.reason).toMatch(/schema id 4242 is not registered/);
    expect(waited).toBeGreaterThanOrEqual(WAIT_MS - 5);
    expect(waited).toBeLessThan(WAIT_MS + 300);

    // Given up on: the next chunk carrying it is dead-lettered at once, not after another wait.
    const again = Date.now();
    expect(summary(await pipeline.process([record(producer(4242).encode(tx(5)))]))).toEqual(['UNKNOWN_SCHEMA_ID']);
    expect(Date.now() - again).toBeLessThan(50);
  });

  it('an unknown id the registry answers 404 for (registry up) is dead-lettered the same way', async () => {
    const results = await pipeline.process([record(producer(777).encode(tx(1)))]);
    expect(summary(results)).toEqual(['UNKNOWN_SCHEMA_ID']);
    expect(fake.count('GET', '/schemas/ids/777')).toBeGreaterThan(1); // asked again with backoff within the bound
  });

  it('an id that appears in the registry during the wait is decoded', async () => {
    // A newer producer's schema (adds an optional field), registered moments after its first record.
    const evolved = 'test-vectors/Transaction-with-deviceFingerprint.avsc';
    const nextId = txId + 3; // the fake hands out ids in order; three are taken
    const write = producer(nextId, evolved);
    const processing = pipeline.process([record(write.encode({ ...tx(1), deviceFingerprint: 'fp' } as Transaction))]);
    await new Promise((r) => setTimeout(r, 120));
    expect(fake.add('transactions-value', registrySchema(evolved).schema)).toBe(nextId);
    const started = Date.now();
    expect(summary(await processing)).toEqual(['tx-1']);
    expect(Date.now() - started).toBeLessThan(WAIT_MS);
  });

  it('a writer schema the reader cannot resolve: the scorer\'s existing code for it (a required field missing)', async () => {
    const lacking = 'test-vectors/Transaction-without-cardToken.avsc';
    const id = fake.add('transactions-value', registrySchema(lacking).schema);
    const { cardToken: _omit, ...rest } = tx(1);
    const bytes = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), loadSchema(lacking).toBuffer(rest)]);
    bytes.writeUInt32BE(id, 1);
    // decode/transaction.ts reports avro.ts's INCOMPATIBLE_SCHEMA as MISSING_FIELD (its unit test says why).
    expect(summary(await pipeline.process([record(bytes)]))).toEqual(['MISSING_FIELD']);
  });
});

describe('registry resolver', () => {
  const type = loadSchema(SCHEMA_FILES.transaction);
  const framed = (id: number) => Buffer.from([0, 0, 0, 0, id]);

  it('nothing to fetch: no promise at all (the steady state costs no await)', async () => {
    const resolver = createRegistryResolver({ fetch: async () => type, waitMs: 200 });
    await resolver.prepare([framed(1)], (b) => b);
    expect(resolver.typeForId(1)).toBe(type);
    expect(resolver.prepare([framed(1), null, Buffer.from('plain'), Buffer.alloc(2)], (b) => b)).toBeUndefined();
  });

  it('concurrent batches wanting one id share one fetch', async () => {
    let calls = 0;
    const resolver = createRegistryResolver({ fetch: async () => (calls++, new Promise<avro.Type>((r) => setTimeout(() => r(type), 30))), waitMs: 500 });
    await Promise.all([resolver.prepare([framed(9)], (b) => b), resolver.prepare([framed(9)], (b) => b)]);
    expect(calls).toBe(1);
  });

  it('a fetch that hangs is cut off at the bound; a non-Avro schema is given up on at once', async () => {
    const gaveUp: number[] = [];
    const hang = createRegistryResolver({ fetch: () => new Promise(() => {}), waitMs: 150, onGiveUp: (id) => gaveUp.push(id) });
    const started = Date.now();
    await hang.prepare([framed(3)], (b) => b);
    expect(Date.now() - started).toBeLessThan(400);
    const proto = createRegistryResolver({ fetch: async () => ({ protobuf: true }), waitMs: 5_000, onGiveUp: (id) => gaveUp.push(id) });
    const t = Date.now();
    await proto.prepare([framed(4)], (b) => b);
    expect(Date.now() - t).toBeLessThan(100);
    expect(gaveUp).toEqual([3, 4]);
  });

  it('the embedded registry is untouched: createCodecs without a registry reads ids.json ids', () => {
    const c = createCodecs('confluent');
    expect(c.transaction.encode(tx(1)).readUInt32BE(1)).toBe(1);
  });
});
