/**
 * The schema-registry settings and the start-up of a process against a registry
 * (services/common/src/schema-registry.ts, registry-codecs.ts), with the real client
 * (@kafkajs/confluent-schema-registry) talking to the protocol fake.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { schemaIdOf } from '../../../services/common/src/avro.js';
import { SCHEMA_FILES } from '../../../services/common/src/contracts.js';
import { openCodecs, writerIds } from '../../../services/common/src/registry-codecs.js';
import { connectRegistry, DEFAULT_UNKNOWN_ID_WAIT_MS, readRegistrySettings, RegistryError, registrySchema, type RegistrySettings } from '../../../services/common/src/schema-registry.js';
import { SettingError } from '../../../services/common/src/secrets.js';
import { startSchemaRegistryFake, type SchemaRegistryFake } from '../../helpers/schema-registry-fake.js';

const URL_VAR = 'FRAUD_SCHEMA_REGISTRY_URL';

function settingErrorOf(env: Record<string, string>): string {
  try {
    readRegistrySettings(env);
  } catch (err) {
    expect(err).toBeInstanceOf(SettingError);
    return (err as Error).message;
  }
  throw new Error('expected a SettingError');
}

describe('registry settings', () => {
  it('unset or empty URL: the embedded ids (undefined); credentials without a URL are not read', () => {
    expect(readRegistrySettings({})).toBeUndefined();
    expect(readRegistrySettings({ [URL_VAR]: '', FRAUD_SCHEMA_REGISTRY_USERNAME: 'u' })).toBeUndefined();
  });

  it('URL, credentials and the bound; a trailing slash is dropped', () => {
    expect(readRegistrySettings({ [URL_VAR]: 'https://registry:8081/', FRAUD_SCHEMA_REGISTRY_USERNAME: 'u', FRAUD_SCHEMA_REGISTRY_PASSWORD: 'p', FRAUD_SCHEMA_REGISTRY_UNKNOWN_ID_WAIT_MS: '2500' }))
      .toEqual({ url: 'https://registry:8081', auth: { username: 'u', password: 'p' }, unknownIdWaitMs: 2500 });
    expect(readRegistrySettings({ [URL_VAR]: 'http://r:8081' })).toEqual({ url: 'http://r:8081', unknownIdWaitMs: DEFAULT_UNKNOWN_ID_WAIT_MS });
  });

  it('each as a _FILE (Kubernetes and compose secrets)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'registry-secrets-'));
    const file = (name: string, text: string) => (writeFileSync(join(dir, name), text), join(dir, name));
    const s = readRegistrySettings({
      FRAUD_SCHEMA_REGISTRY_URL_FILE: file('url', 'http://r:8081\n'),
      FRAUD_SCHEMA_REGISTRY_USERNAME_FILE: file('user', 'svc\n'),
      FRAUD_SCHEMA_REGISTRY_PASSWORD_FILE: file('password', 's3cret\n'),
    });
    expect(s).toEqual({ url: 'http://r:8081', auth: { username: 'svc', password: 's3cret' }, unknownIdWaitMs: DEFAULT_UNKNOWN_ID_WAIT_MS });
  });

  it('bad values fail naming the setting', () => {
    expect(settingErrorOf({ [URL_VAR]: 'registry:8081' })).toMatch(/FRAUD_SCHEMA_REGISTRY_URL/);
    expect(settingErrorOf({ [URL_VAR]: 'ftp://r' })).toMatch(/FRAUD_SCHEMA_REGISTRY_URL: expected an http/);
    expect(settingErrorOf({ [URL_VAR]: 'http://u:p@r:8081' })).toMatch(/FRAUD_SCHEMA_REGISTRY_URL: holds credentials/);
    expect(settingErrorOf({ [URL_VAR]: 'http://r', FRAUD_SCHEMA_REGISTRY_USERNAME: 'u' })).toMatch(/FRAUD_SCHEMA_REGISTRY_USERNAME and FRAUD_SCHEMA_REGISTRY_PASSWORD: set both/);
    expect(settingErrorOf({ [URL_VAR]: 'http://r', FRAUD_SCHEMA_REGISTRY_PASSWORD: 'p', FRAUD_SCHEMA_REGISTRY_PASSWORD_FILE: '/x' })).toMatch(/FRAUD_SCHEMA_REGISTRY_PASSWORD and FRAUD_SCHEMA_REGISTRY_PASSWORD_FILE are both set/);
    for (const bad of ['0', '99', '60001', '1.5', 'soon']) {
      expect(settingErrorOf({ FRAUD_SCHEMA_REGISTRY_UNKNOWN_ID_WAIT_MS: bad })).toMatch(/FRAUD_SCHEMA_REGISTRY_UNKNOWN_ID_WAIT_MS/);
    }
  });
});

/** What the scorer looks up at start-up (service.ts): the ids of what it writes. */
const SCORER_WRITES = { decision: ['fraud-decisions', 'fraud-flags'], deadLetter: ['transactions-dlq'] };

