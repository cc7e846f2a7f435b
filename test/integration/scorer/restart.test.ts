/**
 * At-least-once: killing the scorer with SIGKILL mid-stream and restarting it loses no event.
 * Duplicates are allowed in this mode (a chunk produced but not yet committed is re-scored);
 * they are counted and reported.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Kafka } from 'kafkajs';
import { createCodecs } from '../../../services/common/src/contracts.js';
import { publishEvents, simulate } from '../../../services/simulator/src/index.js';
import { deleteTopics, freshTopics, readTopic, testKafka, type TestTopics } from '../../helpers/kafka.js';
import { scorerEnv, spawnScorer } from '../../helpers/scorer.js';

const codecs = createCodecs('confluent');

describe('at-least-once restart after kill -9', () => {
  const kafka: Kafka = testKafka();
  let topics: TestTopics | undefined;
  afterAll(async () => {
    if (topics) await deleteTopics(kafka, topics);
  });

  it('every input gets a decision after a restart; duplicates are counted', async () => {
    topics = await freshTopics(kafka, 2);
    const events = [...simulate({ seed: 21, customers: 300, terminals: 600, days: 15 })];
    const total = events.filter((e) => e.kind === 'transaction').length;
    // Crash at the second commit, after its chunks were produced but before their offsets were
    // committed (the default interval: a commit a second).
    const env = scorerEnv(topics, { FRAUD_DELIVERY: 'at-least-once', FRAUD_MAX_BATCH: '100' });
    const first = await spawnScorer({ ...env, FRAUD_CRASH_POINT: 'after-send-before-offsets', FRAUD_CRASH_AFTER: '2' }, 'restart-alo-first');
    const publishing = publishEvents(kafka, events, { topics, rate: 3000 });
    expect(await first.exited).toBe(null); // killed by SIGKILL at the crash point
    const second = await spawnScorer(env, 'restart-alo-second');
    try {
      await publishing;
      // Everything since the first commit is re-scored: read until every input has a decision.
      const unique = new Set<string>();
      const records = await readTopic(
        kafka,
        topics.decisions,
        (read) => (unique.add(codecs.decision.decode(read.at(-1)!.value!).transactionId), unique.size >= total),
        60_000,
      );
      const ids = records.map((r) => codecs.decision.decode(r.value!).transactionId);
      const lost = events.filter((e) => e.kind === 'transaction' && !unique.has(e.tx.transactionId)).length;
      console.log(`restart (at-least-once): ${total} inputs, ${records.length} decisions, ${lost} lost, ${ids.length - unique.size} duplicates`);
      expect(lost).toBe(0);
      expect(unique.size).toBe(total);
      expect(ids.length - unique.size).toBeGreaterThan(0); // the crash point guarantees re-scored chunks
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  });
});
