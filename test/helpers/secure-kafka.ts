/**
 * Clients of the secure broker (test/secure): each principal's settings exactly as a user gets
 * them (`kafka.sh env <principal> --secure`), as an environment map for a child service or as
 * a kafkajs client for the test itself.
 */
import { inject } from 'vitest';
import type { Kafka } from 'kafkajs';
import { createKafka } from '../../services/common/src/kafka.js';
import { kafkaSecurityFromEnv, type KafkaSecurity } from '../../services/common/src/kafka-security.js';
import type { Principal } from '../../services/cli/src/security/acls.js';
import { securePrincipalEnv } from '../../services/cli/src/local-broker.js';

export type SecurePrincipal = Principal | 'admin';

const cache = new Map<string, Record<string, string>>();

/** FRAUD_KAFKA_* for `principal`, parsed from the script's export lines. */
export function principalEnv(principal: SecurePrincipal): Record<string, string> {
  let env = cache.get(principal);
  if (!env) {
    env = securePrincipalEnv(principal);
    cache.set(principal, env);
  }
  return env;
}

export function principalSecurity(principal: SecurePrincipal): KafkaSecurity {
  return kafkaSecurityFromEnv(principalEnv(principal));
}

export function secureKafka(principal: SecurePrincipal, clientId = `test-${principal}`): Kafka {
  return createKafka({ brokers: inject('kafkaBrokers').split(','), clientId, security: principalSecurity(principal) });
}

/**
 * Makes the admin principal this test process's default (createKafka reads FRAUD_KAFKA_* from
 * process.env), so the shared helpers (freshTopics, readTopic, audit) work unchanged. Spawned
 * services get their own principal's settings over these.
 */
export function adminByDefault(): void {
  Object.assign(process.env, principalEnv('admin'));
}
