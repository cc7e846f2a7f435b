/**
 * What the CLI takes from its environment, read in this one place: the broker to talk to
 * (flag, then KAFKA_BROKERS / FRAUD_KAFKA_BROKERS, then the local broker that
 * `npm run kafka:up` started).
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseBrokers } from '../../common/src/kafka.js';
import { readRegistrySettings, type RegistrySettings } from '../../common/src/schema-registry.js';

export const CACHE_DIR = process.env.FRAUDSCORE_CACHE ?? join(homedir(), '.cache', 'fraudscore');
export const LOCAL_BOOTSTRAP_FILE = join(CACHE_DIR, 'run', 'kafka', 'bootstrap');

export function configuredBrokers(): string | undefined {
  return process.env.KAFKA_BROKERS || process.env.FRAUD_KAFKA_BROKERS || undefined;
}

export function resolveBrokers(flag?: string): string[] {
  const text = flag ?? configuredBrokers() ?? readLocalBootstrap();
  if (!text) {
    throw new Error('no Kafka broker: pass --brokers host:port, set KAFKA_BROKERS, or start the local one with `npm run kafka:up`');
  }
  return parseBrokers(text);
}

function readLocalBootstrap(): string | undefined {
  try {
    return readFileSync(LOCAL_BOOTSTRAP_FILE, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** FRAUD_SCHEMA_REGISTRY_* (services/common/src/schema-registry.ts); undefined: schemas/ids.json's ids. */
export function configuredRegistry(): RegistrySettings | undefined {
  return readRegistrySettings(process.env);
}