describe('start-up against a registry', () => {
  let fake: SchemaRegistryFake;
  const auth = { username: 'fraudscore', password: 'right' };
  const settings = (over: Partial<RegistrySettings> = {}): RegistrySettings => ({ url: fake.url, auth, unknownIdWaitMs: 300, ...over });
  const registerOutputs = () => {
    fake.add('fraud-decisions-value', registrySchema(SCHEMA_FILES.decision).schema);
    fake.add('fraud-flags-value', registrySchema(SCHEMA_FILES.decision).schema);
    fake.add('transactions-dlq-value', registrySchema(SCHEMA_FILES.deadLetter).schema);
  };
  const startUp = (s: RegistrySettings) => openCodecs({ format: 'confluent', registry: s, clientId: 'test-scorer', writes: SCORER_WRITES });

  beforeEach(async () => {
    fake = await startSchemaRegistryFake({ auth });
  });
  afterEach(async () => {
    await fake.close();
  });

  it('registry down: a clear error naming FRAUD_SCHEMA_REGISTRY_URL and the cause', async () => {
    registerOutputs();
    await fake.down('refuse');
    const err = await startUp(settings()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect((err as Error).message).toMatch(new RegExp(`^cannot reach the schema registry at FRAUD_SCHEMA_REGISTRY_URL=${fake.url} while looking up .*ECONNREFUSED`));
  });

  it('registry answering 503: the registry\'s own words', async () => {
    registerOutputs();
    await fake.down('503');
    const err = (await startUp(settings()).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/FRAUD_SCHEMA_REGISTRY_URL=.*\(HTTP 503\): Error while forwarding/);
  });

  it('wrong credentials: says authentication failed and which settings to check', async () => {
    registerOutputs();
    const err = (await startUp(settings({ auth: { username: 'fraudscore', password: 'wrong' } })).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(RegistryError);
    expect(err.message).toMatch(/^authentication failed at the schema registry at FRAUD_SCHEMA_REGISTRY_URL=.* \(HTTP 401 Unauthorized\): check FRAUD_SCHEMA_REGISTRY_USERNAME and FRAUD_SCHEMA_REGISTRY_PASSWORD$/);
    const none = (await startUp(settings({ auth: undefined })).catch((e: unknown) => e)) as Error;
    expect(none.message).toMatch(/it asks for credentials: set FRAUD_SCHEMA_REGISTRY_USERNAME/);
  });

  it('schemas not registered: says to run `fraudscore topics --register`', async () => {
    fake.add('fraud-decisions-value', registrySchema(SCHEMA_FILES.decision).schema); // flags and DLQ missing
    const err = (await startUp(settings()).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/is not registered under subject (fraud-flags-value|transactions-dlq-value) .*fraudscore topics --register/);
  });

  it('registered: the registry\'s ids are written, not schemas/ids.json\'s', async () => {
    registerOutputs();
    const { codecs, ids, prepare } = await startUp(settings());
    expect(ids).toEqual({ decision: 101, deadLetter: 102 });
    expect(prepare).toBeTypeOf('function');
    const letter = codecs.deadLetter.encode({ errorCode: 'X', reason: 'r', retryable: false, source: { topic: 't', partition: 0, offset: 1 }, payload: null, failedAt: 1 });
    expect(letter.readUInt32BE(1)).toBe(102);
    // A contract this process does not write has no registry id: encoding it is a bug, not a guess.
    expect(() => codecs.outcome.encode({} as never)).toThrow(/no registry id for TransactionOutcome.avsc/);
  });

  it('without a registry: schemas/ids.json\'s ids, no prepare step, no request', async () => {
    const { codecs, prepare, ids } = await openCodecs({ format: 'confluent', clientId: 'x', writes: SCORER_WRITES });
    expect(prepare).toBeUndefined();
    expect(ids).toBeUndefined();
    expect(codecs.transaction.decode(codecs.transaction.encode(tx())).transactionId).toBe('tx-1');
    expect(await writerIds(undefined, { transaction: ['transactions'] })).toEqual({ transaction: schemaIdOf('Transaction.avsc') });
    expect(fake.requests).toEqual([]);
  });

  it('plain framing carries no id: a registry with it is refused, naming the setting', async () => {
    await expect(openCodecs({ format: 'plain', registry: settings(), clientId: 'x', writes: {} })).rejects.toThrow(/FRAUD_SCHEMA_REGISTRY_URL is set but the wire format is plain/);
  });

  it('a producer\'s writer id is the registry\'s for the topic\'s subject', async () => {
    const id = fake.add('my-transactions-value', registrySchema(SCHEMA_FILES.transaction).schema);
    expect(await writerIds(connectRegistry(settings(), 'test'), { transaction: ['my-transactions'] })).toEqual({ transaction: id });
  });
});

function tx() {
  return {
    transactionId: 'tx-1', cardToken: 'card-1', terminalId: 'term-1', amountMinor: 100, currency: 'EUR', eventTime: Date.UTC(2024, 0, 1),
    merchantId: null, merchantCategoryCode: null, merchantCountry: null, channel: 'POS' as const, entryMode: 'CHIP' as const, cardPresent: true,
  };
}
