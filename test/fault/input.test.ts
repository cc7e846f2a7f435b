/**
 * Scenario 4: what the input can do to a running exactly-once scorer.
 *   a) poison pills (every kind in services/simulator/src/poison.ts) and a schema change
 *      mid-stream: the middle third of the transactions is written with an evolved writer
 *      schema (schema id 9002, schemas/test-vectors/Transaction-with-deviceFingerprint.avsc:
 *      Transaction plus an optional field with a default). Evolved records must be scored
 *      (features identical to the reference), poison dead-lettered with its code, nothing
 *      lost or doubled.
 *   b) a slow model (2 s per call, FRAUD_INJECT_MODEL_DELAY_MS, blocking the event loop like a
 *      heavy graph) with the shortest session timeout the broker allows (6 s): no rebalance
 *      storm, i.e. exactly one 'partitions assigned' and no kafkajs re-join.
 * Labels lead by two simulated days (withOutcomeLead in harness.ts), so terminal features
 * can be compared exactly too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kafka, Message } from 'kafkajs';
import { loadSchema } from '../../services/common/src/avro.js';
import { createCodecs } from '../../services/common/src/contracts.js';
import { publishEvents, simulate, type SimEvent } from '../../services/simulator/src/index.js';
import { EXPECTED_CODE, POISON_KINDS, poisonRecord } from '../../services/simulator/src/poison.js';
import { deleteTopics, freshTopics, testKafka, type TestTopics } from '../helpers/kafka.js';
import { auditScenario, eosEnv, expectClean, launchScorer, logLines, OUTCOME_LEAD_MS, publishMessages, referenceFeatures, waitCommittedToEnd, withOutcomeLead } from './harness.js';

const EVOLVED_SCHEMA_ID = 9002;
const evolved = loadSchema('test-vectors/Transaction-with-deviceFingerprint.avsc');
const codecs = createCodecs('confluent');

function evolvedValue(tx: object, fingerprint: string): Buffer {
  const body = evolved.toBuffer({ ...tx, deviceFingerprint: fingerprint });
  const header = Buffer.alloc(5);
  header.writeUInt32BE(EVOLVED_SCHEMA_ID, 1);
  return Buffer.concat([header, body]);
}

describe('scenario 4: poison, schema change and a slow model (exactly-once)', () => {
  let kafka: Kafka;
  const created: TestTopics[] = [];

  beforeAll(() => {
    kafka = testKafka('fraudscore-fault');
  });

  afterAll(async () => {
    for (const t of created) await deleteTopics(kafka, t).catch(() => {});
  });

  it('a) poison pills are dead-lettered and evolved-schema records scored, mid-stream', async () => {
    const startedAt = Date.now();
    const events: SimEvent[] = [...simulate({ seed: 24, customers: 100, terminals: 200, days: 14 })];
    const reference = await referenceFeatures(events);
    const txCount = events.filter((e) => e.kind === 'transaction').length;
    const topics = await freshTopics(kafka, 3);

    // The stream as written: simulated events in order, the middle third of the transactions
    // with the evolved writer schema, one poison record of every kind after the first and
    // after the second third.
    const messages: { topic: string; message: Message }[] = [];
    const evolvedIds = new Set<string>();
    const poisonCodes = new Map<string, number>();
    let nth = 0;
    for (const e of withOutcomeLead(events, OUTCOME_LEAD_MS)) {
      if (e.kind === 'outcome') {
        messages.push({ topic: topics.outcomes, message: { key: e.outcome.terminalId, value: codecs.outcome.encode(e.outcome) } });
        continue;
      }
      nth++;
      const inMiddle = nth > txCount / 3 && nth <= (2 * txCount) / 3;
      if (inMiddle) evolvedIds.add(e.tx.transactionId);
      const value = inMiddle ? evolvedValue(e.tx, `fp-${nth}`) : codecs.transaction.encode(e.tx);
      messages.push({ topic: topics.transactions, message: { key: e.tx.cardToken, value } });
      if (nth === Math.floor(txCount / 3) || nth === Math.floor((2 * txCount) / 3)) {
        for (const kind of POISON_KINDS) {
          const p = poisonRecord(kind, e.tx);
          messages.push({ topic: topics.transactions, message: { key: p.key, value: p.value } });
          poisonCodes.set(EXPECTED_CODE[kind], (poisonCodes.get(EXPECTED_CODE[kind]) ?? 0) + 1);
        }
      }
    }
    const poisonCount = [...poisonCodes.values()].reduce((a, b) => a + b, 0);

    const scorer = await launchScorer(eosEnv(topics), 'fault-4a-poison-schema');
    await scorer.ready();
    await publishMessages(kafka, messages, { rate: 400 });
    await waitCommittedToEnd(kafka, topics.group, topics.transactions, 180_000);
    const exit = await scorer.stop();
    expect(exit).toEqual({ code: 0, signal: null });

    const outcome = await auditScenario({
      kafka,
      topics,
      scenario: '4a poison + schema change',
      rounds: 2,
      reference,
      startedAt,
      starts: 1,
      exits: [exit],
      notes: `${poisonCount} poison (${POISON_KINDS.length} kinds × 2), ${evolvedIds.size} tx with writer schema ${EVOLVED_SCHEMA_ID}`,
    });
    expectClean(outcome);
    const { report } = outcome;
    expect(report.inputs).toBe(txCount + poisonCount);
    // Every simulated transaction decided exactly once, the evolved ones included …
    const decided = new Set(report.committedDecisions.map((d) => d.transactionId));
    expect(report.decisions).toBe(txCount);
    expect(decided.size).toBe(txCount);
    expect([...evolvedIds].filter((id) => !decided.has(id))).toEqual([]);
    // … and every poison record dead-lettered with the code of its kind.
    const codes = new Map<string, number>();
    for (const d of report.committedDeadLetters) codes.set(d.errorCode, (codes.get(d.errorCode) ?? 0) + 1);
    expect(Object.fromEntries(codes)).toEqual(Object.fromEntries(poisonCodes));
    created.push(topics);
  });

  it('b) a slow model (2 s per call, 6 s session timeout) causes no rebalance storm', async () => {
    const startedAt = Date.now();
    const events: SimEvent[] = [...simulate({ seed: 25, customers: 25, terminals: 50, days: 10 })];
    const reference = await referenceFeatures(events);
    const topics = await freshTopics(kafka, 3);
    await publishEvents(kafka, withOutcomeLead(events, OUTCOME_LEAD_MS), { topics });
    const scorer = await launchScorer(eosEnv(topics, { FRAUD_INJECT_MODEL_DELAY_MS: '2000', FRAUD_MAX_BATCH: '25', FRAUD_SESSION_TIMEOUT_MS: '6000' }), 'fault-4b-slow-model');
    await scorer.ready();
    await waitCommittedToEnd(kafka, topics.group, topics.transactions, 240_000);
    const exit = await scorer.stop();
    expect(exit).toEqual({ code: 0, signal: null });
    const log = scorer.log();
    const assigned = logLines(log, /"msg":"partitions assigned"/);
    const rejoins = logLines(log, /re-joining|rebalancing|not aware of this member|Crash:/i);
    const seconds = Math.round((Date.now() - startedAt) / 1000);
    console.log(`[4b] slow model: ${assigned.length} assignment(s), ${rejoins.length} re-join/rebalance/crash line(s) in ${seconds} s`);

    const outcome = await auditScenario({
      kafka,
      topics,
      scenario: '4b slow model (2 s/call)',
      rounds: 1,
      reference,
      startedAt,
      starts: 1,
      exits: [exit],
      notes: `${assigned.length} assignment(s), ${rejoins.length} re-joins; session timeout 6 s`,
    });
    expectClean(outcome);
    expect(assigned.length).toBe(1);
    expect(rejoins).toEqual([]);
    created.push(topics);
  });
});
