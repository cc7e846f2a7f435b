/**
 * How a chunk's outputs and its consumed offset reach Kafka.
 *
 * at-least-once: produce (acks=all, idempotent) and wait for the acknowledgement, then commit
 * the next offset to read. A crash between the two re-scores the chunk after restart: outputs
 * may repeat, never go missing.
 */
import type { Consumer, Producer } from 'kafkajs';
import { NO_CRASH, type CrashPoints } from '../crash-points.js';
import type { TopicMessages } from './messages.js';

/** The next position to read after a chunk: last offset + 1 (Kafka's commit convention). */
export interface NextOffset {
  topic: string;
  partition: number;
  offset: string;
}

export interface Delivery {
  readonly mode: 'at-least-once' | 'exactly-once';
  deliver(partition: number, outputs: TopicMessages[], next: NextOffset): Promise<void>;
  close(): Promise<void>;
}

export function atLeastOnceDelivery(producer: Producer, consumer: Consumer, crash: CrashPoints = NO_CRASH): Delivery {
  return {
    mode: 'at-least-once',
    async deliver(_partition, outputs, next) {
      if (outputs.length) await producer.sendBatch({ topicMessages: outputs, acks: -1 });
      crash.hit('after-send-before-offsets');
      await consumer.commitOffsets([next]);
    },
    close: () => producer.disconnect(),
  };
}

/**
 * exactly-once: one transactional producer per input partition, with a transactional id
 * derived from group, topic and partition. kafkajs's sendOffsets carries no group generation
 * (no KIP-447 fencing), so fencing comes from the id instead: whoever owns the partition next
 * initialises the same id, which bumps the epoch and fences a zombie's producer; its open
 * transaction is aborted. A chunk's outputs, changelog records and next offset commit
 * together or not at all. Any failure is fatal for the process: in-memory state may be ahead
 * of what committed, so the scorer exits and restarts from the committed state.
 */
export function exactlyOnceDelivery(opts: {
  producerFor: (transactionalId: string) => Producer;
  groupId: string;
  topic: string;
  crash?: CrashPoints;
}): Delivery & { assign(partitions: readonly number[]): Promise<void> } {
  const producers = new Map<number, Promise<Producer>>();
  const crash = opts.crash ?? NO_CRASH;
  const idOf = (p: number) => `${opts.groupId}.${opts.topic}.${p}`;

  const open = (p: number): Promise<Producer> => {
    let ready = producers.get(p);
    if (!ready) {
      const producer = opts.producerFor(idOf(p));
      ready = producer.connect().then(() => producer);
      producers.set(p, ready);
    }
    return ready;
  };

  return {
    mode: 'exactly-once',
    async assign(partitions) {
      // Open the new ones first (synchronously registered), so a batch arriving right after
      // the join finds its producer; then let go of the revoked ones.
      const opening = partitions.map(open);
      const keep = new Set(partitions);
      for (const [p, ready] of [...producers]) {
        if (keep.has(p)) continue;
        producers.delete(p);
        await (await ready).disconnect().catch(() => {});
      }
      await Promise.all(opening);
    },
    async deliver(partition, outputs, next) {
      // Never re-open a producer for a partition we no longer own: its id would fence the new owner.
      const ready = producers.get(partition);
      if (!ready) throw new Error(`partition ${partition} is not assigned to this instance; refusing to write for it`);
      const producer = await ready;
      const txn = await producer.transaction();
      try {
        if (outputs.length) await txn.sendBatch({ topicMessages: outputs, acks: -1 });
        crash.hit('after-send-before-offsets');
        await txn.sendOffsets({ consumerGroupId: opts.groupId, topics: [{ topic: next.topic, partitions: [{ partition: next.partition, offset: next.offset }] }] });
        crash.hit('after-offsets-before-commit');
        await txn.commit();
      } catch (err) {
        await txn.abort().catch(() => {});
        throw err;
      }
    },
    async close() {
      const all = [...producers.values()];
      producers.clear();
      await Promise.all(all.map(async (ready) => (await ready).disconnect().catch(() => {})));
    },
  };
}
