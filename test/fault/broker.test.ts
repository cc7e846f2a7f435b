/**
 * Scenario 2: the broker dies under exactly-once scorers.
 *   a) SIGKILL and restart (same port, same data) while a scorer is mid-stream.
 *   b) down for longer than the producers' transaction timeout (FRAUD_TRANSACTION_TIMEOUT_MS,
 *      8 s here; outages of 12 s), twice:
 *      1. a scorer is killed at after-send-before-offsets (outputs written in an open
 *         transaction) and the broker goes down with it; nothing with that transactional id
 *         comes back, so only the broker's transaction timeout can end it: the last stable
 *         offset must catch up by itself (otherwise every read-committed consumer stalls),
 *         and a read-uncommitted reader must find the aborted copies;
 *      2. a live scorer through a second outage of the same length.
 * A scorer may ride an outage out or exit non-zero; a supervisor loop restarts it whenever it
 * exits, as production would. Either way the audit must pass.
 *
 * The publisher never writes during an outage (its failed sends would make the published
 * stream, and with it the reference features, uncertain): the first part of the stream is
 * published before the kill, the rest after the restart. Labels lead by two simulated days
 * (withOutcomeLead in harness.ts), so terminal features can be compared exactly too.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kafka } from 'kafkajs';
import { publishEvents, simulate, type SimEvent } from '../../services/simulator/src/index.js';
import { deleteTopics, freshTopics, testKafka, type TestTopics } from '../helpers/kafka.js';
import { transactionOutcomes } from '../helpers/audit.js';
import { auditScenario, broker, committedCount, eosEnv, expectClean, launchScorer, logLines, OUTCOME_LEAD_MS, referenceFeatures, sleep, supervise, until, waitCommittedToEnd, waitExit, withOutcomeLead, type Exit } from './harness.js';

const WORLD = { seed: 22, customers: 100, terminals: 200, days: 14 };
/**
 * Small chunks, each committed (one transaction each): the scorer is mid-transaction most of
 * the time, so a broker kill lands on open work, and a crash point counted per commit is
 * reached on either client (librdkafka commits a whole batch of chunks at once otherwise).
 */
const THROTTLE = { FRAUD_MAX_BATCH: '10', FRAUD_COMMIT_INTERVAL_MS: '0' };
const TXN_TIMEOUT_MS = 8_000;
/** Longer than the transaction timeout. */
const OUTAGE_MS = 12_000;

