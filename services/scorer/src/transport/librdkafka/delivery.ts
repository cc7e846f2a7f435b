/**
 * Outputs and positions through one librdkafka producer per instance.
 *
 * `send` enqueues a chunk's outputs (librdkafka batches, compresses nothing and acknowledges
 * in its own threads) and calls back when every one is acknowledged; `commit` makes a set of
 * positions durable together with the state records written with them:
 * - exactly-once: everything sent since the last commit sits in one transaction; commit adds
 *   the state records, the positions (sendOffsetsToTransaction with the consumer's group
 *   metadata: the broker refuses them from a member of an older generation, KIP-447, so a
 *   zombie cannot commit) and ends the transaction. One producer per instance is enough: the
 *   fencing comes from the group generation, not from a transactional id per partition.
 * - at-least-once: commit waits until everything sent is acknowledged (state records too),
 *   then commits the positions; a crash before that re-scores, never loses.
 */
import { NO_CRASH, type CrashPoints } from '../../crash-points.js';
import type { OutMessage, TopicMessages } from '../../sink/messages.js';
import type { NextOffset } from '../../source/commit-schedule.js';
import { call, codes, extras, toError, type Rdkafka } from './native.js';

export interface RdkafkaDelivery {
  readonly mode: 'at-least-once' | 'exactly-once';
  /** Enqueues outputs; `acked` runs once all of them are acknowledged by the broker. */
  send(outputs: readonly TopicMessages[], acked?: () => void): Promise<void>;
  /** Makes the positions durable, with the state records (written first, in the same commit). */
  commit(positions: readonly NextOffset[], state: readonly TopicMessages[]): Promise<void>;
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
  /** A delivery failed: outputs may be missing, so nothing may commit past them. */
  onFailure(err: Error): void;
}

/** A chunk waiting for its acknowledgements. */
interface Ack {
  remaining: number;
  done?: () => void;
}

export function createRdkafkaDelivery(o: RdkafkaDeliveryOptions): RdkafkaDelivery {
  const { producer, consumer } = o;
  const crash = o.crash ?? NO_CRASH;
  const ERR = codes();
  let inTransaction = false;
  let outstanding = 0;
  let idle: (() => void)[] = [];
  let failed: Error | undefined;

  producer.on('delivery-report', (err, report) => {
    outstanding--;
    if (err) {
      failed ??= toError(err);
      o.onFailure(failed);
    } else {
      const ack = report.opaque as Ack | undefined;
      if (ack && --ack.remaining === 0) ack.done?.();
    }
    if (outstanding === 0) {
      const waiting = idle;
      idle = [];
      for (const resolve of waiting) resolve();
    }
  });

  const allAcknowledged = async (): Promise<void> => {
    if (outstanding > 0) await new Promise<void>((resolve) => idle.push(resolve));
    if (failed) throw failed;
  };

  /** Enqueues one message; false when librdkafka's local queue is full (nothing was enqueued). */
  const tryProduce = (topic: string, m: OutMessage, ack: Ack | undefined): boolean => {
    const headers = Object.entries(m.headers).map(([k, v]) => ({ [k]: v }));
    try {
      producer.produce(topic, m.partition ?? null, m.value, m.key, null, ack, headers);
    } catch (err) {
      if ((err as { code?: number }).code === ERR.ERR__QUEUE_FULL) return false;
      throw toError(err as Error);
    }
    outstanding++;
    return true;
  };

  const produceAll = async (outputs: readonly TopicMessages[], ack: Ack | undefined): Promise<void> => {
    for (const t of outputs) {
      for (const m of t.messages) {
        // A full queue: wait for acknowledgements to drain it (never drop, never block the loop).
        while (!tryProduce(t.topic, m, ack)) await new Promise((r) => setTimeout(r, 2));
      }
    }
  };

  const begin = async () => {
    if (!o.exactlyOnce || inTransaction) return;
    await call((cb) => producer.beginTransaction(cb));
    inTransaction = true;
  };

  return {
    mode: o.exactlyOnce ? 'exactly-once' : 'at-least-once',
    async send(outputs, acked) {
      if (failed) throw failed;
      await begin();
      let n = 0;
      for (const t of outputs) n += t.messages.length;
      if (n === 0) {
        acked?.();
        return;
      }
      await produceAll(outputs, { remaining: n, done: acked });
    },
    async commit(positions, state) {
      if (failed) throw failed;
      if (positions.length === 0 && !inTransaction) return;
      await begin();
      await produceAll(state, undefined);
      const offsets = positions.map((p) => ({ topic: p.topic, partition: p.partition, offset: Number(p.offset) }));
      if (o.exactlyOnce) {
        try {
          crash.hit('after-send-before-offsets');
          if (offsets.length) await call((cb) => producer.sendOffsetsToTransaction(offsets, consumer, o.timeoutMs, cb));
          crash.hit('after-offsets-before-commit');
          await call((cb) => producer.commitTransaction(o.timeoutMs, cb));
          inTransaction = false;
        } catch (err) {
          await this.abort().catch(() => {});
          throw err;
        }
      } else {
        await allAcknowledged();
        crash.hit('after-send-before-offsets');
        if (offsets.length) await call((cb) => extras(consumer).commitCb(offsets, cb));
      }
    },
    async abort() {
      if (!inTransaction) return;
      inTransaction = false;
      await call((cb) => producer.abortTransaction(o.timeoutMs, cb));
    },
    async close() {
      if (inTransaction) await this.abort().catch(() => {});
    },
  };
}
