/**
 * Training/serving skew, proven absent: a simulated history (all three fraud scenarios) is
 * replayed through Kafka into the scorer, and every decision's feature vector must equal the
 * batch computation exactly, and its score the batch score within 1e-6. The second case
 * kills the scorer with SIGKILL mid-stream (exactly-once mode), restarts it, and demands the
 * same: one decision per input, features identical to an uninterrupted run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kafka } from 'kafkajs';
import { createCodecs, type Decision } from '../../../services/common/src/contracts.js';
import { batchFeatures, FEATURE_NAMES, FEATURE_SET_VERSION } from '../../../services/scorer/src/features/index.js';
import { loadModel, resolveModelDir, type Model } from '../../../services/scorer/src/model/load.js';
import { publishEvents, simulate, type SimEvent } from '../../../services/simulator/src/index.js';
import { OUTCOME_LEAD_MS, withOutcomeLead } from '../../helpers/outcome-lead.js';
import { deleteTopics, freshTopics, readTopic, testKafka, type TestTopics } from '../../helpers/kafka.js';
import { scorerConfig, scorerEnv, spawnScorer, startInProcessScorer } from '../../helpers/scorer.js';

const codecs = createCodecs('confluent');
const WORLD = { seed: 11, customers: 250, terminals: 500, days: 21 };

interface Expected {
  features: Float64Array;
  score: number;
}

describe('online features and scores equal the batch computation', () => {
  let kafka: Kafka;
  let model: Model;
  let events: SimEvent[];
  const expected = new Map<string, Expected>();
  const created: TestTopics[] = [];

  beforeAll(async () => {
    kafka = testKafka();
    model = await loadModel(await resolveModelDir('models', ''), { features: FEATURE_NAMES, featureSetVersion: FEATURE_SET_VERSION });
    events = [...simulate(WORLD)];
    const scenarios = new Set(events.flatMap((e) => (e.kind === 'transaction' && e.isFraud ? [e.fraudScenario] : [])));
    expect([...scenarios].sort()).toEqual([1, 2, 3]);
    const rows = [];
    for await (const row of batchFeatures(events)) rows.push(row);
    const width = FEATURE_NAMES.length;
    const matrix = new Float32Array(rows.length * width);
    rows.forEach((r, i) => matrix.set(r.features, i * width));
    const scores = await model.score(matrix, rows.length);
    rows.forEach((r, i) => expected.set(r.tx.transactionId, { features: r.features, score: scores[i]! }));
  });

  afterAll(async () => {
    await model?.dispose();
    for (const t of created) await deleteTopics(kafka, t);
  });

  const compare = (decisions: Decision[]) => {
    let featureMismatches = 0;
    let scoreMismatches = 0;
    for (const d of decisions) {
      const e = expected.get(d.transactionId)!;
      expect(e, d.transactionId).toBeDefined();
      if (d.features.some((v, i) => v !== e.features[i])) {
        featureMismatches++;
        // Which feature and where, so a failure says whether card or terminal state was wrong.
        const i = d.features.findIndex((v, k) => v !== e.features[k]);
        if (featureMismatches <= 3) console.log(`parity: ${d.transactionId} at p${d.source.partition}@${d.source.offset}: ${FEATURE_NAMES[i]} online ${d.features[i]}, batch ${e.features[i]}`);
      }
      if (Math.abs(d.score - e.score) > 1e-6) scoreMismatches++;
    }
    return { featureMismatches, scoreMismatches };
  };

  it('uninterrupted replay: 0 feature mismatches, 0 score mismatches', async () => {
    const topics = await freshTopics(kafka, 3);
    created.push(topics);
    const stats = await publishEvents(kafka, events, { topics });
    const scorer = await startInProcessScorer(scorerConfig(topics));
    try {
      const records = await readTopic(kafka, topics.decisions, stats.transactions, 120_000);
      const decisions = records.map((r) => codecs.decision.decode(r.value!));
      expect(decisions.length).toBe(expected.size);
      expect(new Set(decisions.map((d) => d.transactionId)).size).toBe(expected.size);
      const result = compare(decisions);
      console.log(`parity: compared ${decisions.length} decisions (15 features each): ${JSON.stringify(result)}`);
      expect(result).toEqual({ featureMismatches: 0, scoreMismatches: 0 });
    } finally {
      await scorer.stop();
    }
  });

  it('kill -9 mid-stream and restart (exactly-once): one decision per input, features unchanged', async () => {
    const topics = await freshTopics(kafka, 3);
    created.push(topics);
    const env = scorerEnv(topics, { FRAUD_DELIVERY: 'exactly-once', FRAUD_MAX_BATCH: '50' });
    const first = await spawnScorer(env, 'parity-kill-first');
    // Labels published ahead of their knownAt (the fault suite's lead): the restarted scorer's
    // outcomes feed and its scoring loop are independent consumers, and in a replay that
    // compresses days into seconds a label published in the same instant as the transaction it
    // informs can be read after that transaction is scored. A CI run once saw exactly that (1
    // terminal-feature mismatch in 9,295); what this test proves is the restart, not that race.
    const publishing = publishEvents(kafka, withOutcomeLead(events, OUTCOME_LEAD_MS), { topics, rate: 4000 });
    // Kill once a good part of the stream has been decided, while publishing continues.
    const total = events.filter((e) => e.kind === 'transaction').length;
    await readTopic(kafka, topics.decisions, Math.floor(total / 3), 120_000);
    first.child.kill('SIGKILL');
    expect(await first.exited).toBe(null);
    const second = await spawnScorer(env, 'parity-kill-second');
    try {
      await publishing;
      const records = await readTopic(kafka, topics.decisions, total, 180_000);
      const decisions = records.map((r) => codecs.decision.decode(r.value!));
      const ids = decisions.map((d) => d.transactionId);
      expect(new Set(ids).size).toBe(ids.length);
      expect(decisions.length).toBe(total);
      const result = compare(decisions);
      console.log(`kill -9: compared ${decisions.length} decisions after restart: ${JSON.stringify(result)}`);
      expect(result).toEqual({ featureMismatches: 0, scoreMismatches: 0 });
      const uncommitted = await readTopic(kafka, topics.decisions, total + 1, 15_000, true);
      console.log(`kill -9: read-uncommitted sees ${uncommitted.length} decision records (aborted copies: ${uncommitted.length - total})`);
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  });
});
