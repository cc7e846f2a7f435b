/**
 * Training/serving skew, proven absent: a simulated history (all three fraud scenarios) is
 * replayed through Kafka into the scorer, and every decision's feature vector must equal the
 * batch computation exactly, and its score the batch score within 1e-6. The first case then
 * feeds the same history to the two other inputs of `fraudscore features`, whose tables train
 * the models the scorer serves, and demands the same features from each, exactly, for every
 * decision:
 *
 *   - a replay of the very topics the scorer read (`features --from-kafka`, history/replay.ts),
 *     configured from the scorer's own environment, since = the simulation's first day;
 *   - the events written as JSON Lines files (`simulate --out`) and loaded as a user's own
 *     history (`features --transactions --outcomes`, history/merge.ts).
 *
 * The second case kills the scorer with SIGKILL mid-stream (exactly-once mode), restarts it,
 * and demands the same: one decision per input, features identical to an uninterrupted run.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kafka } from 'kafkajs';
import { featureRowsSince } from '../../../services/cli/src/backtest/rows.js';
import { openKafkaTopicSource } from '../../../services/cli/src/history/kafka-source.js';
import { loadHistory, mergeEvents } from '../../../services/cli/src/history/merge.js';
import { loadKafkaHistory, replayConfig } from '../../../services/cli/src/history/replay.js';
import { createCodecs, type Decision } from '../../../services/common/src/contracts.js';
import { batchFeatures, FEATURE_NAMES, FEATURE_SET_VERSION, type FeatureRow } from '../../../services/scorer/src/features/index.js';
import { loadModel, resolveModelDir, type Model } from '../../../services/scorer/src/model/load.js';
import { publishEvents, resolveSimulationOptions, simulate, writeEventsToDir, type SimEvent } from '../../../services/simulator/src/index.js';
import { OUTCOME_LEAD_MS, withOutcomeLead } from '../../helpers/outcome-lead.js';
import { deleteTopics, freshTopics, readTopic, testKafka, type TestTopics } from '../../helpers/kafka.js';
import { scorerConfig, scorerEnv, spawnScorer, startInProcessScorer } from '../../helpers/scorer.js';

const collect = async (rows: AsyncIterable<FeatureRow>): Promise<FeatureRow[]> => {
  const out: FeatureRow[] = [];
  for await (const row of rows) out.push(row);
  return out;
};

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

  /**
   * Another input's feature rows against the online decisions, by transaction id: every
   * decision must have exactly one row, with the same 15 values bit for bit (the rows stay
   * Float64Array, as the CSV writer prints them; no float32 step that could hide a difference).
   */
  const compareRows = (input: string, decisions: Decision[], rows: readonly FeatureRow[]) => {
    const byId = new Map(rows.map((r) => [r.tx.transactionId, r.features]));
    let missing = 0;
    let featureMismatches = 0;
    for (const d of decisions) {
      const f = byId.get(d.transactionId);
      if (!f) {
        missing++;
        continue;
      }
      const i = f.length !== d.features.length ? 0 : d.features.findIndex((v, k) => v !== f[k]);
      if (i >= 0) {
        featureMismatches++;
        if (featureMismatches <= 3) console.log(`parity: ${input}: ${d.transactionId}: ${FEATURE_NAMES[i]} online ${d.features[i]}, ${input} ${f[i]} (${f.length} values)`);
      }
    }
    // A row id twice would hide behind the Map: the row count must equal the distinct ids.
    return { rows: rows.length, distinctIds: byId.size, missing, featureMismatches };
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

      // Every row written: the window starts at the simulation's first day, so no transaction
      // is look-back only (and there is nothing before it to look back on).
      const since = resolveSimulationOptions(WORLD).startMs;
      const allPresent = { rows: decisions.length, distinctIds: decisions.length, missing: 0, featureMismatches: 0 };

      // 1. The topic replay, configured from the scorer's own environment (topics, wire format,
      // decode limits), as `features --from-kafka` run beside this scorer would be.
      const replay = replayConfig(scorerEnv(topics));
      expect(replay.topics).toEqual({ transactions: topics.transactions, outcomes: topics.outcomes });
      const source = await openKafkaTopicSource(kafka, { groupPrefix: 'parity-replay' });
      let replayed: FeatureRow[];
      try {
        const replayCodecs = createCodecs(replay.wireFormat);
        const loaded = await loadKafkaHistory({
          source,
          topics: replay.topics,
          window: { since },
          codecs: { transaction: replayCodecs.transaction, outcome: replayCodecs.outcome },
          rules: { limits: replay.limits, wireFormat: replay.wireFormat },
        });
        expect(loaded.history.bad.lines()).toEqual([]);
        replayed = await collect(featureRowsSince(loaded.history, since));
      } finally {
        await source.close();
      }
      const fromTopics = compareRows('topic replay', decisions, replayed);
      console.log(`parity: topic replay: compared ${replayed.length} replayed rows with the online features: ${JSON.stringify(fromTopics)}`);

      // 2. The same events as the files `simulate --out` writes, loaded as a user's own history
      // (read, checked, joined, sorted) and merged into the stream batchFeatures reads.
      const dir = await mkdtemp(join(tmpdir(), 'parity-files-'));
      let fromFileRows: FeatureRow[];
      try {
        const files = await writeEventsToDir(dir, events);
        const history = await loadHistory({ transactions: files.transactionsFile, outcomes: files.outcomesFile });
        expect(history.bad.lines()).toEqual([]);
        fromFileRows = await collect(batchFeatures(mergeEvents(history.transactions, history.outcomes)));
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
      const fromFiles = compareRows('files', decisions, fromFileRows);
      console.log(`parity: files: compared ${fromFileRows.length} rows from JSON Lines files with the online features: ${JSON.stringify(fromFiles)}`);

      // Both printed before either is asserted: a failure shows how each input fared.
      expect(fromTopics).toEqual(allPresent);
      expect(fromFiles).toEqual(allPresent);
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
