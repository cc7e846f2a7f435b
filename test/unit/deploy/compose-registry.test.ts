/** docker-compose.yml's schema registry (profile `registry`), checked offline. */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../services/scorer/src/config.js';
import { get, readYaml, type Obj } from './support.js';

const services = readYaml('docker-compose.yml').services as Record<string, Obj>;

describe('docker-compose.yml: schema registry', () => {
  it('is a pinned Confluent registry on the compose broker, opt-in', () => {
    const sr = services['schema-registry']!;
    expect(sr.image).toMatch(/^confluentinc\/cp-schema-registry:\d+\.\d+\.\d+$/);
    expect(sr.profiles).toEqual(['registry']);
    expect(get(sr, 'environment.SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS')).toBe('PLAINTEXT://kafka:9092');
  });

  it('registers the schemas once, at the registry the services are told about', () => {
    const job = services['schema-register']!;
    expect(job.profiles).toEqual(['registry']);
    expect(job.command).toEqual(['topics', '--register']);
    const url = get<string>(job, 'environment.FRAUD_SCHEMA_REGISTRY_URL');
    expect(url).toBe(`http://schema-registry:${String(get<string>(services['schema-registry'], 'environment.SCHEMA_REGISTRY_LISTENERS')).split(':').at(-1)}`);
    expect(get(services.scorer, 'depends_on.schema-register')).toEqual({ condition: 'service_completed_successfully', required: false });
  });

  it('leaves every service on the embedded ids unless FRAUD_SCHEMA_REGISTRY_URL comes from the shell', () => {
    for (const name of ['scorer', 'simulator', 'gateway', 'monitor']) {
      const env = get<Record<string, unknown>>(services[name], 'environment');
      expect(env, name).toHaveProperty('FRAUD_SCHEMA_REGISTRY_URL', null);
    }
    const env = get<Record<string, string>>(services.scorer, 'environment');
    expect(loadConfig(env).schemaRegistry).toBeUndefined();
    expect(loadConfig({ ...env, FRAUD_SCHEMA_REGISTRY_URL: 'http://schema-registry:8081' }).schemaRegistry?.url).toBe('http://schema-registry:8081');
  });
});
