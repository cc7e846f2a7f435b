/**
 * `fraudscore topics --register` (services/cli/src/schema-registration.ts) against the protocol
 * fake: what it registers under which subject with which compatibility, that a second run
 * changes nothing, and that the registry's refusals come out in its own words.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connectRegistry, RegistryError } from '../../../services/common/src/schema-registry.js';
import { registerSchemas } from '../../../services/cli/src/schema-registration.js';
import { DEFAULT_TOPIC_PLAN } from '../../../services/cli/src/commands/topics.js';
import { startSchemaRegistryFake, type SchemaRegistryFake } from '../../helpers/schema-registry-fake.js';

const SUBJECTS = ['transactions-value', 'transaction-outcomes-value', 'fraud-decisions-value', 'fraud-flags-value', 'fraud-shadow-decisions-value', 'fraud-replies-value', 'transactions-dlq-value'];

describe('topics --register', () => {
  let fake: SchemaRegistryFake;
  const registry = () => connectRegistry({ url: fake.url, auth: { username: 'ops', password: 'pw' }, unknownIdWaitMs: 1_000 }, 'fraudscore-cli');

  beforeEach(async () => {
    fake = await startSchemaRegistryFake({ auth: { username: 'ops', password: 'pw' } });
  });
  afterEach(async () => {
    await fake.close();
  });

  it('registers each data topic\'s schema under <topic>-value with BACKWARD compatibility', async () => {
    const out = await registerSchemas(registry(), DEFAULT_TOPIC_PLAN);
    expect(out.map((r) => r.subject)).toEqual(SUBJECTS);
    expect(Object.fromEntries(out.map((r) => [r.subject, r.file]))).toMatchObject({
      'transactions-value': 'Transaction.avsc',
      'transaction-outcomes-value': 'TransactionOutcome.avsc',
      'fraud-decisions-value': 'Decision.avsc',
      'fraud-replies-value': 'Decision.avsc',
      'transactions-dlq-value': 'DeadLetter.avsc',
    });
    // One schema, one id, whatever the subject (as in a real registry).
    const idOf = (s: string) => out.find((r) => r.subject === s)!.id;
    expect(new Set(['fraud-decisions-value', 'fraud-flags-value', 'fraud-shadow-decisions-value', 'fraud-replies-value'].map(idOf)).size).toBe(1);
    expect(new Set(out.map((r) => r.id)).size).toBe(4);
    // The compatibility is set on each new subject: the client's PUT /config/{subject}.
    expect(Object.fromEntries(fake.configs)).toEqual(Object.fromEntries(SUBJECTS.map((s) => [s, 'BACKWARD'])));
    expect(fake.count('PUT', '/config/')).toBe(SUBJECTS.length);
    expect(fake.count('POST', '/subjects/')).toBe(SUBJECTS.length);
  });

  it('again: the same ids, no new version, no new config', async () => {
    const first = await registerSchemas(registry(), DEFAULT_TOPIC_PLAN);
    const puts = fake.count('PUT');
    const second = await registerSchemas(registry(), DEFAULT_TOPIC_PLAN);
    expect(second).toEqual(first);
    expect(fake.count('PUT')).toBe(puts);
  });

  it('an incompatible change: the registry\'s 409 message, naming the subject and the file', async () => {
    await registerSchemas(registry(), DEFAULT_TOPIC_PLAN);
    const message = 'Schema being registered is incompatible with an earlier schema for subject "transactions-value", details: [READER_FIELD_MISSING_DEFAULT_VALUE]';
    fake.failNext({ status: 409, errorCode: 409, message, method: 'POST', pathPrefix: '/subjects/transactions-value/versions' });
    const err = (await registerSchemas(registry(), DEFAULT_TOPIC_PLAN).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(RegistryError);
    expect(err.message).toBe(`the schema registry at FRAUD_SCHEMA_REGISTRY_URL=${fake.url} refused registering schemas/Transaction.avsc under transactions-value (HTTP 409): ${message}`);
  });

  it('a subject set to another compatibility level is not silently re-used', async () => {
    await registerSchemas(registry(), DEFAULT_TOPIC_PLAN);
    const client = registry();
    // An operator sets FULL on one subject by hand; --register keeps to BACKWARD and says so.
    await fetch(`${fake.url}/config/transactions-value`, { method: 'PUT', headers: { authorization: `Basic ${Buffer.from('ops:pw').toString('base64')}`, 'content-type': 'application/json' }, body: JSON.stringify({ compatibility: 'FULL' }) });
    await expect(registerSchemas(client, DEFAULT_TOPIC_PLAN)).rejects.toThrow(/registering schemas\/Transaction.avsc under transactions-value: Compatibility does not match the configuration \(BACKWARD != FULL\)/);
  });

  it('wrong credentials: authentication failed, with the settings to check', async () => {
    const bad = connectRegistry({ url: fake.url, auth: { username: 'ops', password: 'nope' }, unknownIdWaitMs: 1_000 }, 'fraudscore-cli');
    await expect(registerSchemas(bad, DEFAULT_TOPIC_PLAN)).rejects.toThrow(/^authentication failed .*check FRAUD_SCHEMA_REGISTRY_USERNAME and FRAUD_SCHEMA_REGISTRY_PASSWORD$/);
  });
});
