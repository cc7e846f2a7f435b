/**
 * Scenario 5: the model lifecycle under load, exactly-once, two scorer processes.
 *   A scores alone; spec 0 adds a shadow. B joins (a rebalance) as spec 1 turns the shadow
 *   into a 10 % canary next to another shadow. A is killed -9 right after spec 2 makes the
 *   challenger champion (a restart during a swap), then spec 3 rolls back.
 * Then, besides the usual audit (one committed decision per input, features equal to the
 * batch reference: a swap leaves card state untouched):
 *   - every decision was made by the model its revision's spec names for its card (champion,
 *     or the canary for cards in its share) with the right role; per partition, revisions
 *     never go back in source order (a chunk is scored by one revision, swaps move forward);
 *   - every committed decision whose revision has a shadow has exactly one committed shadow
 *     decision from that shadow model, and no other input has one; no shadow on the flags.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kafka } from 'kafkajs';
import { createCodecs, type Decision, type DeploymentSpec, type ModelPin } from '../../services/common/src/contracts.js';
import { pinOf, readHistory, rollbackTarget, writeSpec, type Revision } from '../../services/cli/src/models/deployments.js';
import { inCanary } from '../../services/scorer/src/deployment/canary.js';
import { publishEvents, simulate, type SimEvent } from '../../services/simulator/src/index.js';
import { readAll } from '../helpers/audit.js';
import { deleteTopics, freshTopics, testKafka, type TestTopics } from '../helpers/kafka.js';
import { auditScenario, committedCount, eosEnv, expectClean, OUTCOME_LEAD_MS, referenceFeatures, sleep, supervise, until, waitCommittedToEnd, withOutcomeLead, type Supervisor } from './harness.js';

const WORLD = { seed: 31, customers: 150, terminals: 300, days: 14 };
const RATE = 120; // events/s: publishing spans every step (≈ 35 s)
const codecs = createCodecs('confluent');

describe('scenario 5: deploy, canary, promote, roll back under load; a rebalance and a kill -9 during swaps (exactly-once)', () => {
  let kafka: Kafka;
  let events: SimEvent[];
  let reference: Map<string, Float64Array>;
  const created: TestTopics[] = [];
  const sups: Supervisor[] = [];

  beforeAll(async () => {
    kafka = testKafka('fraudscore-fault');
    events = [...simulate(WORLD)];
    reference = await referenceFeatures(events);
  });

  afterAll(async () => {
    for (const s of sups) await s.stop().catch(() => {});
    for (const t of created) await deleteTopics(kafka, t).catch(() => {});
  });

  it('each decision comes from the model its revision names; shadows exactly once; nothing lost or doubled', async () => {
    const startedAt = Date.now();
    const topics = await freshTopics(kafka, 3);
    const env = eosEnv(topics);
    const champion = await pinOf('models', 'fraud-lgbm/1.0.0');
    const challenger = await pinOf('models', 'fraud-lr/1.0.0');
    const other = await pinOf('models', 'fraud-rf/1.0.0');
    const deploy = (spec: Partial<DeploymentSpec>, reason: string) =>
      writeSpec(kafka, topics.deployments, codecs.deploymentSpec, { champion, shadow: null, canary: null, policy: 'policy-v1', requestedBy: 'fault-5', requestedAt: Date.now(), reason, restoresRevision: null, ...spec });
    const committed = () => committedCount(kafka, topics.group, topics.transactions);
    const progress = async (more: number, what: string) => {
      const from = await committed();
      await until(async () => (await committed()) >= from + more, 90_000, what);
    };

    const a = supervise({ ...env, FRAUD_INSTANCE_ID: 'A' }, 'fault-5-A');
    sups.push(a);
    await a.ready();
    const publishing = publishEvents(kafka, withOutcomeLead(events, OUTCOME_LEAD_MS), { topics, rate: RATE });
    await progress(150, 'A scores with the fallback model');

    expect(await deploy({ shadow: challenger }, 'shadow the challenger')).toBe(0);
    await progress(150, 'A scores with a shadow');

    // B joins while the next spec is being applied: a rebalance during a swap.
    const b = supervise({ ...env, FRAUD_INSTANCE_ID: 'B' }, 'fault-5-B');
    sups.push(b);
    expect(await deploy({ canary: { model: challenger, sharePercent: 10 }, shadow: other }, 'canary at 10 %')).toBe(1);
    await b.ready();
    await progress(200, 'A and B score the canary');

    // A restart during a swap: kill -9 as the promotion is written.
    expect(await deploy({ champion: challenger }, 'promote the challenger')).toBe(2);
    await sleep(50);
    a.current()!.child.kill('SIGKILL');
    await a.ready();
    await progress(150, 'the promoted champion scores');

    const back = rollbackTarget(await readHistory(kafka, topics.deployments, codecs.deploymentSpec));
    expect(back.revision).toBe(1);
    expect(await deploy({ ...back.spec, requestedAt: Date.now(), reason: 'roll back', restoresRevision: back.revision }, 'roll back')).toBe(3);

    await publishing;
    await waitCommittedToEnd(kafka, topics.group, topics.transactions, 180_000);
    const exitB = await b.stop();
    const exitA = await a.stop();
    const exits = [...a.exits, ...b.exits, ...[exitA, exitB].filter((e) => e !== undefined)];

    const outcome = await auditScenario({
      kafka, topics, scenario: '5 lifecycle: shadow, canary, promote, rollback', rounds: 4, reference, startedAt, starts: a.starts + b.starts, exits,
      notes: 'B joins during a swap; A killed -9 during a swap',
    });
    expectClean(outcome);
    expect(a.exits.some((e) => e.signal === 'SIGKILL'), 'A was killed').toBe(true);

    const history = await readHistory(kafka, topics.deployments, codecs.deploymentSpec);
    const decisions = outcome.report.committedDecisions;
    const check = checkModels(decisions, history, champion);
    const shadows = await shadowCheck(kafka, topics, decisions, history);
    console.log(`[5] revisions seen ${JSON.stringify(check.perRevision)}; model mismatches ${check.mismatches.length}; revision went back ${check.backwards.length}; canary share at revision 1: ${check.canaryShare}; shadow decisions ${shadows.read} (expected ${shadows.expected}), missing ${shadows.missing}, extra ${shadows.extra}, wrong model ${shadows.wrongModel}`);
    expect(check.mismatches.slice(0, 5)).toEqual([]);
    expect(check.backwards.slice(0, 5)).toEqual([]);
    expect(Object.keys(check.perRevision).sort()).toEqual(['-1', '0', '1', '2', '3']);
    expect(shadows).toMatchObject({ missing: 0, extra: 0, wrongModel: 0, duplicated: 0 });
    expect(shadows.read).toBe(shadows.expected);
    expect(shadows.read).toBeGreaterThan(100);
    expect(decisions.some((d) => d.role === 'SHADOW')).toBe(false);
    created.push(topics);
  });
});

const same = (d: Decision, pin: ModelPin) => d.model.name === pin.name && d.model.version === pin.version && d.model.digest === pin.digest;

/** Each decision against the spec of its revision. */
function checkModels(decisions: readonly Decision[], history: readonly Revision[], fallback: ModelPin) {
  const specs = new Map(history.map((r) => [r.revision, r.spec]));
  const mismatches: string[] = [];
  const backwards: string[] = [];
  const perRevision: Record<string, number> = {};
  const last = new Map<number, { offset: number; revision: number }>();
  let canaryCards = 0;
  let rev1 = 0;
  for (const d of [...decisions].sort((x, y) => x.source.partition - y.source.partition || x.source.offset - y.source.offset)) {
    const r = d.deploymentRevision;
    perRevision[r] = (perRevision[r] ?? 0) + 1;
    const spec = specs.get(r);
    const canary = spec?.canary && inCanary(d.cardToken, spec.canary.sharePercent) ? spec.canary.model : undefined;
    const want = r === -1 ? fallback : canary ?? spec?.champion;
    const role = canary ? 'CANARY' : 'CHAMPION';
    if (!want || !same(d, want) || d.role !== role) mismatches.push(`p${d.source.partition}@${d.source.offset} revision ${r}: ${d.role} ${d.model.name}/${d.model.version}, expected ${role} ${want ? `${want.name}/${want.version}` : '(no such revision)'}`);
    if (r === 1) {
      rev1++;
      if (canary) canaryCards++;
    }
    const prev = last.get(d.source.partition);
    if (prev && r < prev.revision) backwards.push(`p${d.source.partition}: revision ${prev.revision} at ${prev.offset}, then ${r} at ${d.source.offset}`);
    last.set(d.source.partition, { offset: d.source.offset, revision: r });
  }
  return { mismatches, backwards, perRevision, canaryShare: rev1 ? `${canaryCards}/${rev1}` : 'n/a' };
}

