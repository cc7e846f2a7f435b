/**
 * The gateway's side of request-reply over Kafka: it reads only the partitions of the replies
 * topic it owns (never every decision of the cluster), and keeps there, beside the scorer's
 * replies, a ledger of its own requests.
 *
 * - A request is published to `transactions` with `fs-reply-partition` (one of its partitions)
 *   and `fs-correlation-id`; in the same produce call a `request` record goes to that reply
 *   partition (key: correlation id, value: the transaction id). The scorer's reply (decision or
 *   dead letter, services/scorer/src/sink/messages.ts) comes to the same partition.
 * - On start the gateway reads its partitions back from LEDGER_WINDOW_MS ago, so after a
 *   restart a client's retry of a request it had published finds it (and its reply, if the
 *   scorer answered meanwhile) instead of publishing the transaction a second time. Ready once
 *   that read reaches the end offsets seen at start.
 * - Nothing is committed: the ledger is the topic itself (retention: one hour), read again on
 *   every start. The consumer group, one per instance, only gives kafkajs its partitions (an
 *   assigner that hands this member exactly the partitions it owns).
 *
 * What remains: the request and its ledger record are sent in one call but are not atomic; a
 * gateway killed between the two writes (a few ms) may publish the transaction again on a
 * retry. And a retry that reaches another gateway instance is a new request there: route
 * retries of a transaction to the same instance (sticky load balancing on the transaction id)
 * where duplicates matter.
 */
import { randomUUID } from 'node:crypto';
import { AssignerProtocol, type Consumer, type Kafka, type PartitionAssigner, type Producer } from 'kafkajs';
import type { Codec } from '../../common/src/avro.js';
import type { RegistryResolver } from '../../common/src/registry-resolver.js';
import type { DeadLetter, Decision, Transaction } from '../../common/src/contracts.js';
import { HEADERS } from '../../scorer/src/sink/messages.js';

/** How far back a starting gateway reads its partitions: retries older than this are new requests. */
export const LEDGER_WINDOW_MS = 15 * 60_000;
const REQUEST_KIND = 'request';

export type Reply = { kind: 'decision'; decision: Decision } | { kind: 'dead-letter'; deadLetter: DeadLetter };

interface Entry {
  correlationId: string;
  transactionId: string;
  reply?: Reply;
  waiters: ((r: Reply) => void)[];
  at: number;
}

export interface ReplyChannelOptions {
  kafka: Kafka;
  transactionsTopic: string;
  repliesTopic: string;
  /** The reply partitions this instance owns. */
  partitions: readonly number[];
  instanceId: string;
  codecs: { transaction: Codec<Transaction>; decision: Codec<Decision>; deadLetter: Codec<DeadLetter> };
  /** With a schema registry: fetches the writer schemas of a batch's replies that are not cached (registry-resolver.ts). */
  prepare?: RegistryResolver['prepare'];
  now?: () => number;
}

export interface Submitted {
  transactionId: string;
  /** False when the transaction was already published (a retry): nothing was sent now. */
  published: boolean;
  /** Resolves with the reply, or undefined once `timeoutMs` passed without one. */
  wait(timeoutMs: number): Promise<Reply | undefined>;
}

export interface ReplyChannel {
  /** Publishes a transaction (once per transaction id within the ledger window) and returns a handle to its reply. */
  submit(tx: Transaction, encoded: Buffer): Promise<Submitted>;
  /** The read-back of the ledger at start has reached the end offsets seen then. */
  ready(): boolean;
  close(): Promise<void>;
}

/** kafkajs consumes only within a group: this assigner gives the (only) member exactly `partitions`. */
function ownedPartitions(topic: string, partitions: readonly number[]): PartitionAssigner {
  return () => ({
    name: 'fraudscore-owned-partitions',
    version: 1,
    async assign({ members }) {
      return members.map((m, i) => ({
        memberId: m.memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 1, assignment: i === 0 ? { [topic]: [...partitions] } : {}, userData: Buffer.alloc(0) }),
      }));
    },
    protocol: ({ topics }) => ({ name: 'fraudscore-owned-partitions', metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: Buffer.alloc(0) }) }),
  });
}

