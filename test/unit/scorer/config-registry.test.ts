/** The scorer's schema-registry settings (config.ts): read through the common module, refused at start-up by name. */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../services/scorer/src/config.js';

const BASE = { FRAUD_KAFKA_BROKERS: 'localhost:9092' };

describe('scorer config: schema registry', () => {
  it('unset: no schemaRegistry (the embedded ids)', () => {
    expect(loadConfig(BASE).schemaRegistry).toBeUndefined();
  });

  it('set: url, credentials, bound', () => {
    const c = loadConfig({ ...BASE, FRAUD_SCHEMA_REGISTRY_URL: 'http://registry:8081', FRAUD_SCHEMA_REGISTRY_USERNAME: 'u', FRAUD_SCHEMA_REGISTRY_PASSWORD: 'p' });
    expect(c.schemaRegistry).toEqual({ url: 'http://registry:8081', auth: { username: 'u', password: 'p' }, unknownIdWaitMs: 5_000 });
  });

  it('bad values: a ConfigError (exit 2) naming the setting', () => {
    const refused = (env: Record<string, string>): string => {
      try {
        loadConfig({ ...BASE, ...env });
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as Error).message;
      }
      throw new Error('accepted');
    };
    expect(refused({ FRAUD_SCHEMA_REGISTRY_URL: 'not a url' })).toMatch(/FRAUD_SCHEMA_REGISTRY_URL: not a URL/);
    expect(refused({ FRAUD_SCHEMA_REGISTRY_UNKNOWN_ID_WAIT_MS: 'x' })).toMatch(/FRAUD_SCHEMA_REGISTRY_UNKNOWN_ID_WAIT_MS/);
    expect(refused({ FRAUD_SCHEMA_REGISTRY_URL: 'http://r:8081', FRAUD_WIRE_FORMAT: 'plain' })).toMatch(/FRAUD_SCHEMA_REGISTRY_URL: set, but FRAUD_WIRE_FORMAT is plain/);
    // librdkafka exactly-once: a 10 s transaction timeout; a batch may not wait half of it.
    expect(refused({ FRAUD_SCHEMA_REGISTRY_URL: 'http://r:8081', FRAUD_KAFKA_CLIENT: 'librdkafka', FRAUD_SCHEMA_REGISTRY_UNKNOWN_ID_WAIT_MS: '6000' })).toMatch(/FRAUD_SCHEMA_REGISTRY_UNKNOWN_ID_WAIT_MS: 6000 ms is more than half/);
  });
});
