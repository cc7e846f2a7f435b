/**
 * How every client of the project authenticates to Kafka and protects the wire: one set of
 * settings, read from the environment the same way by the scorer, gateway, monitor, CLI and
 * the tests' helpers, and turned into each client's own form (kafkajs, librdkafka).
 *
 *   FRAUD_KAFKA_SECURITY_PROTOCOL  PLAINTEXT (default) | SSL | SASL_PLAINTEXT | SASL_SSL
 *   FRAUD_KAFKA_SASL_MECHANISM     SCRAM-SHA-512 (default) | SCRAM-SHA-256 | PLAIN
 *   FRAUD_KAFKA_SASL_USERNAME[_FILE], FRAUD_KAFKA_SASL_PASSWORD[_FILE]
 *   FRAUD_KAFKA_SSL_CA_LOCATION    PEM file of the CA that signed the brokers' certificates
 *                                  (unset: the system's CAs)
 *
 * Fail closed: credentials with a protocol that would send them in clear, or a SASL protocol
 * without credentials, are refused at start-up naming the setting, never silently downgraded.
 */
import { readFileSync } from 'node:fs';
import type { KafkaConfig } from 'kafkajs';
import { readSecret, SettingError } from './secrets.js';

export const SECURITY_PROTOCOLS = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'] as const;
export const SASL_MECHANISMS = ['SCRAM-SHA-512', 'SCRAM-SHA-256', 'PLAIN'] as const;
export type SecurityProtocol = (typeof SECURITY_PROTOCOLS)[number];
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

export interface KafkaSecurity {
  readonly protocol: SecurityProtocol;
  readonly sasl?: { readonly mechanism: SaslMechanism; readonly username: string; readonly password: string };
  /** The CA file's path (librdkafka reads it) and its PEM text (kafkajs takes the text). */
  readonly ca?: { readonly path: string; readonly pem: string };
}

export const PLAINTEXT: KafkaSecurity = Object.freeze({ protocol: 'PLAINTEXT' });

/** The settings above from an environment map; throws SettingError naming the bad one. */
export function kafkaSecurityFromEnv(env: Record<string, string | undefined>): KafkaSecurity {
  const protocol = (env.FRAUD_KAFKA_SECURITY_PROTOCOL || 'PLAINTEXT').toUpperCase();
  if (!(SECURITY_PROTOCOLS as readonly string[]).includes(protocol)) {
    throw new SettingError(`FRAUD_KAFKA_SECURITY_PROTOCOL=${env.FRAUD_KAFKA_SECURITY_PROTOCOL}: expected one of ${SECURITY_PROTOCOLS.join(', ')}`);
  }
  const mechanism = (env.FRAUD_KAFKA_SASL_MECHANISM || 'SCRAM-SHA-512').toUpperCase();
  if (!(SASL_MECHANISMS as readonly string[]).includes(mechanism)) {
    throw new SettingError(`FRAUD_KAFKA_SASL_MECHANISM=${env.FRAUD_KAFKA_SASL_MECHANISM}: expected one of ${SASL_MECHANISMS.join(', ')}`);
  }
  const username = readSecret(env, 'FRAUD_KAFKA_SASL_USERNAME');
  const password = readSecret(env, 'FRAUD_KAFKA_SASL_PASSWORD');
  const usesSasl = protocol.startsWith('SASL_');
  if (!usesSasl && (username || password)) {
    throw new SettingError(`FRAUD_KAFKA_SASL_USERNAME/PASSWORD are set but FRAUD_KAFKA_SECURITY_PROTOCOL=${protocol} would not use them; set SASL_SSL`);
  }
  if (usesSasl && !username) throw new SettingError(`FRAUD_KAFKA_SECURITY_PROTOCOL=${protocol} needs FRAUD_KAFKA_SASL_USERNAME (or FRAUD_KAFKA_SASL_USERNAME_FILE)`);
  if (usesSasl && !password) throw new SettingError(`FRAUD_KAFKA_SECURITY_PROTOCOL=${protocol} needs FRAUD_KAFKA_SASL_PASSWORD (or FRAUD_KAFKA_SASL_PASSWORD_FILE)`);
  const usesTls = protocol === 'SSL' || protocol === 'SASL_SSL';
  const caPath = env.FRAUD_KAFKA_SSL_CA_LOCATION || undefined;
  if (caPath && !usesTls) throw new SettingError(`FRAUD_KAFKA_SSL_CA_LOCATION is set but FRAUD_KAFKA_SECURITY_PROTOCOL=${protocol} does not use TLS`);
  let ca: KafkaSecurity['ca'];
  if (caPath) {
    let pem: string;
    try {
      pem = readFileSync(caPath, 'utf8');
    } catch (err) {
      throw new SettingError(`FRAUD_KAFKA_SSL_CA_LOCATION=${caPath}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new SettingError(`FRAUD_KAFKA_SSL_CA_LOCATION=${caPath}: not a PEM certificate`);
    ca = { path: caPath, pem };
  }
  return Object.freeze({
    protocol: protocol as SecurityProtocol,
    ...(usesSasl ? { sasl: { mechanism: mechanism as SaslMechanism, username: username!, password: password! } } : {}),
    ...(ca ? { ca } : {}),
  });
}

/** kafkajs's `ssl` and `sasl` options. */
export function kafkajsSecurity(s: KafkaSecurity): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  const tls = s.protocol === 'SSL' || s.protocol === 'SASL_SSL';
  const out: Pick<KafkaConfig, 'ssl' | 'sasl'> = {};
  if (tls) out.ssl = s.ca ? { ca: [s.ca.pem], rejectUnauthorized: true } : { rejectUnauthorized: true };
  if (s.sasl) {
    const { username, password } = s.sasl;
    out.sasl = s.sasl.mechanism === 'PLAIN' ? { mechanism: 'plain', username, password } : s.sasl.mechanism === 'SCRAM-SHA-256' ? { mechanism: 'scram-sha-256', username, password } : { mechanism: 'scram-sha-512', username, password };
  }
  return out;
}

/** librdkafka's properties; the broker's certificate is checked against its name (librdkafka's default, kept explicit). */
export function librdkafkaSecurity(s: KafkaSecurity): Record<string, string> {
  const out: Record<string, string> = { 'security.protocol': s.protocol.toLowerCase() };
  if (s.protocol === 'SSL' || s.protocol === 'SASL_SSL') {
    out['ssl.endpoint.identification.algorithm'] = 'https';
    if (s.ca) out['ssl.ca.location'] = s.ca.path;
  }
  if (s.sasl) {
    out['sasl.mechanisms'] = s.sasl.mechanism;
    out['sasl.username'] = s.sasl.username;
    out['sasl.password'] = s.sasl.password;
  }
  return out;
}

/** For logs: what is in force, never a secret. */
export function describeSecurity(s: KafkaSecurity): string {
  return s.sasl ? `${s.protocol} ${s.sasl.mechanism} as ${s.sasl.username}` : s.protocol;
}