/** Committed shadow decisions against the committed decisions whose revision has a shadow. */
async function shadowCheck(kafka: Kafka, topics: TestTopics, decisions: readonly Decision[], history: readonly Revision[]) {
  const specs = new Map(history.map((r) => [r.revision, r.spec]));
  const { records } = await readAll(kafka, topics.shadowDecisions, { readUncommitted: false });
  const bySource = new Map<string, Decision[]>();
  for (const rec of records) {
    const s = codecs.decision.decode(rec.value!);
    const key = `${s.source.partition}/${s.source.offset}`;
    bySource.set(key, [...(bySource.get(key) ?? []), s]);
  }
  let expected = 0;
  let missing = 0;
  let wrongModel = 0;
  let duplicated = 0;
  const seen = new Set<string>();
  for (const d of decisions) {
    const key = `${d.source.partition}/${d.source.offset}`;
    seen.add(key);
    const shadow = specs.get(d.deploymentRevision)?.shadow;
    const got = bySource.get(key) ?? [];
    if (!shadow) continue;
    expected++;
    if (got.length === 0) missing++;
    if (got.length > 1) duplicated++;
    if (got.some((s) => !same(s, shadow) || s.role !== 'SHADOW' || s.deploymentRevision !== d.deploymentRevision)) wrongModel++;
  }
  let extra = 0;
  for (const [key, got] of bySource) {
    const d = seen.has(key);
    if (!d) extra += got.length;
  }
  // Shadows of inputs whose decision's revision has no shadow would be "extra" too.
  for (const d of decisions) if (!specs.get(d.deploymentRevision)?.shadow) extra += bySource.get(`${d.source.partition}/${d.source.offset}`)?.length ?? 0;
  return { read: records.length, expected, missing, extra, wrongModel, duplicated };
}
