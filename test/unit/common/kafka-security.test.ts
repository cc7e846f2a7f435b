import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeSecurity, kafkajsSecurity, kafkaSecurityFromEnv, librdkafkaSecurity } from '../../../services/common/src/kafka-security.js';
import { readSecret } from '../../../services/common/src/secrets.js';
import { ConfigError, loadConfig } from '../../../services/scorer/src/config.js';

const dir = mkdtempSync(join(tmpdir(), 'kafka-security-'));
const passwordFile = join(dir, 'password');
writeFileSync(passwordFile, 's3cret\n');
const caFile = join(dir, 'ca.pem');
writeFileSync(caFile, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
const SECURE = { FRAUD_KAFKA_SECURITY_PROTOCOL: 'SASL_SSL', FRAUD_KAFKA_SASL_USERNAME: 'scorer', FRAUD_KAFKA_SASL_PASSWORD_FILE: passwordFile, FRAUD_KAFKA_SSL_CA_LOCATION: caFile };

describe('Kafka security settings', () => {
  it('defaults to PLAINTEXT with nothing set', () => {
    expect(kafkaSecurityFromEnv({})).toEqual({ protocol: 'PLAINTEXT' });
    expect(kafkajsSecurity(kafkaSecurityFromEnv({}))).toEqual({});
    expect(librdkafkaSecurity(kafkaSecurityFromEnv({}))).toEqual({ 'security.protocol': 'plaintext' });
  });

  it('reads SASL_SSL with the password from a file (one trailing newline dropped) and the CA', () => {
    const s = kafkaSecurityFromEnv(SECURE);
    expect(s.sasl).toEqual({ mechanism: 'SCRAM-SHA-512', username: 'scorer', password: 's3cret' });
    expect(kafkajsSecurity(s)).toEqual({ ssl: { ca: [expect.stringContaining('BEGIN CERTIFICATE')], rejectUnauthorized: true }, sasl: { mechanism: 'scram-sha-512', username: 'scorer', password: 's3cret' } });
    expect(librdkafkaSecurity(s)).toEqual({
      'security.protocol': 'sasl_ssl',
      'ssl.endpoint.identification.algorithm': 'https',
      'ssl.ca.location': caFile,
      'sasl.mechanisms': 'SCRAM-SHA-512',
      'sasl.username': 'scorer',
      'sasl.password': 's3cret',
    });
    expect(describeSecurity(s)).toBe('SASL_SSL SCRAM-SHA-512 as scorer');
    expect(describeSecurity(s)).not.toContain('s3cret');
  });

  it.each([
    [{ FRAUD_KAFKA_SECURITY_PROTOCOL: 'TLS' }, /FRAUD_KAFKA_SECURITY_PROTOCOL=TLS: expected one of/],
    [{ FRAUD_KAFKA_SECURITY_PROTOCOL: 'SASL_SSL', FRAUD_KAFKA_SASL_MECHANISM: 'GSSAPI', FRAUD_KAFKA_SASL_USERNAME: 'a', FRAUD_KAFKA_SASL_PASSWORD: 'b' }, /FRAUD_KAFKA_SASL_MECHANISM=GSSAPI/],
    [{ FRAUD_KAFKA_SECURITY_PROTOCOL: 'SASL_SSL', FRAUD_KAFKA_SASL_PASSWORD: 'b' }, /needs FRAUD_KAFKA_SASL_USERNAME/],
    [{ FRAUD_KAFKA_SECURITY_PROTOCOL: 'SASL_SSL', FRAUD_KAFKA_SASL_USERNAME: 'a' }, /needs FRAUD_KAFKA_SASL_PASSWORD/],
    // credentials that would go out in clear, or not at all: refused, not ignored
    [{ FRAUD_KAFKA_SASL_USERNAME: 'a', FRAUD_KAFKA_SASL_PASSWORD: 'b' }, /PLAINTEXT would not use them/],
    [{ FRAUD_KAFKA_SSL_CA_LOCATION: caFile }, /does not use TLS/],
    [{ FRAUD_KAFKA_SECURITY_PROTOCOL: 'SSL', FRAUD_KAFKA_SSL_CA_LOCATION: join(dir, 'missing.pem') }, /FRAUD_KAFKA_SSL_CA_LOCATION=.*missing.pem: cannot read it \(ENOENT\)/],
    [{ FRAUD_KAFKA_SECURITY_PROTOCOL: 'SSL', FRAUD_KAFKA_SSL_CA_LOCATION: passwordFile }, /not a PEM certificate/],
    [{ ...SECURE, FRAUD_KAFKA_SASL_PASSWORD: 'inline' }, /FRAUD_KAFKA_SASL_PASSWORD and FRAUD_KAFKA_SASL_PASSWORD_FILE are both set/],
    [{ ...SECURE, FRAUD_KAFKA_SASL_PASSWORD_FILE: join(dir, 'nope') }, /FRAUD_KAFKA_SASL_PASSWORD_FILE=.*nope: cannot read it/],
  ])('refuses %o naming the setting', (env, message) => {
    expect(() => kafkaSecurityFromEnv(env)).toThrow(message);
  });

  it('is part of every service config: a bad value fails the scorer at start-up (exit 2) naming it', () => {
    expect(() => loadConfig({ FRAUD_KAFKA_BROKERS: 'localhost:9092', FRAUD_KAFKA_SECURITY_PROTOCOL: 'SASL_SSL' })).toThrow(ConfigError);
    expect(() => loadConfig({ FRAUD_KAFKA_BROKERS: 'localhost:9092', FRAUD_KAFKA_SECURITY_PROTOCOL: 'SASL_SSL' })).toThrow(/FRAUD_KAFKA_SASL_USERNAME/);
    expect(loadConfig({ FRAUD_KAFKA_BROKERS: 'localhost:9092', ...SECURE }).security.sasl?.username).toBe('scorer');
  });

  it('refuses an empty secret file rather than starting with an empty password', () => {
    const empty = join(dir, 'empty');
    writeFileSync(empty, '\n');
    expect(() => readSecret({ X_FILE: empty }, 'X')).toThrow(/X_FILE=.*empty is empty/);
  });
});
