/**
 * The librdkafka delivery's bookkeeping — one transaction per instance (exactly-once), outputs
 * flushed before offsets (both modes), a full local queue waited out, a failed delivery fatal —
 * against a recording stand-in for the native producer (the broker side is covered by the
 * integration and fault suites, which run on both clients).
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { createRdkafkaDelivery } from '../../../../../services/scorer/src/transport/librdkafka/delivery.js';
import { codes, type Rdkafka } from '../../../../../services/scorer/src/transport/librdkafka/native.js';
import type { TopicMessages } from '../../../../../services/scorer/src/sink/messages.js';

const ERR = codes();

/** A producer that records calls and acknowledges what it was given when told to. */
function fakeProducer(opts: { queueLimit?: number } = {}) {
  const calls: string[] = [];
  const queued: { opaque: unknown }[] = [];
  const emitter = new EventEmitter();
  const later = (cb: (err: null) => void, what: string) => {
    calls.push(what);
    setImmediate(() => cb(null));
  };
  const producer = Object.assign(emitter, {
    flush(_t: number, cb: (err: null) => void) {
      calls.push('flush');
      const drain = () => (queued.length === 0 ? cb(null) : setTimeout(drain, 1));
      drain();
    },
    produce(topic: string, partition: number | null, _v: Buffer | null, _k: unknown, _ts: unknown, opaque: unknown, headers: unknown[]) {
      if (opts.queueLimit !== undefined && queued.length >= opts.queueLimit) throw Object.assign(new Error('Local: Queue full'), { code: ERR.ERR__QUEUE_FULL });
      calls.push(`produce ${topic}${partition === null ? '' : `#${partition}`} headers=${headers.length}`);
      queued.push({ opaque });
    },
    beginTransaction: (cb: (err: null) => void) => later(cb, 'begin'),
    sendOffsetsToTransaction: (offsets: { partition: number; offset: number }[], _c: unknown, _t: number, cb: (err: null) => void) =>
      later(cb, `offsets ${offsets.map((o) => `${o.partition}@${o.offset}`).join(',')}`),
    commitTransaction: (_t: number, cb: (err: null) => void) => later(cb, 'commit'),
    abortTransaction: (_t: number, cb: (err: null) => void) => later(cb, 'abort'),
  });
  /** The broker acknowledges (or fails) everything queued, with a delivery report each. */
  const ackAll = (err: Error | null = null) => {
    for (const q of queued.splice(0)) emitter.emit('delivery-report', err, { opaque: q.opaque, topic: 't', partition: 0, offset: 0, size: 1 });
  };
  const consumer = { commitCb: (offsets: { partition: number; offset: number }[], cb: (err: null) => void) => later(cb, `consumer commit ${offsets.map((o) => `${o.partition}@${o.offset}`).join(',')}`) };
  return { calls, ackAll, queued, producer: producer as unknown as Rdkafka.Producer, consumer: consumer as unknown as Rdkafka.KafkaConsumer };
}

const out = (topic: string, n = 1): TopicMessages[] => [{ topic, messages: Array.from({ length: n }, () => ({ key: 'card', value: Buffer.from('x'), headers: { 'fs-source': 'transactions/0/1@0' } })) }];
const state: TopicMessages[] = [{ topic: 'changelog', messages: [{ key: 'card', value: Buffer.from('s'), headers: {}, partition: 1 }] }];
const pos = (partition: number, offset: number) => ({ topic: 'tx', partition, offset: String(offset) });

describe('librdkafka delivery, exactly-once', () => {
  it("puts every partition's outputs in one transaction and commits their positions and state together", async () => {
    const f = fakeProducer();
    const d = createRdkafkaDelivery({ producer: f.producer, consumer: f.consumer, exactlyOnce: true, timeoutMs: 1000, onFailure: () => {} });
    await d.send(out('decisions'));
    await d.send(out('flags'));
    const committing = d.commit([pos(0, 10), pos(1, 7)], state);
    setTimeout(() => f.ackAll(), 5);
    expect(await committing).toBe(true);
    await d.send(out('decisions'));
    expect(f.calls).toEqual([
      'begin',
      'produce decisions headers=1',
      'produce flags headers=1',
      'produce changelog#1 headers=0',
      'flush',
      'offsets 0@10,1@7',
      'commit',
      'begin',
      'produce decisions headers=1',
    ]);
  });

  it('aborts the open transaction when a commit fails, and can abort on demand', async () => {
    const f = fakeProducer();
    (f.producer as unknown as { commitTransaction: (t: number, cb: (e: unknown) => void) => void }).commitTransaction = (_t, cb) => setImmediate(() => cb({ message: 'Broker: Producer fenced', code: ERR.ERR_PRODUCER_FENCED }));
    const d = createRdkafkaDelivery({ producer: f.producer, consumer: f.consumer, exactlyOnce: true, timeoutMs: 1000, onFailure: () => {} });
    await d.send(out('decisions'));
    f.ackAll();
    await expect(d.commit([pos(0, 1)], [])).rejects.toThrow(/fenced/);
    expect(f.calls.at(-1)).toBe('abort');
  });

  it('fails at once when a message cannot be delivered, and never commits past it', async () => {
    const f = fakeProducer();
    const failures: Error[] = [];
    const d = createRdkafkaDelivery({ producer: f.producer, consumer: f.consumer, exactlyOnce: true, timeoutMs: 1000, onFailure: (e) => failures.push(e) });
    await d.send(out('decisions', 2));
    f.ackAll(Object.assign(new Error('Broker: Message too large'), { code: 10 }));
    expect(failures[0]?.message).toMatch(/too large/);
    await expect(d.send(out('decisions'))).rejects.toThrow(/too large/);
    await expect(d.commit([pos(0, 3)], [])).rejects.toThrow(/too large/);
    expect(f.calls.some((c) => c.startsWith('offsets'))).toBe(false);
  });
});

describe('librdkafka delivery, at-least-once', () => {
  it('calls back once every output of a chunk is acknowledged, without waiting for it', async () => {
    const f = fakeProducer();
    const d = createRdkafkaDelivery({ producer: f.producer, consumer: f.consumer, exactlyOnce: false, timeoutMs: 1000, onFailure: () => {} });
    const acked: string[] = [];
    await d.send(out('decisions', 3), () => acked.push('a'));
    await d.send(out('decisions', 1), () => acked.push('b'));
    expect(acked).toEqual([]);
    f.ackAll();
    expect(acked).toEqual(['a', 'b']);
    await d.send([], () => acked.push('empty'));
    expect(acked).toEqual(['a', 'b', 'empty']);
  });

  it('commits positions only after every output and state record is acknowledged', async () => {
    const f = fakeProducer();
    const d = createRdkafkaDelivery({ producer: f.producer, consumer: f.consumer, exactlyOnce: false, timeoutMs: 1000, onFailure: () => {} });
    await d.send(out('decisions', 2));
    const committing = d.commit([pos(0, 5)], state);
    await new Promise((r) => setTimeout(r, 10));
    expect(f.calls.some((c) => c.startsWith('consumer commit'))).toBe(false);
    f.ackAll();
    expect(await committing).toBe(true);
    expect(f.calls).toEqual(['produce decisions headers=1', 'produce decisions headers=1', 'produce changelog#1 headers=0', 'flush', 'consumer commit 0@5']);
  });

  it('leaves the positions uncommitted when the group is rebalancing', async () => {
    const f = fakeProducer();
    (f.consumer as unknown as { commitCb: (o: unknown, cb: (e: unknown) => void) => void }).commitCb = (_o, cb) => setImmediate(() => cb({ message: 'Broker: Group rebalance in progress', code: ERR.ERR_REBALANCE_IN_PROGRESS }));
    const d = createRdkafkaDelivery({ producer: f.producer, consumer: f.consumer, exactlyOnce: false, timeoutMs: 1000, onFailure: () => {} });
    await d.send(out('decisions'));
    f.ackAll();
    expect(await d.commit([pos(0, 2)], [])).toBe(false);
  });

  it('waits out a full local queue instead of dropping or failing', async () => {
    const f = fakeProducer({ queueLimit: 2 });
    const d = createRdkafkaDelivery({ producer: f.producer, consumer: f.consumer, exactlyOnce: false, timeoutMs: 1000, onFailure: () => {} });
    const sending = d.send(out('decisions', 5));
    await new Promise((r) => setTimeout(r, 10));
    expect(f.queued.length).toBe(2);
    while (f.calls.filter((c) => c.startsWith('produce')).length < 5) {
      f.ackAll();
      await new Promise((r) => setTimeout(r, 5));
    }
    await sending;
    expect(f.calls.filter((c) => c.startsWith('produce'))).toHaveLength(5);
  });
});
