/**
 * The kafkajs TopicSource's reading rules, on a scripted stand-in for kafkajs's consumer:
 * ranges are read one after another in the order given, each from where its seek puts it,
 * each offset is handed over once (a
 * refetch, records before the start or past the end captured are dropped), a partition ends
 * when its batches pass the end offset even if the last records are transaction markers no
 * handler sees, nothing is ever committed, and the throwaway group is deleted. The real
 * broker: test/integration/features-from-kafka.test.ts.
 */
import { EventEmitter } from 'node:events';
import type { Kafka } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { openKafkaTopicSource, type PartitionRange, type TopicRecord } from '../../../../services/cli/src/history/kafka-source.js';

interface LogRecord {
  offset: number;
  /** A transaction marker: fetched, never handed to eachBatch. */
  control?: boolean;
}

const EVENTS = { GROUP_JOIN: 'consumer.group_join', END_BATCH_PROCESS: 'consumer.end_batch_process', CRASH: 'consumer.crash' };

/**
 * Partitions as logs; the consumer joins (GROUP_JOIN), then fetches each unpaused partition
 * from its position in batches of `batch` records, and once re-delivers a batch it already
 * gave (a refetch). Before the join's seeks apply, a first fetch starts at offset 0, as a
 * fetch racing the seek would; after the join a seek applies at the partition's next fetch.
 */
function scriptedKafka(logs: Record<string, LogRecord[][]>, batch = 3) {
  const calls = { commits: 0, deleted: [] as string[], groupIds: [] as string[], readUncommitted: [] as boolean[], autoCommit: [] as boolean[], disconnected: 0 };
  const admin = {
    connect: async () => {},
    disconnect: async () => {},
    fetchTopicOffsets: async (topic: string) => logs[topic]!.map((log, partition) => ({ partition, offset: '', low: '0', high: String(log.length) })),
    fetchTopicOffsetsByTimestamp: async (topic: string) => logs[topic]!.map((_, partition) => ({ partition, offset: '0' })),
    deleteGroups: async (ids: string[]) => void calls.deleted.push(...ids),
  };
  const consumer = (opts: { groupId: string; readUncommitted: boolean }) => {
    calls.groupIds.push(opts.groupId);
    calls.readUncommitted.push(opts.readUncommitted);
    const emitter = new EventEmitter();
    const seeks = new Map<string, number>();
    const paused = new Set<string>();
    let topics: string[] = [];
    let running = true;
    let refetched = false;
    let joined = false;
    const k = (t: string, p: number) => `${t}/${p}`;
    return {
      events: EVENTS,
      on: (event: string, fn: (e: unknown) => void) => void emitter.on(event, fn),
      connect: async () => {},
      subscribe: async (s: { topics: string[] }) => void (topics = s.topics),
      seek: ({ topic, partition, offset }: { topic: string; partition: number; offset: string }) => void seeks.set(k(topic, partition), Number(offset)),
      pause: (list: { topic: string; partitions: number[] }[]) => list.forEach(({ topic, partitions }) => partitions.forEach((p) => paused.add(k(topic, p)))),
      resume: (list: { topic: string; partitions: number[] }[]) => list.forEach(({ topic, partitions }) => partitions.forEach((p) => paused.delete(k(topic, p)))),
      commitOffsets: async () => void calls.commits++,
      disconnect: async () => {
        running = false;
        calls.disconnected++;
      },
      run: async (r: { autoCommit: boolean; eachBatch: (a: { batch: { topic: string; partition: number; messages: TopicRecord[] } }) => Promise<void> }) => {
        calls.autoCommit.push(r.autoCommit);
        // The first fetch goes out before the join's seeks apply: from offset 0.
        const position = new Map<string, number>();
        for (const t of topics) logs[t]!.forEach((_, p) => position.set(k(t, p), 0));
        const fetchOnce = async (t: string, p: number): Promise<void> => {
          const key = k(t, p);
          if (paused.has(key)) return;
          // A seek applies at the partition's next fetch.
          if (joined && seeks.has(key)) {
            position.set(key, seeks.get(key)!);
            seeks.delete(key);
          }
          const from = position.get(key)!;
          const raw = logs[t]![p]!.slice(from, from + batch);
          if (raw.length === 0) return;
          const messages = raw.filter((m) => !m.control).map((m) => ({ offset: String(m.offset), timestamp: '0', value: Buffer.from(`${t}/${p}@${m.offset}`) }));
          if (messages.length > 0) await r.eachBatch({ batch: { topic: t, partition: p, messages } });
          emitter.emit(EVENTS.END_BATCH_PROCESS, { payload: { topic: t, partition: p, firstOffset: String(raw[0]!.offset), lastOffset: String(raw.at(-1)!.offset) } });
          // Refetch the same batch once (a retried fetch), else move on.
          if (!refetched && from > 0) refetched = true;
          else position.set(key, from + raw.length);
        };
        void (async () => {
          for (const t of topics) for (let p = 0; p < logs[t]!.length; p++) await fetchOnce(t, p);
          emitter.emit(EVENTS.GROUP_JOIN, { payload: { memberAssignment: Object.fromEntries(topics.map((t) => [t, logs[t]!.map((_, p) => p)])) } });
          joined = true;
          while (running) {
            for (const t of topics) for (let p = 0; p < logs[t]!.length; p++) await fetchOnce(t, p);
            await new Promise((resolve) => setImmediate(resolve));
          }
        })();
      },
    };
  };
  return { kafka: { admin: () => admin, consumer } as unknown as Kafka, calls };
}

