/**
 * Who may talk to the secure broker, and what each principal may do there: every refusal is
 * the broker's own answer (an authentication or authorization error), asserted by type, next
 * to a positive control showing the same principal is let through where its ACLs allow.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel } from 'kafkajs';
import { inject } from 'vitest';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createCodecs } from '../../services/common/src/contracts.js';
import { createKafka } from '../../services/common/src/kafka.js';
import { openKafkaTopicSource, type TopicRecord } from '../../services/cli/src/history/kafka-source.js';
import { readHistory, writeSpec } from '../../services/cli/src/models/deployments.js';
import { applyAcls, DEFAULT_ACL_PLAN } from '../../services/cli/src/security/acls.js';
import { aclProbes, errorType, probeClient, runProbe } from '../../services/cli/src/security/probes.js';
import { loadRdkafka } from '../../services/scorer/src/transport/librdkafka/native.js';
import { adminByDefault, principalEnv, principalSecurity, secureKafka } from '../helpers/secure-kafka.js';
import { deleteTopics, freshTopics, testKafka, type TestTopics } from '../helpers/kafka.js';

adminByDefault();

const brokers = () => inject('kafkaBrokers').split(',');

/** Connects a kafkajs admin with these options and reports how it ended. */
async function tryConnect(options: Partial<ConstructorParameters<typeof Kafka>[0]>): Promise<Error | undefined> {
  const kafka = new Kafka({ clientId: 'test-intruder', brokers: brokers(), logLevel: logLevel.NOTHING, connectionTimeout: 3_000, retry: { retries: 0 }, ...options });
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.listTopics();
    return undefined;
  } catch (err) {
    return err as Error;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/** librdkafka's answer to a metadata request with these settings: its errors and warnings, or undefined when let in. */
function rdkafkaMetadata(settings: Record<string, string>): Promise<string | undefined> {
  const { Producer } = loadRdkafka();
  const producer = new Producer({ 'bootstrap.servers': brokers().join(','), 'client.id': 'test-intruder', event_cb: true, ...settings }, {});
  const said: string[] = [];
  producer.on('event.error', (e: { message: string }) => said.push(e.message));
  producer.on('event.log', (e: { severity: number; message: string }) => {
    if (e.severity <= 4) said.push(e.message);
  });
  return new Promise((resolve) => {
    producer.connect({ timeout: 6_000 }, (err) => {
      const outcome = err ? [...said, err.message].join(' / ') : undefined;
      if (producer.isConnected()) producer.disconnect(() => resolve(outcome));
      else resolve(outcome);
    });
  });
}

describe('secure broker: authentication', () => {
  const admin = principalEnv('admin');
  const ca = readFileSync(admin.FRAUD_KAFKA_SSL_CA_LOCATION!, 'utf8');

  it('lets a principal with its password in (positive control)', async () => {
    expect(await tryConnect({ ssl: { ca: [ca] }, sasl: { mechanism: 'scram-sha-512', username: 'scorer', password: principalSecurity('scorer').sasl!.password } })).toBeUndefined();
  });

  it('refuses a wrong password (kafkajs and librdkafka)', async () => {
    const err = await tryConnect({ ssl: { ca: [ca] }, sasl: { mechanism: 'scram-sha-512', username: 'scorer', password: 'not-the-password' } });
    expect(err?.name).toBe('KafkaJSSASLAuthenticationError');
    expect(err?.message).toMatch(/SCRAM SHA512 authentication failed/i);
    const rd = await rdkafkaMetadata({ 'security.protocol': 'sasl_ssl', 'sasl.mechanisms': 'SCRAM-SHA-512', 'sasl.username': 'scorer', 'sasl.password': 'not-the-password', 'ssl.ca.location': admin.FRAUD_KAFKA_SSL_CA_LOCATION! });
    expect(rd).toMatch(/SASL authentication error/);
  });

  it('refuses a user it does not know', async () => {
    const err = await tryConnect({ ssl: { ca: [ca] }, sasl: { mechanism: 'scram-sha-512', username: 'mallory', password: 'whatever' } });
    expect(err?.name).toBe('KafkaJSSASLAuthenticationError');
  });

  it('has no plaintext door: a plaintext client cannot connect to the secure listener', async () => {
    const err = await tryConnect({});
    expect(err).toBeDefined();
    expect(err!.name).toMatch(/KafkaJSConnectionError|KafkaJSNumberOfRetriesExceeded|KafkaJSRequestTimeoutError|KafkaJSConnectionClosedError/);
    const rd = await rdkafkaMetadata({ 'security.protocol': 'plaintext' });
    expect(rd).toBeDefined();
  });

  it('refuses to talk to a broker whose certificate it cannot verify (no CA given: an impostor looks the same)', async () => {
    const err = await tryConnect({ ssl: { rejectUnauthorized: true }, sasl: { mechanism: 'scram-sha-512', username: 'scorer', password: principalSecurity('scorer').sasl!.password } });
    expect(err?.message ?? '').toMatch(/self[- ]signed|unable to (verify|get local issuer)|certificate/i);
  });
});

describe('secure broker: ACLs per principal', () => {
  let topics: TestTopics;

  beforeAll(async () => {
    topics = await freshTopics(testKafka(), 1);
    const admin = testKafka().admin();
    await admin.connect();
    await applyAcls(admin, { ...DEFAULT_ACL_PLAN, topics, scorerGroup: topics.group, monitorGroup: `m-${topics.group}` });
    await admin.disconnect();
  });
  afterAll(async () => {
    if (topics) await deleteTopics(testKafka(), topics);
  });

  it('lets the scorer read its input and write its outputs (positive control)', async () => {
    const kafka = secureKafka('scorer');
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: topics.decisions, acks: -1, messages: [{ key: 'k', value: 'v' }] });
    await producer.disconnect();
    const admin = kafka.admin();
    await admin.connect();
    const offsets = await admin.fetchTopicOffsets(topics.transactions);
    await admin.disconnect();
    expect(offsets.length).toBe(1);
  });

  it('lets the trainer replay history in a throwaway group and delete it, and read and write the deployments topic (positive control)', async () => {
    // History, written as admin.
    const producer = testKafka().producer();
    await producer.connect();
    await producer.send({ topic: topics.transactions, acks: -1, messages: [{ key: 'a', value: 'one' }, { key: 'b', value: 'two' }] });
    await producer.disconnect();

    const kafka = secureKafka('trainer');
    // The replay as retrain runs it (history/kafka-source.ts): offsets, offsets by time, a read
    // in a fraudscore-retrain-<uuid> group, the group deleted at the end.
    const source = await openKafkaTopicSource(kafka, { groupPrefix: 'fraudscore-retrain' });
    const seen: TopicRecord[] = [];
    try {
      // (Relative to the end: a retried test finds the first attempt's records too.)
      const [p0] = await source.offsets(topics.transactions);
      expect(p0?.high).toBeGreaterThanOrEqual(2n);
      expect(await source.offsetsForTime(topics.transactions, 0)).toEqual(new Map([[0, 0n]]));
      await source.read([{ topic: topics.transactions, partition: 0, start: p0!.high - 2n, end: p0!.high }], (_range, records) => seen.push(...records));
    } finally {
      await source.close();
    }
    expect(seen.map((r) => r.value?.toString())).toEqual(['one', 'two']);

    // kafka-source swallows a failed group deletion, so DELETE is asserted on a group that
    // certainly exists: one with a committed offset, in a replay prefix of the trainer.
    const groupId = `${DEFAULT_ACL_PLAN.trainerReplayGroupPrefixes[0]}control-${randomUUID().slice(0, 8)}`;
    const admin = kafka.admin({ retry: { retries: 0 } });
    await admin.connect();
    try {
      await admin.setOffsets({ groupId, topic: topics.transactions, partitions: [{ partition: 0, offset: '1' }] });
      await expect(admin.deleteGroups([groupId])).resolves.toEqual([expect.objectContaining({ groupId, errorCode: 0 })]);
    } finally {
      await admin.disconnect();
    }

    // retrain --deploy: the spec in force, then a new one (an idempotent producer).
    const codec = createCodecs('confluent').deploymentSpec;
    const pin = { name: 'fraud-lr', version: '1.0.0', digest: 'a'.repeat(64) };
    const reason = `trainer control ${randomUUID().slice(0, 8)}`;
    const revision = await writeSpec(kafka, topics.deployments, codec, { champion: pin, shadow: null, canary: null, policy: 'policy-v1', requestedBy: 'access-test', requestedAt: Date.now(), reason, restoresRevision: null });
    expect((await readHistory(kafka, topics.deployments, codec)).at(-1)).toMatchObject({ revision, spec: { reason } });
  });

  it('refuses every attempt outside a principal\'s grants, with the broker\'s authorization error', async () => {
    const probes = aclProbes(topics, { scorer: topics.group, monitor: `m-${topics.group}` });
    const results = [];
    for (const probe of probes) results.push(await runProbe(probe, (p) => probeClient(brokers(), principalSecurity(p), `probe-${p}`)));
    const table = results.map((r) => `${r.probe.principal}: ${r.probe.attempt} → ${r.outcome}`).join('\n');
    expect(results.filter((r) => !r.refused), table).toEqual([]);
    expect(results.length).toBeGreaterThanOrEqual(10);
  });

  it('still refuses when a client is built by the project\'s own factory from a principal\'s settings', async () => {
    // The factory must not drop the security settings on the way (they are what lets it in).
    const kafka = createKafka({ brokers: brokers(), clientId: 'test-factory', security: principalSecurity('monitor'), retries: 0 });
    const producer = kafka.producer({ retry: { retries: 0 } });
    await producer.connect();
    const err = await producer.send({ topic: topics.flags, messages: [{ value: 'x' }] }).catch((e: unknown) => e);
    expect(errorType(err)).toBe('TOPIC_AUTHORIZATION_FAILED');
    await producer.disconnect();
  });
});
