/**
 * Publishes an event stream to Kafka: transactions keyed by card token (a card's history
 * stays in one partition), outcomes keyed by terminal id, values Avro-encoded.
 *
 * Why these producer settings:
 *   - idempotent + acks -1: a retried batch is not written twice;
 *   - DefaultPartitioner (murmur2, Java-compatible), so keys land where other clients put them;
 *   - one send in flight by default: kafkajs rolls a failed batch's sequence back and lets the
 *     next batch take it, so with several in flight a retry can reorder batches, and the
 *     scorer wants each card's transactions (and the outcomes) in order. Encoding the next
 *     batch still overlaps the broker's work on the current one;
 *   - message timestamps are left to the broker clock: setting them to simulated event times
 *     (2018) would make time-based retention delete the data at once.
 * Every message carries `fs-published-at` (epoch ms) for publish-to-decision latency.
 */
import { Partitioners, type Kafka, type Message, type TopicMessages } from 'kafkajs';
import { propagation, ROOT_CONTEXT, SpanKind, trace, type Span, type Tracer } from '@opentelemetry/api';
import type { SchemaRegistry, WireFormat } from '../../common/src/avro.js';
import { createCodecs, type Transaction } from '../../common/src/contracts.js';
import { TOPICS } from '../../common/src/kafka.js';
import type { OutcomeEvent } from './generator.js';
import { createTokenBucket, sleep } from './pacing.js';
import { emptyStats, type EventStats } from './stats.js';

export const PUBLISHED_AT_HEADER = 'fs-published-at';

/** A simulator event, or a transaction without a label (from a user's file). */
export type PublishableEvent = { kind: 'transaction'; tx: Transaction; isFraud?: boolean } | OutcomeEvent;

export interface PublishOptions {
  /** Value framing. Default 'confluent'. */
  format?: WireFormat;
  registry?: SchemaRegistry;
  /**
   * Writer ids put in front of the values ('confluent'): a schema registry's
   * (services/common/src/registry-codecs.ts `writerIds`); default schemas/ids.json's.
   */
  schemaIds?: { transaction?: number; outcome?: number };
  /** Topic names; default TOPICS.transactions and TOPICS.outcomes. */
  topics?: { transactions?: string; outcomes?: string };
  /** Events (transactions + outcomes) per second, in wall time. Undefined: as fast as possible. */
  rate?: number;
  /** Stop after this many events (transactions + outcomes). */
  maxEvents?: number;
  /** Stop after this much wall time. */
  durationMs?: number;
  /** Stop early; what was queued is still sent, and the call resolves (no error). */
  signal?: AbortSignal;
  /** Called with acknowledged counts at most every progressIntervalMs, and once at the end. */
  onProgress?: (stats: PublishStats) => void;
  progressIntervalMs?: number;
  /** Messages per sendBatch. Default 500. */
  batchSize?: number;
  /** sendBatch calls in flight. Default 1 (see the header comment about ordering). */
  maxInFlight?: number;
  /**
   * Traces transactions: a PRODUCER span per message (sampled by the tracer's provider),
   * whose W3C traceparent goes into the message headers so the scorer continues the trace.
   */
  tracer?: Tracer;
}

export type StopReason = 'end' | 'maxEvents' | 'duration' | 'signal';

export interface PublishStats extends EventStats {
  stoppedBy: StopReason;
}

interface Pending {
  tx: Message[];
  outcomes: Message[];
  frauds: number;
}

const newPending = (): Pending => ({ tx: [], outcomes: [], frauds: 0 });

