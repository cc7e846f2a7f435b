/**
 * A Confluent-compatible schema registry, when FRAUD_SCHEMA_REGISTRY_URL names one: its
 * settings, its client (@kafkajs/confluent-schema-registry), the writer id of a topic's schema,
 * and registry failures told in words that name the setting to look at. Without the URL,
 * schemas/ids.json is the registry (avro.ts `localRegistry`), as before.
 *
 * Subjects follow the TopicNameStrategy: a topic's values are registered under `<topic>-value`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SchemaRegistry as RegistryClient, SchemaType } from '@kafkajs/confluent-schema-registry';
import { SCHEMAS_DIR, schemaIdOf } from './avro.js';
import { readSecret, SettingError } from './secrets.js';

export const REGISTRY_URL = 'FRAUD_SCHEMA_REGISTRY_URL';
export const REGISTRY_USERNAME = 'FRAUD_SCHEMA_REGISTRY_USERNAME';
export const REGISTRY_PASSWORD = 'FRAUD_SCHEMA_REGISTRY_PASSWORD';
export const REGISTRY_UNKNOWN_ID_WAIT_MS = 'FRAUD_SCHEMA_REGISTRY_UNKNOWN_ID_WAIT_MS';
/** Every variable read here (the deployment checks know them as settings of every service). */
export const REGISTRY_SETTING_NAMES: readonly string[] = [
  ...[REGISTRY_URL, REGISTRY_USERNAME, REGISTRY_PASSWORD].flatMap((n) => [n, `${n}_FILE`]),
  REGISTRY_UNKNOWN_ID_WAIT_MS,
];

/**
 * How long a batch may wait for the registry to answer for an id it names that is not cached.
 * Long enough to ride out a registry restart's first seconds, short against the scorer's
 * session and transaction timeouts (its config checks that).
 */
export const DEFAULT_UNKNOWN_ID_WAIT_MS = 5_000;
const MAX_UNKNOWN_ID_WAIT_MS = 60_000;

/**
 * Every request the registry does not answer within this fails. The client keeps one request
 * in flight per id and every later fetch of that id waits on it: one that hung forever (a
 * registry accepting connections but never answering) would leave the id unfetchable.
 */
export const REQUEST_TIMEOUT_MS = 10_000;
type Middleware = NonNullable<ConstructorParameters<typeof RegistryClient>[0]['middlewares']>[number];
const requestTimeout: Middleware = () => ({
  prepareRequest: async (next) => (await next()).enhance({ timeout: REQUEST_TIMEOUT_MS }),
});

export interface RegistrySettings {
  /** Without a trailing slash. */
  readonly url: string;
  readonly auth?: { readonly username: string; readonly password: string };
  readonly unknownIdWaitMs: number;
}

/**
 * The registry settings from an environment map; undefined when FRAUD_SCHEMA_REGISTRY_URL is
 * unset or empty (the embedded ids). Credentials are read only with a URL: a shell that exports
 * them does not break a run that means the embedded mode (the demo). Throws SettingError
 * naming the setting.
 */
