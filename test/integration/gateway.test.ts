/**
 * The REST gateway on the real broker with a real scorer (both child processes through the
 * CLI, so either can be killed -9):
 *
 *   - every request gets exactly one answer, and a non-degraded answer is the decision on
 *     fraud-decisions (read_committed) for that transaction; the stream holds exactly one
 *     decision per transaction;
 *   - a retry of the same transaction id is answered without publishing it again;
 *   - the scorer killed -9 while requests wait: each is answered (degraded) within the deadline
 *     plus a margin, none hangs; after a restart every transaction has exactly one committed
 *     decision;
 *   - the gateway killed -9 while a request waits: the client's retry to the restarted gateway
 *     publishes nothing new, and gets the real decision once the scorer has made it.
 */
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCodecs, type Decision, type Transaction } from '../../services/common/src/contracts.js';
import { deleteTopics, freshTopics, readTopic, testKafka, type TestTopics } from '../helpers/kafka.js';
import { gatewayEnv, score, spawnGateway, type ChildGateway } from '../helpers/gateway.js';
import { scorerEnv, spawnScorer, type ChildScorer } from '../helpers/scorer.js';

const codecs = createCodecs('confluent');
const DEADLINE_MS = 400;
/**
 * The kill cases (~55 s: a scorer restart, a gateway restart) run with the librdkafka scorer
 * (the default client) only: they test the gateway's deadline and ledger, which do not depend
 * on the scorer's client, and the scorer's own recovery from kill -9 is the fault suites' work
 * on both clients. The reply path itself (the first two cases) runs on both.
 */
const KILL_TESTS = (process.env.FRAUD_KAFKA_CLIENT ?? 'librdkafka') === 'librdkafka';

let n = 0;
function transaction(card = n % 17): Transaction {
  n++;
  return {
    transactionId: `gw-tx-${String(n).padStart(6, '0')}`, cardToken: `card-${String(card).padStart(6, '0')}`, terminalId: `term-${String(n % 23).padStart(6, '0')}`,
    amountMinor: 500 + ((n * 7919) % 40_000), currency: 'EUR', eventTime: Date.now() - 1000, merchantId: null, merchantCategoryCode: null, merchantCountry: null,
    channel: 'POS', entryMode: 'CHIP', cardPresent: true,
  };
}

/** Every committed decision on the topic, by transaction id (all of them, to count duplicates). */
async function decisions(kafka: Kafka, topic: string, expected: number): Promise<Map<string, Decision[]>> {
  const read = await readTopic(kafka, topic, expected, 60_000);
  const by = new Map<string, Decision[]>();
  for (const r of read) {
    const d = codecs.decision.decode(r.value!);
    by.set(d.transactionId, [...(by.get(d.transactionId) ?? []), d]);
  }
  return by;
}

async function transactionsOnTopic(kafka: Kafka, topic: string, atLeast: number): Promise<string[]> {
  return (await readTopic(kafka, topic, atLeast, 30_000)).map((r) => codecs.transaction.decode(r.value!).transactionId);
}