describe.skipIf(!broker.controllable())('scenario 2: broker SIGKILL / outage under an exactly-once scorer', () => {
  let kafka: Kafka;
  let events: SimEvent[];
  let reference: Map<string, Float64Array>;
  let cut: number;
  const created: TestTopics[] = [];

  beforeAll(async () => {
    kafka = testKafka('fraudscore-fault');
    const simulated = [...simulate(WORLD)];
    reference = await referenceFeatures(simulated);
    events = withOutcomeLead(simulated, OUTCOME_LEAD_MS);
    cut = Math.floor(events.length * 0.6);
  });

  afterAll(async () => {
    await broker.restart().catch(() => {}); // never leave the next file without a broker
    for (const t of created) await deleteTopics(kafka, t).catch(() => {});
  });

  /** Publishes the first part, lets the scorer get going, kills the broker for `downMs`, publishes the rest. */
  const outage = async (scenario: string, topics: TestTopics, downMs: number, alreadyPublished: boolean) => {
    if (!alreadyPublished) await publishEvents(kafka, events.slice(0, cut), { topics });
    const firstPart = events.slice(0, cut).filter((e) => e.kind === 'transaction').length;
    const from = await committedCount(kafka, topics.group, topics.transactions);
    // Mid-stream: some of the first part committed, most of it still to do.
    await until(async () => (await committedCount(kafka, topics.group, topics.transactions)) >= from + 150, 120_000, 'scorer commits 150 more inputs');
    const before = await committedCount(kafka, topics.group, topics.transactions);
    expect(before).toBeLessThan(firstPart);
    await down(downMs);
    console.log(`[${scenario}] broker killed at ${before}/${firstPart} committed inputs of the first part; down ${downMs} ms`);
    await publishEvents(kafka, events.slice(cut), { topics, rate: 600 });
    await waitCommittedToEnd(kafka, topics.group, topics.transactions, 240_000);
  };

  let brokerDown = false;
  const down = async (ms: number) => {
    brokerDown = true;
    await broker.kill();
    await sleep(ms);
    await broker.restart();
    brokerDown = false;
  };

  it('a) broker SIGKILL and restart mid-stream: the scorer rides it out or is restarted; nothing lost or doubled', async () => {
    const startedAt = Date.now();
    const topics = await freshTopics(kafka, 3);
    const sup = supervise(eosEnv(topics, THROTTLE), 'fault-2a-scorer');
    try {
      await sup.ready();
      await outage('2a', topics, 3_000, false);
    } finally {
      if (brokerDown) await broker.restart().catch(() => {}); // the next scenario needs a broker
      await sup.stop();
    }
    const outcome = await auditScenario({ kafka, topics, scenario: '2a broker SIGKILL + restart', rounds: 1, reference, startedAt, starts: sup.starts, exits: sup.exits, notes: `broker down 3 s + restart; supervisor restarts: ${sup.starts - 1}` });
    expectClean(outcome);
    // A failure must end the process with a code (1), never a hang or a clean exit.
    for (const e of sup.exits) expect(e.code === null ? e.signal : e.code).not.toBe(0);
    created.push(topics);
  });

  it('b) broker down longer than the transaction timeout (8 s): an orphaned transaction is aborted by the broker, a live scorer survives or restarts; nothing lost or doubled', async () => {
    const startedAt = Date.now();
    const topics = await freshTopics(kafka, 3);
    const env = eosEnv(topics, { ...THROTTLE, FRAUD_TRANSACTION_TIMEOUT_MS: String(TXN_TIMEOUT_MS) });
    const exits: Exit[] = [];
    let sup: ReturnType<typeof supervise> | undefined;
    let orphanedOpen = 0;
    try {
      await publishEvents(kafka, events.slice(0, cut), { topics });
      // 1. A scorer dies with its transaction open (outputs written, not committed) …
      const orphanMaker = await launchScorer({ ...env, FRAUD_CRASH_POINT: 'after-send-before-offsets', FRAUD_CRASH_AFTER: '5' }, 'fault-2b-orphan');
      exits.push(await waitExit(orphanMaker, 120_000, 'crash point after-send-before-offsets, hit 5'));
      expect(exits[0]).toEqual({ code: null, signal: 'SIGKILL' });
      const orphaned = await transactionOutcomes(kafka, topics.decisions);
      expect(orphaned.open).toBeGreaterThan(0);
      orphanedOpen = orphaned.open;
      // … and the broker goes down with it, for longer than the transaction timeout. No
      // producer with that transactional id comes back: only the broker's timeout can end it.
      await down(OUTAGE_MS);
      const backAt = Date.now();
      let after = orphaned;
      await until(async () => (after = await transactionOutcomes(kafka, topics.decisions)).open === 0, 90_000, 'the broker aborts the timed-out transaction (last stable offset catches up)');
      console.log(`[2b] orphaned transaction: ${orphaned.open} open record(s) before the outage; ${after.aborted} aborted by the broker ${Date.now() - backAt} ms after its restart, with no scorer running`);
      expect(after.aborted).toBeGreaterThanOrEqual(orphaned.open);

      // 2. A live scorer through a second outage longer than the transaction timeout.
      sup = supervise(env, 'fault-2b-scorer');
      await sup.ready();
      await outage('2b', topics, OUTAGE_MS, true);
    } finally {
      if (brokerDown) await broker.restart().catch(() => {});
      await sup?.stop();
    }
    if (!sup) throw new Error('unreachable');
    exits.push(...sup.exits);
    const fenced = Array.from({ length: sup.starts }, (_, i) => readLog(`runs/test-logs/fault-2b-scorer-${i + 1}.log`)).flatMap((t) => logLines(t, /old epoch|fenc|INVALID_PRODUCER_EPOCH|PRODUCER_FENCED/i));
    const outcome = await auditScenario({
      kafka,
      topics,
      scenario: '2b broker down > txn timeout',
      rounds: 2,
      reference,
      startedAt,
      starts: 1 + sup.starts,
      exits,
      notes: `2 outages of ${OUTAGE_MS / 1000} s > transaction timeout ${TXN_TIMEOUT_MS / 1000} s: an orphaned transaction (killed at after-send-before-offsets) aborted by the broker alone; then a live scorer (supervisor restarts: ${sup.starts - 1}, fencing log lines: ${fenced.length})`,
    });
    expectClean(outcome);
    expect(outcome.report.abortedCopies).toBeGreaterThanOrEqual(orphanedOpen);
    for (const e of sup.exits) expect(e.code === null ? e.signal : e.code).not.toBe(0);
    created.push(topics);
  });
});

function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
