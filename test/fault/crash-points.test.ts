/**
 * Scenario 1: kill -9 at each crash point, twice, while the simulator publishes; then a clean
 * scorer finishes the stream. Crash points (services/scorer/src/crash-points.ts):
 *   mid-batch                    features computed, nothing sent
 *   after-send-before-offsets    outputs in an open transaction, offsets not yet in it
 *   after-offsets-before-commit  outputs and offsets in an open transaction
 *   after-commit                 committed, the in-memory position not yet advanced
 * The two middle points leave an open transaction that the next owner's producer (same
 * transactional id) aborts: the read-uncommitted reader must find those aborted copies.
 * Labels lead by two simulated days (withOutcomeLead in harness.ts), so terminal features
 * can be compared exactly too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kafka } from 'kafkajs';
import { publishEvents, simulate, type SimEvent } from '../../services/simulator/src/index.js';
import { deleteTopics, freshTopics, testKafka, type TestTopics } from '../helpers/kafka.js';
import { auditScenario, eosEnv, expectClean, launchScorer, OUTCOME_LEAD_MS, referenceFeatures, waitCommittedToEnd, waitExit, withOutcomeLead, type Exit } from './harness.js';

const WORLD = { seed: 21, customers: 100, terminals: 200, days: 14 }; // ≈ 2,400 transactions + 2,400 outcomes
const RATE = 250; // events/s: publishing lasts ≈ 20 s, across both crashes and the final run
const POINTS = ['mid-batch', 'after-send-before-offsets', 'after-offsets-before-commit', 'after-commit'] as const;
/** Hit counts for round 1 and round 2 (a later hit). */
const ROUNDS = [4, 9] as const;

describe('scenario 1: kill -9 at each crash point, 2 rounds each, while publishing (exactly-once)', () => {
  let kafka: Kafka;
  let events: SimEvent[];
  let published: SimEvent[];
  let reference: Map<string, Float64Array>;
  const created: TestTopics[] = [];

  beforeAll(async () => {
    kafka = testKafka('fraudscore-fault');
    events = [...simulate(WORLD)];
    published = withOutcomeLead(events, OUTCOME_LEAD_MS);
    reference = await referenceFeatures(events);
  });

  afterAll(async () => {
    for (const t of created) await deleteTopics(kafka, t).catch(() => {});
  });

  it.each(POINTS)('crash point %s', async (point) => {
    const startedAt = Date.now();
    const topics = await freshTopics(kafka, 3);
    const publishing = publishEvents(kafka, published, { topics, rate: RATE });
    const exits: Exit[] = [];
    let starts = 0;
    for (const [i, after] of ROUNDS.entries()) {
      const p = await launchScorer(eosEnv(topics, { FRAUD_CRASH_POINT: point, FRAUD_CRASH_AFTER: String(after) }), `fault-1-${point}-round${i + 1}`);
      starts++;
      const exit = await waitExit(p, 150_000, `expected SIGKILL at ${point}, hit ${after}`);
      exits.push(exit);
      // The crash point killed it, nothing else: SIGKILL, after arming.
      expect(exit, p.log().slice(-3000)).toEqual({ code: null, signal: 'SIGKILL' });
      expect(p.log()).toMatch(/crash point armed/);
    }
    const final = await launchScorer(eosEnv(topics), `fault-1-${point}-final`);
    starts++;
    await publishing;
    await waitCommittedToEnd(kafka, topics.group, topics.transactions, 180_000);
    exits.push(await final.stop());
    expect(exits.at(-1)).toEqual({ code: 0, signal: null });

    const outcome = await auditScenario({ kafka, topics, scenario: `1 kill -9 @ ${point}`, rounds: ROUNDS.length, reference, startedAt, starts, exits, notes: `crash at hits ${ROUNDS.join(', ')}; final clean run` });
    expectClean(outcome);
    expect(outcome.report.decisions + outcome.report.deadLetters).toBe(outcome.report.inputs);
    if (point === 'after-send-before-offsets' || point === 'after-offsets-before-commit') {
      // Each crash left one open transaction with outputs; the next owner aborted it.
      expect(outcome.report.abortedCopies).toBeGreaterThanOrEqual(ROUNDS.length);
    }
    created.push(topics); // a failed scenario's topics stay for inspection (the suite's broker is purged at the end)
  });
});
