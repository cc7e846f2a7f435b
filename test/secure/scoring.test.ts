/**
 * The scorer over SASL_SSL as its own principal, with only its ACLs: the simulator publishes as
 * `publisher`, the scorer (on each Kafka client) decides every transaction exactly once, and an
 * exactly-once scorer killed -9 inside a transaction, then restarted, still leaves exactly one
 * committed output per input. The audit reads as `admin`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createCodecs } from '../../services/common/src/contracts.js';
import { KAFKA_CLIENTS } from '../../services/scorer/src/config.js';
import { applyAcls, DEFAULT_ACL_PLAN } from '../../services/cli/src/security/acls.js';
import { publishEvents, simulate, type SimEvent } from '../../services/simulator/src/index.js';
import { auditRun, describeFailures, type AuditReport } from '../helpers/audit.js';
import { deleteTopics, freshTopics, testKafka, type TestTopics } from '../helpers/kafka.js';
import { adminByDefault, principalEnv, principalSecurity, secureKafka } from '../helpers/secure-kafka.js';
import { eosEnv, launchScorer, waitCommittedToEnd, waitExit } from '../fault/harness.js';

adminByDefault();

const WORLD = { seed: 11, customers: 120, terminals: 240, days: 10 }; // ≈ 1,400 transactions
const codecs = createCodecs('confluent');

async function securedTopics(created: TestTopics[]): Promise<TestTopics> {
  const topics = await freshTopics(testKafka(), 2);
  created.push(topics);
  const admin = testKafka().admin();
  await admin.connect();
  await applyAcls(admin, { ...DEFAULT_ACL_PLAN, topics, scorerGroup: topics.group, monitorGroup: `m-${topics.group}` });
  await admin.disconnect();
  return topics;
}

async function expectExactlyOnce(topics: TestTopics, transactions: number): Promise<AuditReport> {
  const report = await auditRun(testKafka(), { transactions: topics.transactions, decisions: topics.decisions, dlq: topics.dlq, flags: topics.flags }, codecs);
  const failures = describeFailures(report);
  expect(report.inputs).toBe(transactions);
  expect(report.lostCount, failures).toBe(0);
  expect(report.duplicate.length, failures).toBe(0);
  expect(report.abortedRead.length, failures).toBe(0);
  expect(report.ok, failures).toBe(true);
  expect(report.decisions + report.deadLetters).toBe(report.inputs);
  return report;
}

describe('scorer over SASL_SSL with ACLs', () => {
  let events: SimEvent[];
  let transactions: number;
  const created: TestTopics[] = [];

  beforeAll(() => {
    events = [...simulate(WORLD)].filter((e) => e.kind === 'transaction');
    transactions = events.length;
  });
  afterAll(async () => {
    for (const t of created) await deleteTopics(testKafka(), t).catch(() => {});
  });

  it.each(KAFKA_CLIENTS)('decides every transaction exactly once as principal "scorer" (%s)', async (client) => {
    const topics = await securedTopics(created);
    await publishEvents(secureKafka('publisher'), events, { topics });
    const scorer = await launchScorer(eosEnv(topics, { ...principalEnv('scorer'), FRAUD_KAFKA_CLIENT: client }), `secure-scoring-${client}`);
    await waitCommittedToEnd(testKafka(), topics.group, topics.transactions, 120_000);
    expect(await scorer.stop()).toEqual({ code: 0, signal: null });
    const log = readFileSync(scorer.logFile, 'utf8');
    expect(log).toContain('"kafka":"SASL_SSL SCRAM-SHA-512 as scorer"');
    // The password is in the scorer's memory only: never in its log.
    expect(log).not.toContain(principalSecurity('scorer').sasl!.password);
    await expectExactlyOnce(topics, transactions);
  });

  it('decides what a Python confluent-kafka producer sends over SASL_SSL as "publisher", lz4-compressed', async () => {
    const topics = await securedTopics(created);
    const python = execFileSync('bash', ['services/trainer/setup.sh'], { encoding: 'utf8' }).trim().split('\n').at(-1)!;
    const lines = events.map((e) => (e.kind === 'transaction' ? JSON.stringify({ key: e.tx.cardToken, value: codecs.transaction.encode(e.tx).toString('base64') }) : '')).join('\n');
    const out = execFileSync(python, ['test/fixtures/external-producers/publish_raw.py', '--brokers', principalEnv('publisher').FRAUD_KAFKA_BROKERS!, '--topic', topics.transactions, '--compression', 'lz4', '--linger-ms', '50'], {
      input: lines,
      encoding: 'utf8',
      env: { ...process.env, ...principalEnv('publisher') },
      timeout: 120_000,
    });
    expect(JSON.parse(out.trim().split('\n').at(-1)!)).toEqual({ done: transactions });
    const scorer = await launchScorer(eosEnv(topics, principalEnv('scorer')), 'secure-scoring-python');
    await waitCommittedToEnd(testKafka(), topics.group, topics.transactions, 120_000);
    expect(await scorer.stop()).toEqual({ code: 0, signal: null });
    const report = await expectExactlyOnce(topics, transactions);
    expect(report.deadLetters).toBe(0);
  });

  it('keeps exactly-once across a kill -9 between offsets and commit', async () => {
    const topics = await securedTopics(created);
    // Published while the scorer runs (≈ 4 s), so it commits many small transactions: the
    // crash point counts commits, and a scorer catching up at once commits only a few.
    const publishing = publishEvents(secureKafka('publisher'), events, { topics, rate: 400 });
    const env = eosEnv(topics, principalEnv('scorer'));
    const crashed = await launchScorer({ ...env, FRAUD_CRASH_POINT: 'after-offsets-before-commit', FRAUD_CRASH_AFTER: '3' }, 'secure-kill');
    expect(await waitExit(crashed, 120_000, 'expected SIGKILL at the crash point')).toEqual({ code: null, signal: 'SIGKILL' });
    const final = await launchScorer(env, 'secure-kill-final');
    await publishing;
    await waitCommittedToEnd(testKafka(), topics.group, topics.transactions, 150_000);
    expect(await final.stop()).toEqual({ code: 0, signal: null });
    const report = await expectExactlyOnce(topics, transactions);
    // The kill left a transaction open with outputs in it; the restarted instance aborted it.
    expect(report.abortedCopies).toBeGreaterThanOrEqual(1);
  });
});
