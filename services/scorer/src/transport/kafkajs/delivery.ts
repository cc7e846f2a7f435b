/**
 * The sink port (sink/delivery.ts) on kafkajs: at-least-once with one idempotent producer,
 * exactly-once with one transactional producer per input partition.
 */
import type { Consumer, Producer, Transaction } from 'kafkajs';
import { NO_CRASH, type CrashPoints } from '../../crash-points.js';
import type { NextOffset } from '../../source/commit-schedule.js';
import type { TopicMessages } from '../../sink/messages.js';

/**
 * `deliver` sends a chunk's outputs and, when given the next offset, commits the partition's
 * position up to it (source/commit-schedule.ts decides when). Between commits:
 * at-least-once: outputs are produced (acks=all, idempotent) and acknowledged at once; the
 * commit of the next offset follows later. A crash before it re-scores those chunks after
 * restart: outputs may repeat, never go missing.
 */
export interface Delivery {
  readonly mode: 'at-least-once' | 'exactly-once';
  /**
   * Sends outputs; with `commit`, also commits the partition's position up to it. Resolves
   * true when that commit happened, false when the group was rebalancing and the commit was
   * left for later (at-least-once only: the partition stays uncommitted, see GROUP_REBALANCING).
   */
  deliver(partition: number, outputs: TopicMessages[], commit?: NextOffset): Promise<boolean>;
  /**
   * A new assignment. `discard` lists partitions whose uncommitted outputs must not commit
   * (their chunks will be scored again from the committed position).
   */
  assign(partitions: readonly number[], discard: readonly number[]): Promise<void>;
  close(): Promise<void>;
}

/** kafkajs error types of an offset commit refused because the group is (re)forming. */
const GROUP_REBALANCING = new Set(['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID', 'NOT_COORDINATOR_FOR_GROUP']);

export function atLeastOnceDelivery(producer: Producer, consumer: Consumer, crash: CrashPoints = NO_CRASH): Delivery {
  return {
    mode: 'at-least-once',
    async deliver(_partition, outputs, commit) {
      if (outputs.length) await producer.sendBatch({ topicMessages: outputs, acks: -1 });
      if (!commit) return false;
      crash.hit('after-send-before-offsets');
      try {
        await consumer.commitOffsets([commit]);
        return true;
      } catch (err) {
        // The outputs are out; the position is not. After the rejoin the partition is read
        // again from its committed offset (repeats, never losses) and its state reloaded.
        if (GROUP_REBALANCING.has((err as { type?: string }).type ?? '')) return false;
        throw err;
      }
    },
    // Outputs already sent stay sent (at-least-once): the re-scored chunks repeat them.
    assign: async () => {},
    close: () => producer.disconnect(),
  };
}

/**
 * exactly-once: one transactional producer per input partition, with a transactional id
 * derived from group, topic and partition. kafkajs's sendOffsets carries no group generation
 * (no KIP-447 fencing), so fencing comes from the id instead: whoever owns the partition next
 * initialises the same id, which bumps the epoch and fences a zombie's producer; its open
 * transaction is aborted. A partition's transaction stays open across chunks until the
 * commit: its outputs, changelog records and next offset commit together or not at all. Any
 * failure is fatal for the process: in-memory state may be ahead of what committed, so the
 * scorer exits and restarts from the committed state.
 */
export function exactlyOnceDelivery(opts: {
  producerFor: (transactionalId: string) => Producer;
  groupId: string;
  topic: string;
  crash?: CrashPoints;
}): Delivery {
  const producers = new Map<number, Promise<Producer>>();
  /** The open transaction of each partition with uncommitted outputs. */
  const open = new Map<number, Transaction>();
  /** A rebalance's aborts, awaited before anything else is sent. */
  let settling: Promise<void> = Promise.resolve();
  const crash = opts.crash ?? NO_CRASH;
  const idOf = (p: number) => `${opts.groupId}.${opts.topic}.${p}`;

  const abortOpen = async (p: number): Promise<void> => {
    const txn = open.get(p);
    open.delete(p);
    await txn?.abort();
  };

  const openProducer = (p: number): Promise<Producer> => {
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
    assign(partitions, discard) {
      // Open the new ones first (synchronously registered), so a batch arriving right after
      // the join finds its producer; abort what must not commit; let go of the revoked ones
      // (their open transactions are aborted by the next owner's producer, same id).
      const opening = partitions.map(openProducer);
      const keep = new Set(partitions);
      const aborting = discard.filter((p) => keep.has(p)).map((p) => abortOpen(p));
      const closing = [...producers].filter(([p]) => !keep.has(p)).map(async ([p, ready]) => {
        producers.delete(p);
        open.delete(p);
        await (await ready).disconnect().catch(() => {});
      });
      const done = Promise.all([...opening, ...aborting, ...closing]).then(() => {});
      settling = done.catch(() => {});
      return done;
    },
    async deliver(partition, outputs, commit) {
      await settling;
      // Never re-open a producer for a partition we no longer own: its id would fence the new owner.
      const ready = producers.get(partition);
      if (!ready) throw new Error(`partition ${partition} is not assigned to this instance; refusing to write for it`);
      const producer = await ready;
      let txn = open.get(partition);
      if (!txn) {
        txn = await producer.transaction();
        open.set(partition, txn);
      }
      try {
        if (outputs.length) await txn.sendBatch({ topicMessages: outputs, acks: -1 });
        if (!commit) return false;
        open.delete(partition);
        crash.hit('after-send-before-offsets');
        await txn.sendOffsets({ consumerGroupId: opts.groupId, topics: [{ topic: commit.topic, partitions: [{ partition: commit.partition, offset: commit.offset }] }] });
        crash.hit('after-offsets-before-commit');
        await txn.commit();
        return true;
      } catch (err) {
        open.delete(partition);
        await txn.abort().catch(() => {});
        throw err;
      }
    },
    async close() {
      const all = [...producers.values()];
      producers.clear();
      open.clear();
      await Promise.all(all.map(async (ready) => (await ready).disconnect().catch(() => {})));
    },
  };
}
