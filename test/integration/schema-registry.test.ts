/**
 * The scorer against a schema registry, on the real broker: a scorer child with
 * FRAUD_SCHEMA_REGISTRY_URL pointing at the protocol fake (test/helpers/schema-registry-fake.ts),
 * whose ids start at 1001, unlike any id in schemas/ids.json, so every id seen proves where it
 * came from.
 *   - schemas registered as `fraudscore topics --register` does; transactions and outcomes
 *     published by the simulator's publisher with the registry's ids;
 *   - every transaction decided; decisions carry the registry's Decision id and decode with
 *     the registry client's own decoder; outcomes read through the registry too;
 *   - a record with an id the registry does not know is dead-lettered UNKNOWN_SCHEMA_ID within
 *     the bound (FRAUD_SCHEMA_REGISTRY_UNKNOWN_ID_WAIT_MS), the scorer still running.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Partitioners, type Kafka } from 'kafkajs';
import { schemaIdOf } from '../../services/common/src/avro.js';
import { createCodecs, type DeadLetter, type Decision, type Transaction } from '../../services/common/src/contracts.js';
import { writerIds } from '../../services/common/src/registry-codecs.js';
import { connectRegistry, type Registry } from '../../services/common/src/schema-registry.js';
import { registerSchemas } from '../../services/cli/src/schema-registration.js';
import { publishEvents, simulate, type SimEvent } from '../../services/simulator/src/index.js';
import { deleteTopics, freshTopics, readTopic, testKafka, type TestTopics } from '../helpers/kafka.js';
import { scorerEnv, spawnScorer, type ChildScorer } from '../helpers/scorer.js';
import { startSchemaRegistryFake, type SchemaRegistryFake } from '../helpers/schema-registry-fake.js';

const AUTH = { username: 'scorer', password: 'registry-pw' };
const WAIT_MS = 1_500;
const UNKNOWN_ID = 424_242;

describe('scorer with a schema registry', () => {
  let kafka: Kafka;
  let topics: TestTopics;
  let fake: SchemaRegistryFake;
  let registry: Registry;
  let scorer: ChildScorer | undefined;
  let transactions = 0;
  let ids: Record<string, number>;
  let sample: Transaction;

  beforeAll(async () => {
    kafka = testKafka();
    topics = await freshTopics(kafka, 2);
    fake = await startSchemaRegistryFake({ firstId: 1001, auth: AUTH });
    registry = connectRegistry({ url: fake.url, auth: AUTH, unknownIdWaitMs: WAIT_MS }, 'test');
    ids = Object.fromEntries((await registerSchemas(registry, topics)).map((r) => [r.file, r.id]));

    const events: SimEvent[] = [...simulate({ seed: 11, customers: 60, terminals: 120, days: 3 })];
    sample = (events.find((e) => e.kind === 'transaction') as Extract<SimEvent, { kind: 'transaction' }>).tx;
    const schemaIds = await writerIds(registry, { transaction: [topics.transactions], outcome: [topics.outcomes] });
    expect(schemaIds).toEqual({ transaction: ids['Transaction.avsc'], outcome: ids['TransactionOutcome.avsc'] });
    transactions = (await publishEvents(kafka, events, { topics, schemaIds })).transactions;

    scorer = await spawnScorer(
      scorerEnv(topics, {
        FRAUD_SCHEMA_REGISTRY_URL: fake.url,
        FRAUD_SCHEMA_REGISTRY_USERNAME: AUTH.username,
        FRAUD_SCHEMA_REGISTRY_PASSWORD: AUTH.password,
        FRAUD_SCHEMA_REGISTRY_UNKNOWN_ID_WAIT_MS: String(WAIT_MS),
        FRAUD_DECISION_FEATURES: 'false',
      }),
      'schema-registry',
    );
  });

  afterAll(async () => {
    scorer?.child.kill('SIGTERM');
    await scorer?.exited;
    await fake?.close();
    if (topics) await deleteTopics(kafka, topics);
  });

  it('decides every transaction published with registry ids, writing decisions with the registry\'s id', async () => {
    const decisions = await readTopic(kafka, topics.decisions, transactions, 30_000);
    expect(decisions.length).toBe(transactions);
    const decisionId = ids['Decision.avsc']!;
    expect(decisionId).toBeGreaterThanOrEqual(1001);
    expect(decisionId).not.toBe(schemaIdOf('Decision.avsc'));
    for (const r of decisions) expect(r.value!.readUInt32BE(1)).toBe(decisionId);
    // The registry client's own decoder reads them: the id means Decision in the registry.
    const decoded = (await registry.client.decode(decisions[0]!.value!)) as Decision;
    expect(decoded.source.topic).toBe(topics.transactions);
    // The scorer fetched the Transaction schema once and decoded the rest from its cache.
    expect(fake.count('GET', `/schemas/ids/${ids['Transaction.avsc']}`)).toBe(1);

    // Outcomes were read through the registry as well (their schema fetched), none unreadable.
    expect(fake.count('GET', `/schemas/ids/${ids['TransactionOutcome.avsc']}`)).toBe(1);
    const metrics = await (await fetch(`${scorer!.adminUrl}/metrics`)).text();
    expect(metrics).not.toMatch(/^fraudscore_outcomes_total\{result="unreadable"[^}]*\} [1-9]/m);
  });

  it('dead-letters a record whose id the registry does not know, within the bound, and keeps scoring', async () => {
    const body = createCodecs('plain').transaction.encode({ ...sample, transactionId: 'unknown-id-1' });
    const value = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), body]);
    value.writeUInt32BE(UNKNOWN_ID, 1);
    const producer = kafka.producer({ idempotent: true, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const sent = Date.now();
    await producer.send({ topic: topics.transactions, acks: -1, messages: [{ key: sample.cardToken, value }] });
    await producer.disconnect();

    const [letter] = await readTopic(kafka, topics.dlq, 1, 20_000);
    expect(letter).toBeDefined();
    expect(letter!.value!.readUInt32BE(1)).toBe(ids['DeadLetter.avsc']);
    const dead = (await registry.client.decode(letter!.value!)) as DeadLetter;
    expect(dead.errorCode).toBe('UNKNOWN_SCHEMA_ID');
    expect(dead.reason).toMatch(new RegExp(`schema id ${UNKNOWN_ID}`));
    expect(Buffer.compare(dead.payload!, value)).toBe(0);
    expect(fake.count('GET', `/schemas/ids/${UNKNOWN_ID}`)).toBeGreaterThan(1); // asked again within the bound
    // failedAt is the scorer's clock once it gave up on the id: the bound after the record was
    // sent, plus the time to consume it.
    expect(dead.failedAt - sent).toBeGreaterThanOrEqual(WAIT_MS - 50);
    expect(dead.failedAt - sent).toBeLessThan(WAIT_MS + 3_000);

    // Still scoring: a transaction written with the registry's id after it is decided.
    const after = createCodecs('confluent', undefined, { transaction: ids['Transaction.avsc'] }).transaction.encode({ ...sample, transactionId: 'after-unknown-1' });
    const again = kafka.producer({ idempotent: true, createPartitioner: Partitioners.DefaultPartitioner });
    await again.connect();
    await again.send({ topic: topics.transactions, acks: -1, messages: [{ key: sample.cardToken, value: after }] });
    await again.disconnect();
    const decisions = await readTopic(kafka, topics.decisions, transactions + 1, 20_000);
    expect(decisions.length).toBe(transactions + 1);
    expect((await fetch(`${scorer!.adminUrl}/healthz`)).status).toBe(200);
  });
});
