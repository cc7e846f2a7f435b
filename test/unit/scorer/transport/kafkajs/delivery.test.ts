/**
 * The exactly-once delivery's bookkeeping of open transactions, against a recording stand-in
 * for kafkajs's transactional producer (the broker side is covered by the integration and
 * fault suites).
 */
import type { Producer, Transaction } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { exactlyOnceDelivery } from '../../../../../services/scorer/src/transport/kafkajs/delivery.js';

function recordingProducers() {
  const calls: string[] = [];
  const producerFor = (id: string): Producer => {
    let n = 0;
    return {
      connect: async () => void calls.push(`${id} connect`),
      disconnect: async () => void calls.push(`${id} disconnect`),
      transaction: async () => {
        const txn = `${id}#${++n}`;
        calls.push(`${txn} begin`);
        return {
          sendBatch: async ({ topicMessages }: { topicMessages: { topic: string }[] }) => void calls.push(`${txn} send ${topicMessages.map((t) => t.topic).join(',')}`),
          sendOffsets: async ({ topics }: { topics: { partitions: { offset: string }[] }[] }) => void calls.push(`${txn} offsets ${topics[0]!.partitions[0]!.offset}`),
          commit: async () => void calls.push(`${txn} commit`),
          abort: async () => void calls.push(`${txn} abort`),
        } as unknown as Transaction;
      },
    } as unknown as Producer;
  };
  return { calls, producerFor };
}

const out = (topic: string) => [{ topic, messages: [{ key: null, value: Buffer.from('x'), headers: {} }] }];
const pos = (partition: number, offset: number) => ({ topic: 'tx', partition, offset: String(offset) });

describe('exactly-once delivery', () => {
  it('keeps one transaction open per partition until a commit, then starts a new one', async () => {
    const { calls, producerFor } = recordingProducers();
    const d = exactlyOnceDelivery({ producerFor, groupId: 'g', topic: 'tx' });
    await d.assign([0], []);
    expect(await d.deliver(0, out('decisions'), undefined)).toBe(false);
    expect(await d.deliver(0, out('decisions'), pos(0, 20))).toBe(true);
    expect(await d.deliver(0, out('decisions'), undefined)).toBe(false);
    expect(calls).toEqual([
      'g.tx.0 connect',
      'g.tx.0#1 begin',
      'g.tx.0#1 send decisions',
      'g.tx.0#1 send decisions',
      'g.tx.0#1 offsets 20',
      'g.tx.0#1 commit',
      'g.tx.0#2 begin',
      'g.tx.0#2 send decisions',
    ]);
  });

  it('aborts the open transaction of a kept partition a rebalance discards, and closes revoked ones', async () => {
    const { calls, producerFor } = recordingProducers();
    const d = exactlyOnceDelivery({ producerFor, groupId: 'g', topic: 'tx' });
    await d.assign([0, 1], []);
    await d.deliver(0, out('decisions'), undefined);
    await d.deliver(1, out('decisions'), undefined);
    calls.length = 0;
    await d.assign([0], [0, 1]);
    expect(calls.sort()).toEqual(['g.tx.0#1 abort', 'g.tx.1 disconnect']);
    calls.length = 0;
    await d.deliver(0, out('decisions'), pos(0, 5));
    expect(calls).toEqual(['g.tx.0#2 begin', 'g.tx.0#2 send decisions', 'g.tx.0#2 offsets 5', 'g.tx.0#2 commit']);
    await expect(d.deliver(1, out('decisions'), pos(1, 5))).rejects.toThrow(/not assigned/);
  });

  it('aborts and rethrows when a send fails, and the next chunk starts a fresh transaction', async () => {
    const { calls, producerFor } = recordingProducers();
    let fail = true;
    const d = exactlyOnceDelivery({
      producerFor: (id) => {
        const p = producerFor(id);
        return {
          ...p,
          transaction: async () => {
            const txn = await p.transaction();
            return { ...txn, sendBatch: async (b: Parameters<Transaction['sendBatch']>[0]) => (fail ? Promise.reject(new Error('broker said no')) : txn.sendBatch(b)) } as Transaction;
          },
        } as Producer;
      },
      groupId: 'g',
      topic: 'tx',
    });
    await d.assign([0], []);
    await expect(d.deliver(0, out('decisions'), undefined)).rejects.toThrow(/broker said no/);
    fail = false;
    await d.deliver(0, out('decisions'), pos(0, 1));
    expect(calls.filter((c) => !c.endsWith('connect'))).toEqual(['g.tx.0#1 begin', 'g.tx.0#1 abort', 'g.tx.0#2 begin', 'g.tx.0#2 send decisions', 'g.tx.0#2 offsets 1', 'g.tx.0#2 commit']);
  });
});