const log = (n: number, controls: number[] = []): LogRecord[] => Array.from({ length: n }, (_, offset) => ({ offset, control: controls.includes(offset) }));

describe('reading ranges with kafkajs', () => {
  it('hands over [start, end) of each partition once, in offset order, range after range, and commits nothing', async () => {
    // t/0: offsets 0..9, markers at 4 and 9 (the last record: only END_BATCH_PROCESS sees it).
    // t/1: 0..7, written to 8 after the end (6) was captured. t/2: nothing to read. o/0: 0..4.
    const { kafka, calls } = scriptedKafka({ t: [log(10, [4, 9]), log(8), log(2)], o: [log(5)] });
    const source = await openKafkaTopicSource(kafka, { groupPrefix: 'test-features' });
    const ranges: PartitionRange[] = [
      { topic: 't', partition: 0, start: 2n, end: 10n },
      { topic: 't', partition: 1, start: 1n, end: 6n },
      { topic: 't', partition: 2, start: 2n, end: 2n },
      { topic: 'o', partition: 0, start: 0n, end: 5n },
    ];
    const got = new Map<string, string[]>();
    const order: string[] = [];
    await source.read(ranges, (range, records) => {
      const key = `${range.topic}/${range.partition}`;
      if (order.at(-1) !== key) order.push(key);
      got.set(key, [...(got.get(key) ?? []), ...records.map((r) => r.offset)]);
      for (const r of records) expect(r.value?.toString()).toBe(`${key}@${r.offset}`);
    });
    await source.close();
    expect(Object.fromEntries(got)).toEqual({
      't/0': ['2', '3', '5', '6', '7', '8'],
      't/1': ['1', '2', '3', '4', '5'],
      'o/0': ['0', '1', '2', '3', '4'],
    });
    // One range after another, in the order given: never back to one already left.
    expect(order).toEqual(['t/0', 't/1', 'o/0']);
    expect(calls.commits).toBe(0);
    expect(calls.autoCommit).toEqual([false]);
    expect(calls.readUncommitted).toEqual([false]);
    expect(calls.groupIds).toHaveLength(1);
    expect(calls.groupIds[0]).toMatch(/^test-features-[0-9a-f-]{36}$/);
    expect(calls.deleted).toEqual(calls.groupIds);
    expect(calls.disconnected).toBe(1);
  });

  it('nothing to read: no consumer, no group', async () => {
    const { kafka, calls } = scriptedKafka({ t: [log(3)] });
    const source = await openKafkaTopicSource(kafka);
    await source.read([{ topic: 't', partition: 0, start: 3n, end: 3n }], () => expect.fail('no records expected'));
    expect(calls.groupIds).toEqual([]);
  });

  it('a failure in the handler ends the read with it, and still leaves and deletes the group', async () => {
    const { kafka, calls } = scriptedKafka({ t: [log(6)] });
    const source = await openKafkaTopicSource(kafka);
    await expect(source.read([{ topic: 't', partition: 0, start: 0n, end: 6n }], () => {
      throw new Error('boom');
    })).rejects.toThrow('boom');
    expect(calls.disconnected).toBe(1);
    expect(calls.deleted).toEqual(calls.groupIds);
  });
});
