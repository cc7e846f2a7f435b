/**
 * @confluentinc/kafka-javascript's native (node-rdkafka) API, loaded only when the librdkafka
 * transport is chosen, with its callback calls as promises and the client settings the scorer
 * uses. Its KafkaJS-compatible layer is not used: awaited sends through it measured 13×
 * slower than kafkajs (issue 11); the native API moves records at twice kafkajs's rate.
 */
import { createRequire } from 'node:module';
import type * as Rdkafka from '@confluentinc/kafka-javascript';
import { librdkafkaSecurity, type KafkaSecurity } from '../../../../common/src/kafka-security.js';
import type { Logger } from '../../telemetry/log.js';

export type { Rdkafka };
export type RdkafkaModule = typeof Rdkafka;
export type RdkafkaError = Rdkafka.LibrdKafkaError;

let loaded: RdkafkaModule | undefined;

/** The addon; a clear error when it was not built (see deploy/local/install.sh). */
export function loadRdkafka(): RdkafkaModule {
  if (loaded) return loaded;
  try {
    loaded = createRequire(import.meta.url)('@confluentinc/kafka-javascript') as RdkafkaModule;
  } catch (err) {
    throw new Error(`FRAUD_KAFKA_CLIENT=librdkafka, but @confluentinc/kafka-javascript does not load (${(err as Error).message}); install with deploy/local/install.sh, or use FRAUD_KAFKA_CLIENT=kafkajs`);
  }
  return loaded;
}

/** Error codes the transport tells apart. */
export function codes(): RdkafkaModule['CODES']['ERRORS'] {
  return loadRdkafka().CODES.ERRORS;
}

let names: Map<number, string> | undefined;
let namesByText: Map<string, string> | undefined;

/** librdkafka's name of an error code (ERR__TRANSPORT, ERR_NOT_COORDINATOR, …). */
export function errorName(code: number): string {
  names ??= new Map(Object.entries(codes()).map(([name, c]) => [c as number, name]));
  return names.get(code) ?? `ERR_${code}`;
}

/** Client errors that end the client: nothing it sends any more can succeed. */
const FATAL = new Set(['ERR__FATAL', 'ERR__FENCED']);

/**
 * What a client error event is. The addon passes those events on as text only (its error
 * code and fatal flag are lost: code -1), so the name is found again from librdkafka's own
 * text for each code, as the addon's error class shortens it ("Local: Fatal error" → "fatal
 * error").
 */
export function classifyClientError(err: RdkafkaError): { name: string; fatal: boolean } {
  let name: string;
  if (typeof err.code === 'number' && err.code !== -1) name = errorName(err.code);
  else {
    if (!namesByText) {
      const err2str = createRequire(import.meta.url)('@confluentinc/kafka-javascript/librdkafka.js').err2str as (code: number) => string;
      const shortText = (text: string) => (text.split(': ')[1] ?? text).toLowerCase();
      namesByText = new Map(Object.entries(codes()).map(([n, c]) => [shortText(err2str(c as number)), n]));
    }
    name = namesByText.get(err.message.toLowerCase()) ?? 'ERR_UNKNOWN';
  }
  return { name, fatal: err.isFatal === true || FATAL.has(name) };
}

/**
 * Consumer methods the addon has (lib/kafka-consumer.js) but its type declarations lack:
 * an awaitable commit, whether a revocation is a loss, and a `consume` that returns as soon
 * as records are there instead of waiting the full timeout for each one.
 */
export interface ConsumerExtras {
  commitCb(offsets: Rdkafka.TopicPartitionOffset[], cb: (err: RdkafkaError | null) => void): void;
  assignmentLost(): boolean;
  setDefaultIsTimeoutOnlyForFirstMessage(value: boolean): void;
}

export function extras(consumer: Rdkafka.KafkaConsumer): ConsumerExtras {
  return consumer as unknown as ConsumerExtras;
}

/** A callback-style librdkafka call as a promise (rejects with the LibrdKafkaError). */
export function call(fn: (cb: (err: RdkafkaError | null | undefined) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => fn((err) => (err ? reject(toError(err)) : resolve())));
}

/** LibrdKafkaError is a plain object with a message: make it an Error that keeps its code. */
export function toError(err: RdkafkaError | Error): Error & { code?: number; isFatal?: boolean; isTxnRequiresAbort?: boolean } {
  if (err instanceof Error) return err;
  return Object.assign(new Error(`${err.message} (librdkafka code ${err.code})`), { code: err.code, isFatal: err.isFatal, isTxnRequiresAbort: err.isTxnRequiresAbort });
}

export interface ClientSettings {
  brokers: readonly string[];
  clientId: string;
  security: KafkaSecurity;
  log: Logger;
}

/**
 * Settings every client of ours gets. librdkafka's own log lines go to our logger (event.log):
 * syslog severities 0–3 are errors, 4 warnings (a broker connection lost and retried), and
 * 5–7 notices and debug, so that ERROR in our logs means something is wrong.
 */
export function commonConfig(s: ClientSettings): Record<string, string | number | boolean> {
  return {
    'bootstrap.servers': s.brokers.join(','),
    'client.id': s.clientId,
    event_cb: true,
    'log.connection.close': false,
    ...librdkafkaSecurity(s.security),
  };
}

/** Experimental librdkafka settings the transport relies on knowingly (see delivery.ts). */
const DELIBERATE = /\benable\.gapless\.guarantee\b/;

/** Routes a client's log and error events to the logger; `onError` sees every client error. */
export function routeEvents(client: Rdkafka.Producer | Rdkafka.KafkaConsumer, s: ClientSettings, role: string, onError: (err: RdkafkaError) => void): void {
  const logger = s.log.child({ kafka: `librdkafka.${role}` });
  const events = client as unknown as { on(event: string, listener: (...args: never[]) => void): void };
  events.on('event.log', (e: { severity: number; fac: string; message: string }) => {
    const fields = { fac: e.fac };
    if (e.severity <= 3) logger.error(fields, e.message);
    // A warning about an experimental setting we chose on purpose (delivery.ts) says nothing new.
    else if (e.severity === 4 && !(e.fac === 'CONFWARN' && DELIBERATE.test(e.message))) logger.warn(fields, e.message);
    else if (e.severity === 5) logger.info(fields, e.message);
    else logger.debug(fields, e.message);
  });
  events.on('event.error', onError);
}

/** Connects a client (metadata for no topic: fast), rejecting with a clear error. */
export function connect(client: Rdkafka.Producer | Rdkafka.KafkaConsumer, timeoutMs = 30_000): Promise<void> {
  return new Promise((resolve, reject) => {
    client.connect({ timeout: timeoutMs, allTopics: false }, (err) => (err ? reject(toError(err)) : resolve()));
  });
}

export function disconnect(client: Rdkafka.Producer | Rdkafka.KafkaConsumer, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve) => {
    if (!client.isConnected()) return resolve();
    const timer = setTimeout(resolve, timeoutMs);
    client.disconnect(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
