import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kafka, ProducerBatch, ProducerConfig } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { createCodecs } from '../../../services/common/src/contracts.js';
import { TOPICS } from '../../../services/common/src/kafka.js';
import { generateAll, simulate } from '../../../services/simulator/src/generator.js';
import { publishEvents, PUBLISHED_AT_HEADER } from '../../../services/simulator/src/publisher.js';
import { publishJsonLines, publishSimulation } from '../../../services/simulator/src/sources.js';
import { JsonLinesValidationError } from '../../../services/simulator/src/validate.js';

const WORLD = { customers: 50, terminals: 100, days: 20, seed: 9, labelDelayDays: 1 } as const;

/** A stand-in for kafkajs that records what would be sent (unit tests never need a broker). */
function fakeKafka(opts: { failOnBatch?: number; sendDelayMs?: number } = {}) {
  const batches: ProducerBatch[] = [];
  const configs: ProducerConfig[] = [];
  const calls: string[] = [];
  const kafka = {
    producer: (config: ProducerConfig) => {
      configs.push(config);
      return {
        connect: async () => void calls.push('connect'),
        disconnect: async () => void calls.push('disconnect'),
        sendBatch: async (batch: ProducerBatch) => {
          if (opts.sendDelayMs) await new Promise((r) => setTimeout(r, opts.sendDelayMs));
          if (batches.length + 1 === opts.failOnBatch) throw new Error('broker down');
          batches.push(batch);
          return [];
        },
      };
    },
  } as unknown as Kafka;
  const messages = (topic: string) => batches.flatMap((b) => (b.topicMessages ?? []).filter((t) => t.topic === topic).flatMap((t) => t.messages));
  return { kafka, batches, configs, calls, messages };
}

describe('publishEvents', () => {
  it('publishes keyed, encoded, stamped messages in order, with an idempotent producer', async () => {
    const fake = fakeKafka();
    const stats = await publishSimulation(fake.kafka, { ...WORLD, maxEvents: 1_500, batchSize: 200 });
    const expected = [...simulate(WORLD)].slice(0, 1_500);
    const codecs = createCodecs('confluent');

    expect(fake.configs[0]).toMatchObject({ idempotent: true });
    expect(fake.configs[0]?.createPartitioner).toBeTypeOf('function');
    expect(fake.calls).toEqual(['connect', 'disconnect']);
    expect(fake.batches.every((b) => b.acks === -1)).toBe(true);
    expect(Math.max(...fake.batches.map((b) => (b.topicMessages ?? []).reduce((n, t) => n + t.messages.length, 0)))).toBe(200);

    const txs = fake.messages(TOPICS.transactions);
    const outcomes = fake.messages(TOPICS.outcomes);
    const expTx = expected.flatMap((e) => (e.kind === 'transaction' ? [e] : []));
    const expOut = expected.flatMap((e) => (e.kind === 'outcome' ? [e.outcome] : []));
    expect(outcomes.length).toBeGreaterThan(0);
    expect(txs.map((m) => m.key)).toEqual(expTx.map((e) => e.tx.cardToken));
    expect(txs.map((m) => codecs.transaction.decode(m.value as Buffer))).toEqual(expTx.map((e) => e.tx));
    expect(outcomes.map((m) => m.key)).toEqual(expOut.map((o) => o.terminalId));
    expect(outcomes.map((m) => codecs.outcome.decode(m.value as Buffer))).toEqual(expOut);
    const stamps = [...txs, ...outcomes].map((m) => Number(m.headers?.[PUBLISHED_AT_HEADER]));
    expect(stamps.every((t) => Math.abs(Date.now() - t) < 60_000)).toBe(true);

    expect(stats).toMatchObject({
      transactions: expTx.length, outcomes: expOut.length, frauds: expTx.filter((e) => e.isFraud).length, stoppedBy: 'maxEvents',
    });
  });

  it('uses the topics and plain format it is given', async () => {
    const fake = fakeKafka();
    const stats = await publishSimulation(fake.kafka, { ...WORLD, days: 3, format: 'plain', topics: { transactions: 't1', outcomes: 'o1' } });
    const run = generateAll({ ...WORLD, days: 3 });
    expect(stats).toMatchObject({ transactions: run.transactions.length, outcomes: run.outcomes.length, stoppedBy: 'end' });
    const first = fake.messages('t1')[0];
    expect(createCodecs('plain').transaction.decode(first?.value as Buffer)).toEqual(run.transactions[0]?.tx);
    expect(fake.messages('o1').length).toBe(run.outcomes.length);
  });

  it('paces to the rate in wall time', async () => {
    const fake = fakeKafka();
    const t0 = performance.now();
    const stats = await publishSimulation(fake.kafka, { ...WORLD, rate: 500, maxEvents: 100 });
    const elapsed = performance.now() - t0;
    expect(stats.transactions + stats.outcomes).toBe(100);
    // 100 events at 500/s: ~200 ms (the first token is free).
    expect(elapsed).toBeGreaterThan(150);
    expect(elapsed).toBeLessThan(1_500);
    // At a low rate, batches are flushed before idling instead of waiting to fill up.
    expect(fake.batches.length).toBeGreaterThan(5);
  });

  it('stops on abort and on duration, sending what was queued', async () => {
    const ac = new AbortController();
    const fake = fakeKafka();
    const stats = await publishSimulation(fake.kafka, {
      ...WORLD, batchSize: 50, signal: ac.signal,
      onProgress: (s) => { if (s.transactions > 0) ac.abort(); }, progressIntervalMs: 0,
    });
    expect(stats.stoppedBy).toBe('signal');
    expect(stats.transactions + stats.outcomes).toBeGreaterThan(0);
    expect(fake.calls).toEqual(['connect', 'disconnect']);

    const timed = await publishSimulation(fakeKafka().kafka, { ...WORLD, rate: 1_000, durationMs: 100 });
    expect(timed.stoppedBy).toBe('duration');
    expect(timed.transactions + timed.outcomes).toBeLessThan(400);
  });

  it('fails when a send fails, after disconnecting', async () => {
    const fake = fakeKafka({ failOnBatch: 2, sendDelayMs: 1 });
    await expect(publishEvents(fake.kafka, simulate(WORLD), { batchSize: 10, maxInFlight: 3 })).rejects.toThrow('broker down');
    expect(fake.calls.at(-1)).toBe('disconnect');
  });
});