export function readRegistrySettings(env: Record<string, string | undefined>): RegistrySettings | undefined {
  const waitText = env[REGISTRY_UNKNOWN_ID_WAIT_MS];
  const unknownIdWaitMs = waitText ? Number(waitText) : DEFAULT_UNKNOWN_ID_WAIT_MS;
  if (!Number.isInteger(unknownIdWaitMs) || unknownIdWaitMs < 100 || unknownIdWaitMs > MAX_UNKNOWN_ID_WAIT_MS) {
    throw new SettingError(`${REGISTRY_UNKNOWN_ID_WAIT_MS}=${waitText}: expected whole milliseconds from 100 to ${MAX_UNKNOWN_ID_WAIT_MS}`);
  }
  const url = readSecret(env, REGISTRY_URL);
  if (!url) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new SettingError(`${REGISTRY_URL}: not a URL (expected http(s)://host:port)`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new SettingError(`${REGISTRY_URL}: expected an http:// or https:// URL, got ${parsed.protocol}`);
  // Credentials in the URL would be written wherever the URL is logged.
  if (parsed.username || parsed.password) throw new SettingError(`${REGISTRY_URL}: holds credentials; set ${REGISTRY_USERNAME} and ${REGISTRY_PASSWORD} instead`);
  const username = readSecret(env, REGISTRY_USERNAME);
  const password = readSecret(env, REGISTRY_PASSWORD);
  if (Boolean(username) !== Boolean(password)) throw new SettingError(`${REGISTRY_USERNAME} and ${REGISTRY_PASSWORD}: set both, or neither`);
  return {
    url: url.replace(/\/+$/, ''),
    ...(username && password ? { auth: { username, password } } : {}),
    unknownIdWaitMs,
  };
}

/** A start-up or registration failure against the registry; the message names the setting and the cause. */
export class RegistryError extends Error {
  override name = 'RegistryError';
}

export interface Registry {
  readonly settings: RegistrySettings;
  readonly client: RegistryClient;
  /** The client's error message without its client-id prefix. */
  readonly clientId: string;
}

/**
 * The client for the registry the settings name. Its own retries are off: whoever calls it
 * knows how long it may wait (a start-up fails at once and clearly; a batch retries within
 * FRAUD_SCHEMA_REGISTRY_UNKNOWN_ID_WAIT_MS). Every client here passes the same retry options,
 * since the library merges them into a default shared by all its clients.
 */
export function connectRegistry(settings: RegistrySettings, clientId: string): Registry {
  const client = new RegistryClient({ host: settings.url, auth: settings.auth ? { ...settings.auth } : undefined, clientId, retry: { retries: 0 }, middlewares: [requestTimeout] });
  return { settings, client, clientId };
}

/** The subject a topic's values are registered under (TopicNameStrategy). */
export const subjectOf = (topic: string): string => `${topic}-value`;

/** A schema file of schemas/ as the registry is sent it: compact JSON, the same text for a registration and a lookup. */
export function registrySchema(file: string): { type: SchemaType.AVRO; schema: string } {
  return { type: SchemaType.AVRO, schema: JSON.stringify(JSON.parse(readFileSync(join(SCHEMAS_DIR, file), 'utf8'))) };
}

/** Rejects with a "did not answer" error after `ms`; the request itself is left to finish. */
export function withinMs<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`no answer within ${ms} ms`), { timedOut: true })), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** What went wrong, in words: out of reach, credentials refused, or the registry's own message. */
export function registryFailure(registry: Registry, doing: string, err: unknown): RegistryError {
  const where = `the schema registry at ${REGISTRY_URL}=${registry.settings.url}`;
  const e = err as { status?: number; timedOut?: boolean; message?: string };
  const message = String(e?.message ?? err).replace(`${registry.clientId} - `, '');
  if (e?.timedOut) return new RegistryError(`cannot reach ${where} while ${doing}: ${message}`);
  if (e?.status === 401 || e?.status === 403) {
    const creds = registry.settings.auth ? `check ${REGISTRY_USERNAME} and ${REGISTRY_PASSWORD}` : `it asks for credentials: set ${REGISTRY_USERNAME} and ${REGISTRY_PASSWORD}`;
    return new RegistryError(`authentication failed at ${where} while ${doing} (HTTP ${e.status} ${message}): ${creds}`);
  }
  // The HTTP client reports a failure to connect (refused, DNS, TLS) as a status 400 of its own.
  const unreachable = /^Error, status 400: (.*)$/.exec(message);
  if (unreachable) return new RegistryError(`cannot reach ${where} while ${doing}: ${unreachable[1]}`);
  return new RegistryError(`${where} refused ${doing}${e?.status ? ` (HTTP ${e.status})` : ''}: ${message}`);
}

/**
 * The id a producer writes in front of `file`'s values on `topics`: without a registry the one
 * schemas/ids.json gives it; with one, the id the registry gives the schema under each topic's
 * subject (the same schema text has one id in a registry, whatever the subject). Not registered
 * under one of them: a RegistryError that says to run `fraudscore topics --register`.
 */
export async function writerId(registry: Registry | undefined, topics: readonly string[], file: string): Promise<number> {
  if (!registry) return schemaIdOf(file);
  const schema = registrySchema(file);
  const ids = await Promise.all(
    topics.map(async (topic) => {
      const subject = subjectOf(topic);
      try {
        return await withinMs(registry.client.getRegistryIdBySchema(subject, schema), REQUEST_TIMEOUT_MS);
      } catch (err) {
        // The client turns the registry's 404 (no such subject, or not this schema) into an error without a status.
        if ((err as Error)?.name === 'ConfluentSchemaRegistryError') {
          throw new RegistryError(`schemas/${file} is not registered under subject ${subject} in the schema registry at ${REGISTRY_URL}=${registry.settings.url}: register the project's schemas with \`fraudscore topics --register\``);
        }
        throw registryFailure(registry, `looking up the id of schemas/${file} under ${subject}`, err);
      }
    }),
  );
  const distinct = [...new Set(ids)];
  if (distinct.length > 1) throw new RegistryError(`schemas/${file} has different ids under ${topics.map(subjectOf).join(', ')} (${ids.join(', ')}); one id is written to all of them`);
  return distinct[0]!;
}