export async function openReplyChannel(o: ReplyChannelOptions): Promise<ReplyChannel> {
  const now = o.now ?? Date.now;
  const byTransaction = new Map<string, Entry>();
  const byCorrelation = new Map<string, Entry>();
  let next = 0;

  const forget = (): void => {
    const before = now() - LEDGER_WINDOW_MS;
    for (const [id, e] of byTransaction) {
      if (e.at >= before) break; // insertion order is time order
      if (e.waiters.length > 0) continue;
      byTransaction.delete(id);
      byCorrelation.delete(e.correlationId);
    }
  };
  const remember = (transactionId: string, correlationId: string, at: number): Entry => {
    const e: Entry = { transactionId, correlationId, waiters: [], at };
    byTransaction.set(transactionId, e);
    byCorrelation.set(correlationId, e);
    return e;
  };
  const settle = (e: Entry, reply: Reply): void => {
    e.reply = reply;
    for (const w of e.waiters.splice(0)) w(reply);
  };

  const producer: Producer = o.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  const consumer: Consumer = o.kafka.consumer({
    groupId: `fraudscore-gateway-${o.instanceId}`,
    partitionAssigners: [ownedPartitions(o.repliesTopic, o.partitions)],
    readUncommitted: false,
    maxWaitTimeInMs: 20,
  });
  const admin = o.kafka.admin();
  await admin.connect();
  let caughtUp: Map<number, bigint>;
  let starts: Map<number, string>;
  try {
    const ends = await admin.fetchTopicOffsets(o.repliesTopic);
    const missing = o.partitions.filter((p) => !ends.some((e) => e.partition === p));
    if (missing.length > 0) throw new Error(`FRAUD_GATEWAY_REPLY_PARTITIONS: ${o.repliesTopic} has no partition ${missing.join(', ')} (it has ${ends.length})`);
    const from = await admin.fetchTopicOffsetsByTimestamp(o.repliesTopic, now() - LEDGER_WINDOW_MS);
    starts = new Map(from.map((p) => [p.partition, p.offset]));
    // Partitions with something to read back before the gateway is ready: [start, end at start).
    caughtUp = new Map(ends.filter((e) => o.partitions.includes(e.partition) && BigInt(starts.get(e.partition) ?? e.high) < BigInt(e.high)).map((e) => [e.partition, BigInt(e.high)]));
  } finally {
    await admin.disconnect();
  }

  await producer.connect();
  await consumer.connect();
  await consumer.subscribe({ topics: [o.repliesTopic], fromBeginning: false });
  // Judged after each batch, markers included (a transactional topic can end with a commit
  // marker that no message handler sees).
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    const end = caughtUp.get(payload.partition);
    if (end !== undefined && BigInt(payload.lastOffset) + 1n >= end) caughtUp.delete(payload.partition);
  });
  consumer.on(consumer.events.GROUP_JOIN, () => {
    for (const p of o.partitions) consumer.seek({ topic: o.repliesTopic, partition: p, offset: starts.get(p) ?? '-1' });
  });
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      const fetching = o.prepare?.(batch.messages, (m) => m.value);
      if (fetching) await fetching;
      for (const m of batch.messages) {
        const correlationId = m.headers?.[HEADERS.correlationId]?.toString();
        const kind = m.headers?.[HEADERS.replyKind]?.toString();
        if (!correlationId || !m.value) continue;
        if (kind === REQUEST_KIND) {
          // The ledger: a request published before (by this instance, maybe before a restart).
          const transactionId = m.value.toString('utf8');
          if (!byTransaction.has(transactionId)) remember(transactionId, correlationId, Number(m.timestamp));
          continue;
        }
        const e = byCorrelation.get(correlationId);
        if (!e || e.reply) continue;
        try {
          if (kind === 'decision') settle(e, { kind: 'decision', decision: o.codecs.decision.decode(m.value) });
          else if (kind === 'dead-letter') settle(e, { kind: 'dead-letter', deadLetter: o.codecs.deadLetter.decode(m.value) });
        } catch {
          // Not a reply this version can read: the request degrades at its deadline.
        }
      }
    },
  });

  return {
    ready: () => caughtUp.size === 0,
    async submit(tx, encoded) {
      forget();
      const known = byTransaction.get(tx.transactionId);
      const entry = known ?? remember(tx.transactionId, randomUUID().replaceAll('-', ''), now());
      if (!known) {
        const partition = o.partitions[next++ % o.partitions.length] as number;
        const headers = { [HEADERS.replyPartition]: String(partition), [HEADERS.correlationId]: entry.correlationId };
        try {
          await producer.sendBatch({
            acks: -1,
            topicMessages: [
              { topic: o.transactionsTopic, messages: [{ key: tx.cardToken, value: encoded, headers }] },
              { topic: o.repliesTopic, messages: [{ partition, key: entry.correlationId, value: Buffer.from(tx.transactionId, 'utf8'), headers: { [HEADERS.correlationId]: entry.correlationId, [HEADERS.replyKind]: REQUEST_KIND } }] },
            ],
          });
        } catch (err) {
          // Not published (as far as we know): a retry may publish it.
          byTransaction.delete(tx.transactionId);
          byCorrelation.delete(entry.correlationId);
          throw err;
        }
      }
      return {
        transactionId: tx.transactionId,
        published: !known,
        wait(timeoutMs) {
          if (entry.reply) return Promise.resolve(entry.reply);
          return new Promise((resolve) => {
            const timer = setTimeout(() => {
              entry.waiters.splice(entry.waiters.indexOf(done), 1);
              resolve(undefined);
            }, Math.max(0, timeoutMs));
            const done = (r: Reply): void => {
              clearTimeout(timer);
              resolve(r);
            };
            entry.waiters.push(done);
          });
        },
      };
    },
    async close() {
      await consumer.disconnect().catch(() => {});
      await producer.disconnect().catch(() => {});
    },
  };
}
