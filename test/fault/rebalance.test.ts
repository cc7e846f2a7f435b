/**
 * Scenario 3: instances come and go while the simulator publishes.
 *   1 → 3 instances (B and C join), then B is SIGSTOPped past the session timeout: the group
 *   evicts it and hands its partition to A or C, whose producer initialises the partition's
 *   transactional id and so fences B's producer. B is then resumed (SIGCONT): a zombie that
 *   still believes it owns its partition. Its writes must be fenced; it must exit non-zero.
 *   3 → 1: C is stopped (SIGTERM), B is gone; A finishes the stream alone.
 * B runs a slow model (1 s per chunk), so that it is almost certainly in the middle of a
 * chunk when it is stopped and writes as soon as it is resumed. Session timeout 6 s
 * (FRAUD_SESSION_TIMEOUT_MS, the broker's minimum). Labels lead by two simulated days.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kafka } from 'kafkajs';
import { publishEvents, simulate, type SimEvent } from '../../services/simulator/src/index.js';
import { deleteTopics, freshTopics, testKafka, type TestTopics } from '../helpers/kafka.js';
import { auditScenario, committedCount, describeExit, eosEnv, expectClean, launchScorer, logLines, OUTCOME_LEAD_MS, referenceFeatures, sleep, until, waitCommittedToEnd, waitExit, withOutcomeLead, type Exit, type ScorerProcess } from './harness.js';

const WORLD = { seed: 23, customers: 100, terminals: 200, days: 14 };
const RATE = 110; // events/s: publishing spans all phases (≈ 35-40 s)
const SESSION_TIMEOUT_MS = 6_000;
const FENCED = /fenc|old epoch|INVALID_PRODUCER_EPOCH|PRODUCER_FENCED/i;

describe('scenario 3: rebalance 1 → 3 → 1 instances while publishing, with a zombie (exactly-once)', () => {
  let kafka: Kafka;
  let events: SimEvent[];
  let reference: Map<string, Float64Array>;
  const created: TestTopics[] = [];
  const procs: ScorerProcess[] = [];

  beforeAll(async () => {
    kafka = testKafka('fraudscore-fault');
    events = [...simulate(WORLD)];
    reference = await referenceFeatures(events);
  });

  afterAll(async () => {
    for (const p of procs) await p.stop(5_000).catch(() => {});
    for (const t of created) await deleteTopics(kafka, t).catch(() => {});
  });

  it('zombie writes are fenced; nothing lost or doubled across the rebalances', async () => {
    const startedAt = Date.now();
    const topics = await freshTopics(kafka, 3);
    const env = eosEnv(topics, { FRAUD_SESSION_TIMEOUT_MS: String(SESSION_TIMEOUT_MS) });
    const launch = async (extra: Record<string, string>, name: string) => {
      const p = await launchScorer({ ...env, FRAUD_INSTANCE_ID: name, ...extra }, `fault-3-${name}`);
      procs.push(p);
      return p;
    };

    const a = await launch({}, 'A');
    await a.ready();
    const publishing = publishEvents(kafka, withOutcomeLead(events, OUTCOME_LEAD_MS), { topics, rate: RATE });
    await until(async () => (await committedCount(kafka, topics.group, topics.transactions)) >= 100, 60_000, 'A commits 100 inputs');

    // 1 → 3
    const b = await launch({ FRAUD_INJECT_MODEL_DELAY_MS: '1000' }, 'B-zombie');
    const c = await launch({}, 'C');
    await Promise.all([b.ready(), c.ready()]);
    const assignedTo = (p: ScorerProcess) => logLines(p.log(), /"msg":"partitions assigned"/).at(-1) ?? '';
    await until(() => /"partitions":\[\d\]/.test(assignedTo(b)) && /"partitions":\[\d\]/.test(assignedTo(c)), 60_000, 'B and C own one partition each');
    const bPartition = Number(/"partitions":\[(\d)\]/.exec(assignedTo(b))![1]);
    // Let B start a slow chunk, then freeze it past the session timeout.
    await until(async () => (await committedOffsetsOf(kafka, topics, bPartition)) > 0n, 60_000, `B commits on partition ${bPartition}`);
    await sleep(300);
    b.child.kill('SIGSTOP');
    const stoppedAt = Date.now();
    // The group evicts B and gives its partition to A or C.
    await until(() => [a, c].some((p) => new RegExp(`"partitions":\\[[\\d,]*${bPartition}[\\d,]*\\]`).test(assignedTo(p))), 60_000, `partition ${bPartition} reassigned after B was stopped`);
    await sleep(Math.max(0, SESSION_TIMEOUT_MS + 2_000 - (Date.now() - stoppedAt)));
    const newOwner = [a, c].find((p) => new RegExp(`"partitions":\\[[\\d,]*${bPartition}[\\d,]*\\]`).test(assignedTo(p)))!;
    // The new owner has processed (and so committed) something on B's partition: its producer is initialised.
    const beforeResume = await committedOffsetsOf(kafka, topics, bPartition);
    await until(async () => (await committedOffsetsOf(kafka, topics, bPartition)) > beforeResume, 60_000, `${newOwner.name} commits on partition ${bPartition}`);
    b.child.kill('SIGCONT');
    const zombieExit = await waitExit(b, 60_000, 'the zombie should be fenced and exit');
    const zombieLog = b.log();
    const fencedLines = logLines(zombieLog, FENCED);
    console.log(`[3] zombie B (partition ${bPartition}, stopped ${Math.round((Date.now() - stoppedAt) / 1000)} s) exited with ${describeExit(zombieExit)}; fencing log lines: ${fencedLines.length}; first: ${fencedLines[0]?.slice(0, 400)}`);
    expect(zombieExit.code === 0 && zombieExit.signal === null, 'zombie exited cleanly').toBe(false);
    expect(zombieExit.code).toBe(1);
    expect(fencedLines.length, 'the zombie logs why it stopped: its producer was fenced').toBeGreaterThan(0);

    // 3 → 1
    const cExit = await c.stop();
    expect(cExit).toEqual({ code: 0, signal: null });
    await publishing;
    await waitCommittedToEnd(kafka, topics.group, topics.transactions, 180_000);
    const aExit = await a.stop();
    expect(aExit).toEqual({ code: 0, signal: null });

    const exits: Exit[] = [zombieExit, cExit, aExit];
    const rebalancesSeenByA = logLines(a.log(), /"msg":"partitions assigned"/).length;
    const outcome = await auditScenario({
      kafka,
      topics,
      scenario: '3 rebalance 1→3→1 + zombie',
      rounds: 4,
      reference,
      startedAt,
      starts: 3,
      exits,
      notes: `zombie B (SIGSTOP ${SESSION_TIMEOUT_MS / 1000}+ s) fenced: exit ${describeExit(zombieExit)}; A saw ${rebalancesSeenByA} assignments`,
    });
    expectClean(outcome);
    created.push(topics);
  });
});

async function committedOffsetsOf(kafka: Kafka, topics: TestTopics, partition: number): Promise<bigint> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [t] = await admin.fetchOffsets({ groupId: topics.group, topics: [topics.transactions] });
    return BigInt(t?.partitions.find((p) => p.partition === partition)?.offset ?? '-1');
  } finally {
    await admin.disconnect();
  }
}
