/**
 * Outputs and positions through one librdkafka producer per instance.
 *
 * `send` only enqueues (librdkafka batches and acknowledges in its own threads); `flush` waits
 * until everything enqueued is acknowledged; `commit` makes a set of positions durable together
 * with the state records written with them:
 * - exactly-once: everything sent since the last commit sits in one transaction; commit adds
 *   the state records, waits for the outputs to be on the broker, adds the positions
 *   (sendOffsetsToTransaction with the consumer's group metadata: the broker refuses them from
 *   a member of an older generation, KIP-447, so a zombie cannot commit) and ends the
 *   transaction. One producer per instance is enough: the fencing comes from the group
 *   generation, not from a transactional id per partition.
 * - at-least-once: commit waits until everything sent is acknowledged (state records too),
 *   then commits the positions; a crash before that re-scores, never loses.
 *
 * No delivery reports. What was measured here (deploy/local broker, Node 24): a report per
 * message costs the event loop ~4 µs, and served by a 1 ms poll timer it made the live
 * at-least-once scorer CPU-bound at under 12,000 events/s; with failure-only reports
 * (delivery.report.only.error) librdkafka's flush() — which every transaction commit runs too —
 * sleeps in 10 ms steps (a commit took 11 ms instead of 2.3 ms). Without them, a flush takes
 * 0.4 ms, and failures still surface: exactly-once, the transaction's commit fails if any of
 * its messages did; at-least-once, the idempotent producer's gapless guarantee makes any
 * message failure a fatal client error (messages never time out on their own; a flush that
 * does fails the delivery), checked after every flush before anything counts as delivered.
 */
import { NO_CRASH, type CrashPoints } from '../../crash-points.js';
import type { TopicMessages } from '../../sink/messages.js';
import type { NextOffset } from '../../source/commit-schedule.js';
import { call, classifyClientError, codes, extras, toError, type Rdkafka, type RdkafkaError } from './native.js';

export interface RdkafkaDelivery {
  readonly mode: 'at-least-once' | 'exactly-once';
  /** Enqueues outputs (exactly-once: into the open transaction, begun if none is). */
  send(outputs: readonly TopicMessages[]): Promise<void>;
  /** Resolves once everything enqueued so far is acknowledged by the broker; rejects if any failed. */
  flush(): Promise<void>;
  /**
   * Makes the positions durable, with the state records (written first, in the same commit).
   * False when an at-least-once offset commit was refused because the group is rebalancing:
   * the positions stay uncommitted (their records are read again by whoever owns them next).
   */
  commit(positions: readonly NextOffset[], state: readonly TopicMessages[]): Promise<boolean>;
  /** Exactly-once: drops what was sent since the last commit (an open transaction is aborted). */
  abort(): Promise<void>;
  close(): Promise<void>;
}

export interface RdkafkaDeliveryOptions {
  producer: Rdkafka.Producer;
  consumer: Rdkafka.KafkaConsumer;
  exactlyOnce: boolean;
  /** Bound on each transaction call and on waiting for acknowledgements. */
  timeoutMs: number;
  crash?: CrashPoints;
}

/** Producer settings this delivery relies on (see above). */
export function deliveryProducerConfig(exactlyOnce: boolean): Record<string, boolean | number> {
  return exactlyOnce ? {} : { 'enable.gapless.guarantee': true, 'message.timeout.ms': 0 };
}

export function createRdkafkaDelivery(o: RdkafkaDeliveryOptions): RdkafkaDelivery {
  const { producer, consumer } = o;
  const crash = o.crash ?? NO_CRASH;
  const ERR = codes();
  /** Offset-commit errors of a group that is (re)forming: at-least-once leaves the commit for later. */
  const rebalancing = [ERR.ERR_REBALANCE_IN_PROGRESS, ERR.ERR_ILLEGAL_GENERATION, ERR.ERR_UNKNOWN_MEMBER_ID, ERR.ERR__ASSIGNMENT_LOST, ERR.ERR__STATE];
  let inTransaction = false;
  let failed: Error | undefined;

  // A fatal producer error (at-least-once: a message failed, see above) fails every later call.
  (producer as unknown as { on(e: 'event.error', l: (err: RdkafkaError) => void): void }).on('event.error', (err) => {
    if (classifyClientError(err).fatal) failed ??= toError(err);
  });

  /** Enqueues one message; false when librdkafka's local queue is full (nothing was enqueued). */
  const tryProduce = (topic: string, m: TopicMessages['messages'][number]): boolean => {
    const entries = Object.entries(m.headers);
    const headers = entries.length ? entries.map(([k, v]) => ({ [k]: v })) : undefined;
    try {
      producer.produce(topic, m.partition ?? null, m.value, m.key, null, undefined, headers);
    } catch (err) {
      if ((err as { code?: number }).code === ERR.ERR__QUEUE_FULL) return false;
      throw toError(err as Error);
    }
    return true;
  };

  const produceAll = async (outputs: readonly TopicMessages[]): Promise<void> => {
    for (const t of outputs) {
      for (const m of t.messages) {
        // A full queue: wait for acknowledgements to drain it (never drop, never block the loop).
        while (!tryProduce(t.topic, m)) await new Promise((r) => setTimeout(r, 2));
      }
    }
  };

  const flush = async (): Promise<void> => {
    await call((cb) => producer.flush(o.timeoutMs, cb));
    // Serve the client's events now (a fatal error raised while flushing) before anything
    // counts as delivered; the addon hands them to JS on the next turn of the event loop.
    producer.poll();
    await new Promise(setImmediate);
    if (failed) throw failed;
  };

  const begin = async () => {
    if (!o.exactlyOnce || inTransaction) return;
    await call((cb) => producer.beginTransaction(cb));
    inTransaction = true;
  };

  const abort = async () => {
    if (!inTransaction) return;
    inTransaction = false;
    await call((cb) => producer.abortTransaction(o.timeoutMs, cb));
  };

  return {
    mode: o.exactlyOnce ? 'exactly-once' : 'at-least-once',
    async send(outputs) {
      if (failed) throw failed;
      if (outputs.length === 0) return;
      await begin();
      await produceAll(outputs);
    },
    flush,
    async commit(positions, state) {
      if (failed) throw failed;
      if (positions.length === 0 && !inTransaction) return true;
      await begin();
      await produceAll(state);
      const offsets = positions.map((p) => ({ topic: p.topic, partition: p.partition, offset: Number(p.offset) }));
      try {
        // The outputs are on the broker before the positions go anywhere: the transaction's
        // commit would wait for them anyway, and a crash from here on leaves them behind.
        // (The caller enqueues nothing meanwhile, so the flush ends.)
        await flush();
        crash.hit('after-send-before-offsets');
        if (o.exactlyOnce) {
          if (offsets.length) await call((cb) => producer.sendOffsetsToTransaction(offsets, consumer, o.timeoutMs, cb));
          crash.hit('after-offsets-before-commit');
          await call((cb) => producer.commitTransaction(o.timeoutMs, cb));
          inTransaction = false;
        } else if (offsets.length) {
          await call((cb) => extras(consumer).commitCb(offsets, cb));
        }
        return true;
      } catch (err) {
        if (o.exactlyOnce) await abort().catch(() => {});
        else if (rebalancing.includes((err as { code?: number }).code ?? 0)) return false;
        throw err;
      }
    },
    abort,
    async close() {
      await abort().catch(() => {});
    },
  };
}
