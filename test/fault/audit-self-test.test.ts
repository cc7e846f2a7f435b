/**
 * The audit must be able to fail. Outputs are written by hand, with a transactional producer,
 * so that every failure class is present: a lost input, a duplicated one, an aborted copy, an
 * output pointing outside the inputs, an open transaction at audit time; then the audit is run
 * once as it is and once with a reader that (wrongly) reads uncommitted data as committed,
 * which must show up as aborted reads.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Partitioners, type Kafka, type Producer } from 'kafkajs';
import { createCodecs, type Decision, type DeadLetter } from '../../services/common/src/contracts.js';
import { HEADERS } from '../../services/scorer/src/sink/messages.js';
import { auditRun } from '../helpers/audit.js';
import { deleteTopics, freshTopics, testKafka, type TestTopics } from '../helpers/kafka.js';

const codecs = createCodecs('confluent');

describe('audit self-test: every failure class is detected', () => {
  let kafka: Kafka;
  let topics: TestTopics;
  let producer: Producer;

  beforeAll(async () => {
    kafka = testKafka('fraudscore-fault');
    topics = await freshTopics(kafka, 1);
  });

  afterAll(async () => {
    await producer?.disconnect().catch(() => {});
    await deleteTopics(kafka, topics).catch(() => {});
  });

  it('lost, duplicate, aborted copy, foreign, open transaction; aborted read with a broken reader', async () => {
    // Six inputs: p0@0..5.
    const plain = kafka.producer({ idempotent: true, createPartitioner: Partitioners.DefaultPartitioner });
    await plain.connect();
    await plain.send({ topic: topics.transactions, acks: -1, messages: Array.from({ length: 6 }, (_, i) => ({ partition: 0, key: `k${i}`, value: Buffer.from(`input ${i}`) })) });
    await plain.disconnect();

    const decision = (offset: number): { key: string; value: Buffer; partition: number; headers: Record<string, string> } => {
      const d: Decision = {
        transactionId: `tx-${offset}`,
        cardToken: 'card',
        score: 0.1,
        decision: 'ALLOW',
        reasons: [],
        model: { name: 'm', version: '1', digest: 'd' },
        policyVersion: 'p',
        eventTime: 0,
        scoredAt: 0,
        source: { topic: topics.transactions, partition: 0, offset },
        featureSetVersion: '',
        features: [],
        role: 'CHAMPION',
        deploymentRevision: -1,
      };
      return { key: 'card', partition: 0, value: codecs.decision.encode(d), headers: sourceHeaders(topics.transactions, offset) };
    };
    const deadLetter = (offset: number) => {
      const d: DeadLetter = { errorCode: 'MALFORMED_AVRO', reason: 'test', retryable: false, source: { topic: topics.transactions, partition: 0, offset }, payload: null, failedAt: 0 };
      return { key: null, partition: 0, value: codecs.deadLetter.encode(d), headers: sourceHeaders(topics.transactions, offset) };
    };

    producer = kafka.producer({ transactionalId: `${topics.group}-audit-self-test`, idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const txn = async (messages: ReturnType<typeof decision>[], dlq: ReturnType<typeof deadLetter>[], end: 'commit' | 'abort' | 'open') => {
      const t = await producer.transaction();
      const topicMessages = [{ topic: topics.decisions, messages }];
      if (dlq.length) topicMessages.push({ topic: topics.dlq, messages: dlq as unknown as typeof messages });
      await t.sendBatch({ topicMessages, acks: -1 });
      if (end === 'commit') await t.commit();
      if (end === 'abort') await t.abort();
      return t;
    };
    await txn([decision(0), decision(1), decision(2)], [], 'commit');
    await txn([decision(3)], [], 'abort'); // input 3: only an aborted copy → lost
    await txn([decision(1)], [deadLetter(4)], 'commit'); // input 1 twice → duplicate; input 4 dead-lettered
    await txn([decision(99)], [], 'commit'); // outside [0, 6) → foreign
    const open = await txn([decision(5)], [], 'open'); // input 5: open at audit time → lost, open record

    try {
      const r = await auditRun(kafka, { transactions: topics.transactions, decisions: topics.decisions, dlq: topics.dlq }, codecs, { timeoutMs: 30_000 });
      expect(r.inputs).toBe(6);
      expect(r.lost).toEqual([
        { partition: 0, from: '3', to: '3', count: 1 },
        { partition: 0, from: '5', to: '5', count: 1 },
      ]);
      expect(r.duplicate.map((d) => d.source)).toEqual([{ partition: 0, offset: '1' }]);
      expect(r.duplicate[0]!.outputs).toHaveLength(2);
      expect(r.abortedCopies).toBe(1);
      expect(r.abortedRead).toEqual([]);
      expect(r.foreign.map((f) => f.source.offset)).toEqual(['99']);
      expect(r.openRecords).toBe(1);
      expect(r.deadLetters).toBe(1);
      expect(r.ok).toBe(false);

      // A reader that returns uncommitted data as committed: the aborted and the open copy are aborted reads.
      const broken = await auditRun(kafka, { transactions: topics.transactions, decisions: topics.decisions, dlq: topics.dlq }, codecs, { timeoutMs: 30_000, brokenCommittedReader: true });
      expect(broken.abortedRead.map((a) => [a.source.offset, a.txn]).sort()).toEqual([
        ['3', 'aborted'],
        ['5', 'open'],
      ]);
      expect(broken.ok).toBe(false);
    } finally {
      await open.abort();
    }
    // Once the open transaction ended, its copy is an aborted one and nothing is open.
    const after = await auditRun(kafka, { transactions: topics.transactions, decisions: topics.decisions, dlq: topics.dlq }, codecs, { timeoutMs: 30_000 });
    expect(after.abortedCopies).toBe(2);
    expect(after.openRecords).toBe(0);
  });
});

function sourceHeaders(topic: string, offset: number): Record<string, string> {
  return { [HEADERS.source]: `${topic}/0/${offset}@0` };
}