describe('REST gateway with a real scorer on a real broker', () => {
  const kafka = testKafka('fraudscore-test-gateway');
  let topics: TestTopics;
  let scorer: ChildScorer | undefined;
  let gateway: ChildGateway | undefined;
  const sent: Transaction[] = [];
  const answers = new Map<string, Record<string, unknown>>();

  beforeAll(async () => {
    topics = await freshTopics(kafka, 2);
    scorer = await spawnScorer(scorerEnv(topics), 'gateway-scorer');
    gateway = await spawnGateway(gatewayEnv(topics, { FRAUD_DECISION_DEADLINE_MS: String(DEADLINE_MS) }), 'gateway');
  }, 180_000);

  afterAll(async () => {
    scorer?.child.kill('SIGKILL');
    gateway?.child.kill('SIGKILL');
    if (topics) await deleteTopics(kafka, topics);
  });

  it('answers every request once, with the decision the stream holds for it', async () => {
    const batch = Array.from({ length: 120 }, () => transaction());
    // Ten callers at a time.
    for (let i = 0; i < batch.length; i += 10) {
      const part = batch.slice(i, i + 10);
      const got = await Promise.all(part.map((t) => score(gateway!.url, t)));
      got.forEach((g, k) => {
        expect(g.status).toBe(200);
        answers.set(part[k]!.transactionId, g.body);
      });
    }
    sent.push(...batch);
    const onStream = await decisions(kafka, topics.decisions, batch.length);
    let decided = 0;
    for (const t of batch) {
      const ds = onStream.get(t.transactionId) ?? [];
      expect(ds, t.transactionId).toHaveLength(1);
      const a = answers.get(t.transactionId)!;
      if (a.degraded === false) {
        decided++;
        expect(a).toMatchObject({ decision: ds[0]!.decision, reasons: ds[0]!.reasons, score: ds[0]!.score });
      }
    }
    // A warm scorer answers nearly all within the deadline.
    expect(decided).toBeGreaterThan(batch.length * 0.8);
  }, 120_000);

  it('a retry of the same transaction is answered without a second publish', async () => {
    const before = await transactionsOnTopic(kafka, topics.transactions, sent.length);
    const retried = sent.slice(0, 20);
    for (const t of retried) {
      const again = await score(gateway!.url, t);
      expect(again.status).toBe(200);
      const first = answers.get(t.transactionId)!;
      if (first.degraded === false) expect(again.body).toEqual(first);
      else expect(again.body.transactionId).toBe(t.transactionId);
    }
    const after = await transactionsOnTopic(kafka, topics.transactions, before.length);
    expect(after.length).toBe(before.length);
    expect(new Set(after).size).toBe(after.length);
  }, 60_000);

  it.runIf(KILL_TESTS)('the scorer killed -9 while requests wait: degraded answers within the deadline, then one decision each after a restart', async () => {
    scorer!.child.kill('SIGKILL');
    await scorer!.exited;
    const batch = Array.from({ length: 20 }, () => transaction());
    const started = performance.now();
    const got = await Promise.all(batch.map((t) => score(gateway!.url, t)));
    const tookMs = performance.now() - started;
    for (const g of got) expect(g).toMatchObject({ status: 200, body: { degraded: true } });
    expect(got.every((g) => (g.body.reasons as string[])[0] === 'DEADLINE_EXCEEDED')).toBe(true);
    // No request hangs: all were answered about one deadline after they were sent.
    expect(tookMs).toBeLessThan(DEADLINE_MS + 2000);
    sent.push(...batch);

    scorer = await spawnScorer(scorerEnv(topics), 'gateway-scorer-restarted');
    const onStream = await decisions(kafka, topics.decisions, sent.length);
    for (const t of sent) expect(onStream.get(t.transactionId), t.transactionId).toHaveLength(1);
  }, 180_000);

  it.runIf(KILL_TESTS)('the gateway killed -9 while a request waits: the retry publishes nothing new and gets the real decision', async () => {
    // Hold the scorer (SIGSTOP) so the request waits past its deadline with no decision.
    scorer!.child.kill('SIGSTOP');
    const t = transaction();
    const first = await score(gateway!.url, t);
    expect(first.body).toMatchObject({ degraded: true });
    gateway!.child.kill('SIGKILL');
    await gateway!.exited;
    gateway = await spawnGateway(gatewayEnv(topics, { FRAUD_DECISION_DEADLINE_MS: String(DEADLINE_MS) }), 'gateway-restarted');
    const onTopic = await transactionsOnTopic(kafka, topics.transactions, sent.length + 1);

    scorer!.child.kill('SIGCONT');
    // The retry, after the restart: the same transaction is not published again...
    let retry = await score(gateway.url, t);
    for (let i = 0; i < 20 && retry.body.degraded !== false; i++) retry = await score(gateway.url, t);
    const after = await transactionsOnTopic(kafka, topics.transactions, onTopic.length);
    expect(after.filter((id) => id === t.transactionId)).toHaveLength(1);
    expect(after.length).toBe(onTopic.length);
    // ...and, once the scorer decides, its answer is that decision.
    const onStream = await decisions(kafka, topics.decisions, sent.length + 1);
    expect(onStream.get(t.transactionId)).toHaveLength(1);
    expect(retry.body).toMatchObject({ degraded: false, decision: onStream.get(t.transactionId)![0]!.decision });
  }, 180_000);
});