describe('publishJsonLines', () => {
  it('publishes nothing when a line is invalid, unless told to skip', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fraudscore-pub-'));
    try {
      const tx = generateAll({ ...WORLD, days: 1 }).transactions.slice(0, 3).map((e) => JSON.stringify(e.tx));
      const file = join(dir, 'in.jsonl');
      await writeFile(file, [tx[0], '{"cardToken": 4111111111111111}', tx[1], tx[2]].join('\n'));

      const strict = fakeKafka();
      const err = await publishJsonLines(strict.kafka, file).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(JsonLinesValidationError);
      expect((err as Error).message).toMatch(/line 2: transactionId: expected a string, got nothing/);
      expect((err as Error).message).not.toContain('4111111111111111');
      expect(strict.calls).toEqual([]);

      const lenient = fakeKafka();
      const invalid: number[] = [];
      const stats = await publishJsonLines(lenient.kafka, file, { skipInvalid: true, onInvalid: (e) => invalid.push(e.line) });
      expect(stats).toMatchObject({ transactions: 3, outcomes: 0, frauds: 0, invalid: 1 });
      expect(invalid).toEqual([2]);
      expect(lenient.messages(TOPICS.transactions).map((m) => m.key)).toEqual(tx.map((t) => (JSON.parse(t as string) as { cardToken: string }).cardToken));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('publishEvents with a schema registry\'s ids', () => {
  it('writes the given writer ids (a registry\'s, from registry-codecs.ts writerIds), not schemas/ids.json\'s', async () => {
    const fake = fakeKafka();
    await publishSimulation(fake.kafka, { ...WORLD, maxEvents: 300, schemaIds: { transaction: 1001, outcome: 1002 } });
    expect(new Set(fake.messages(TOPICS.transactions).map((m) => (m.value as Buffer).readUInt32BE(1)))).toEqual(new Set([1001]));
    expect(new Set(fake.messages(TOPICS.outcomes).map((m) => (m.value as Buffer).readUInt32BE(1)))).toEqual(new Set([1002]));
  });
});
