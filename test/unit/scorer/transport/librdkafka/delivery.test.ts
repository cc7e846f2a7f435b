/**
 * The librdkafka delivery's bookkeeping — one transaction per instance (exactly-once), outputs
 * acknowledged before positions are committed (both modes), a full local queue waited out, a
 * fatal client error failing the delivery — against a recording stand-in for the native
 * producer (the broker side is covered by the integration and fault suites, which run on both
 * clients).
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { createRdkafkaDelivery } from '../../../../../services/scorer/src/transport/librdkafka/delivery.js';
import { codes, type Rdkafka } from '../../../../../services/scorer/src/transport/librdkafka/native.js';
import type { TopicMessages } from '../../../../../services/scorer/src/sink/messages.js';

const ERR = codes();

/** A producer that records calls; flush acknowledges what is queued once `acking` allows it. */
function fakeProducer(opts: { queueLimit?: number } = {}) {
  const calls: string[] = [];
  let queued = 0;
  let acking = true;
  const emitter = new EventEmitter();
  const later = (cb: (err: null) => void, what: string) => {
    calls.push(what);
    setImmediate(() => cb(null));
  };
  const producer = Object.assign(emitter, {
    produce(topic: string, partition: number | null, _v: Buffer | null, _k: unknown, _ts: unknown, _opaque: unknown, headers?: unknown[]) {
      if (opts.queueLimit !== undefined && queued >= opts.queueLimit) throw Object.assign(new Error('Local: Queue full'), { code: ERR.ERR__QUEUE_FULL });
      calls.push(`produce ${topic}${partition === null ? '' : `#${partition}`} headers=${headers?.length ?? 0}`);
      queued++;
    },
    flush(_t: number, cb: (err: null) => void) {
      calls.push('flush');
      const drain = () => (acking ? ((queued = 0), cb(null)) : setTimeout(drain, 1));
      drain();
    },
    poll() {},
    beginTransaction: (cb: (err: null) => void) => later(cb, 'begin'),
    sendOffsetsToTransaction: (offsets: { partition: number; offset: number }[], _c: unknown, _t: number, cb: (err: null) => void) =>
      later(cb, `offsets ${offsets.map((o) => `${o.partition}@${o.offset}`).join(',')}`),
    commitTransaction: (_t: number, cb: (err: null) => void) => later(cb, 'commit'),
    abortTransaction: (_t: number, cb: (err: null) => void) => later(cb, 'abort'),
  });
  const consumer = { commitCb: (offsets: { partition: number; offset: number }[], cb: (err: null) => void) => later(cb, `consumer commit ${offsets.map((o) => `${o.partition}@${o.offset}`).join(',')}`) };
  return {
    calls,
    queued: () => queued,
    ack: () => (queued = Math.max(0, queued - 1)),
    hold: (v: boolean) => (acking = !v),
    fatal: (message: string) => emitter.emit('event.error', { message, code: ERR.ERR__FATAL, isFatal: true }),
    producer: producer as unknown as Rdkafka.Producer,
    consumer: consumer as unknown as Rdkafka.KafkaConsumer,
  };
}

const out = (topic: string, n = 1): TopicMessages[] => [{ topic, messages: Array.from({ length: n }, () => ({ key: 'card', value: Buffer.from('x'), headers: { 'fs-source': 'transactions/0/1@0' } })) }];
const state: TopicMessages[] = [{ topic: 'changelog', messages: [{ key: 'card', value: Buffer.from('s'), headers: {}, partition: 1 }] }];
const pos = (partition: number, offset: number) => ({ topic: 'tx', partition, offset: String(offset) });

describe('librdkafka delivery, exactly-once', () => {
  it("puts every partition's outputs in one transaction, then their state, flushed, then positions and commit", async () => {
    const f = fakeProducer();
    const d = createRdkafkaDelivery({ producer: f.producer, consumer: f.consumer, exactlyOnce: true, timeoutMs: 1000 });
    await d.send(out('decisions'));
    await d.send(out('flags'));
    expect(await d.commit([pos(0, 10), pos(1, 7)], state)).toBe(true);
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
    const d = createRdkafkaDelivery({ producer: f.producer, consumer: f.consumer, exactlyOnce: true, timeoutMs: 1000 });
    await d.send(out('decisions'));
    await expect(d.commit([pos(0, 1)], [])).rejects.toThrow(/fenced/);
    expect(f.calls.at(-1)).toBe('abort');
  });

  it('a fatal client error fails every later send and commit, before any position is sent', async () => {
    const f = fakeProducer();
    const d = createRdkafkaDelivery({ producer: f.producer, consumer: f.consumer, exactlyOnce: true, timeoutMs: 1000 });
    await d.send(out('decisions', 2));
    f.fatal('Local: Fatal error: Broker: Producer fenced');
    await expect(d.send(out('decisions'))).rejects.toThrow(/fenced/);
    await expect(d.commit([pos(0, 3)], [])).rejects.toThrow(/fenced/);
    expect(f.calls.some((c) => c.startsWith('offsets'))).toBe(false);
  });
});

describe('librdkafka delivery, at-least-once', () => {
  it('commits positions only after every output and state record is acknowledged', async () => {
    const f = fakeProducer();
    const d = createRdkafkaDelivery({ producer: f.producer, consumer: f.consumer, exactlyOnce: false, timeoutMs: 1000 });
    await d.send(out('decisions', 2));
    f.hold(true);
    const committing = d.commit([pos(0, 5)], state);
    await new Promise((r) => setTimeout(r, 10));
    expect(f.calls.some((c) => c.startsWith('consumer commit'))).toBe(false);
    f.hold(false);
    expect(await committing).toBe(true);
    expect(f.calls).toEqual(['produce decisions headers=1', 'produce decisions headers=1', 'produce changelog#1 headers=0', 'flush', 'consumer commit 0@5']);
  });

  it('a message failure raised while flushing (the gapless guarantee) fails the flush: nothing counts as delivered', async () => {
    const f = fakeProducer();
    const d = createRdkafkaDelivery({ producer: f.producer, consumer: f.consumer, exactlyOnce: false, timeoutMs: 1000 });
    await d.send(out('decisions'));
    f.hold(true);
    const flushing = d.flush();
    f.fatal('Local: Fatal error: Local: Gap-less ordering guarantee could not be maintained');
    f.hold(false);
    await expect(flushing).rejects.toThrow(/Gap-less/);
  });

  it('leaves the positions uncommitted when the group is rebalancing', async () => {
    const f = fakeProducer();
    (f.consumer as unknown as { commitCb: (o: unknown, cb: (e: unknown) => void) => void }).commitCb = (_o, cb) => setImmediate(() => cb({ message: 'Broker: Group rebalance in progress', code: ERR.ERR_REBALANCE_IN_PROGRESS }));
    const d = createRdkafkaDelivery({ producer: f.producer, consumer: f.consumer, exactlyOnce: false, timeoutMs: 1000 });
    await d.send(out('decisions'));
    expect(await d.commit([pos(0, 2)], [])).toBe(false);
  });

  it('waits out a full local queue instead of dropping or failing', async () => {
    const f = fakeProducer({ queueLimit: 2 });
    const d = createRdkafkaDelivery({ producer: f.producer, consumer: f.consumer, exactlyOnce: false, timeoutMs: 1000 });
    const sending = d.send(out('decisions', 5));
    await new Promise((r) => setTimeout(r, 10));
    expect(f.queued()).toBe(2);
    while (f.calls.filter((c) => c.startsWith('produce')).length < 5) {
      f.ack();
      await new Promise((r) => setTimeout(r, 5));
    }
    await sending;
    expect(f.calls.filter((c) => c.startsWith('produce'))).toHaveLength(5);
  });
});