/** Publishes `events` in order; resolves with acknowledged counts once all sends are done. */
export async function publishEvents(
  kafka: Kafka,
  events: Iterable<PublishableEvent> | AsyncIterable<PublishableEvent>,
  opts: PublishOptions = {},
): Promise<PublishStats> {
  const codecs = createCodecs(opts.format ?? 'confluent', opts.registry, opts.schemaIds);
  const txTopic = opts.topics?.transactions ?? TOPICS.transactions;
  const outcomeTopic = opts.topics?.outcomes ?? TOPICS.outcomes;
  const batchSize = positiveInt('batchSize', opts.batchSize ?? 500);
  const maxInFlight = positiveInt('maxInFlight', opts.maxInFlight ?? 1);
  const maxEvents = opts.maxEvents ?? Infinity;
  const durationMs = opts.durationMs ?? Infinity;
  const progressEvery = opts.progressIntervalMs ?? 250;
  const { signal } = opts;
  const bucket = opts.rate === undefined ? undefined : createTokenBucket({ rate: opts.rate });

  const producer = kafka.producer({ idempotent: true, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();

  const started = performance.now();
  const stats: PublishStats = { ...emptyStats(), stoppedBy: 'end' };
  const elapsed = (): number => performance.now() - started;
  const inFlight = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  let pending = newPending();
  let queued = 0;
  let lastProgress = 0;

  const report = (force: boolean): void => {
    if (!opts.onProgress) return;
    const t = elapsed();
    if (!force && t - lastProgress < progressEvery) return;
    lastProgress = t;
    opts.onProgress({ ...stats, elapsedMs: t });
  };

  /** Sends what is pending, then waits while too many sends are in flight. */
  const flush = async (): Promise<void> => {
    if (pending.tx.length + pending.outcomes.length > 0) {
      const batch = pending;
      pending = newPending();
      // Stamped at send time, so the header measures from hand-off to Kafka.
      const headers = { [PUBLISHED_AT_HEADER]: String(Date.now()) };
      const topicMessages: TopicMessages[] = [];
      const spans: Span[] = [];
      if (batch.tx.length > 0) {
        topicMessages.push({ topic: txTopic, messages: batch.tx.map((m) => ({ ...m, headers: traceHeaders(opts.tracer, txTopic, headers, spans) })) });
      }
      if (batch.outcomes.length > 0) topicMessages.push({ topic: outcomeTopic, messages: batch.outcomes.map((m) => ({ ...m, headers })) });
      const send: Promise<void> = producer.sendBatch({ topicMessages, acks: -1 }).then(
        () => {
          for (const span of spans) span.end();
          stats.transactions += batch.tx.length;
          stats.outcomes += batch.outcomes.length;
          stats.frauds += batch.frauds;
        },
        (error: unknown) => {
          failure ??= { error };
        },
      ).finally(() => inFlight.delete(send));
      inFlight.add(send);
    }
    while (inFlight.size >= maxInFlight) await Promise.race(inFlight);
    if (failure) throw failure.error;
    report(false);
  };

  const stopReason = (): StopReason | undefined => {
    if (signal?.aborted) return 'signal';
    if (queued >= maxEvents) return 'maxEvents';
    if (elapsed() >= durationMs) return 'duration';
    return undefined;
  };

  try {
    loop: for await (const event of events) {
      let stop = stopReason();
      if (stop) {
        stats.stoppedBy = stop;
        break;
      }
      if (bucket) {
        for (let wait = bucket.take(); wait > 0; wait = bucket.take()) {
          // About to idle: send what we have, so low rates are not held back by batching.
          await flush();
          await sleep(Math.min(wait, Math.max(0, durationMs - elapsed())), signal);
          stop = stopReason();
          if (stop) {
            stats.stoppedBy = stop;
            break loop;
          }
        }
      }
      if (event.kind === 'transaction') {
        pending.tx.push({ key: event.tx.cardToken, value: codecs.transaction.encode(event.tx) });
        if (event.isFraud) pending.frauds++;
      } else {
        pending.outcomes.push({ key: event.outcome.terminalId, value: codecs.outcome.encode(event.outcome) });
      }
      queued++;
      if (pending.tx.length + pending.outcomes.length >= batchSize) await flush();
    }
    await flush();
    await Promise.all(inFlight);
    if (failure) throw failure.error;
  } finally {
    // On an error, let the other sends settle before disconnecting under them.
    await Promise.allSettled(inFlight);
    await producer.disconnect();
  }
  stats.elapsedMs = elapsed();
  report(true);
  return { ...stats };
}

/** Starts a PRODUCER span for one message; when it is sampled, its context goes into the headers. */
function traceHeaders(tracer: Tracer | undefined, topic: string, base: Record<string, string>, spans: Span[]): Record<string, string> {
  if (!tracer) return base;
  const span = tracer.startSpan(`send ${topic}`, {
    kind: SpanKind.PRODUCER,
    attributes: { 'messaging.system': 'kafka', 'messaging.operation.type': 'send', 'messaging.operation.name': 'send', 'messaging.destination.name': topic },
  });
  if (!span.isRecording()) return base;
  spans.push(span);
  const headers = { ...base };
  propagation.inject(trace.setSpan(ROOT_CONTEXT, span), headers);
  return headers;
}

function positiveInt(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}
