/**
 * A simulated world replayed through a model and the monitor's own store and computations,
 * in process and without Kafka, one simulated day at a time: the scorer's feature engine
 * (batchFeatures, the same code as online), the serving path's loadModel, the decision
 * thresholds of the manifest, and labels written when the stream reaches their knownAt, as
 * the monitor would read them. What the monitor would say at the end of each day, for the
 * drift tests (the Kafka path itself is covered by test/integration/monitor and the drift
 * scenario).
 */
import type { Decision, TransactionOutcome } from '../../services/common/src/contracts.js';
import { firingAlerts, type Alert } from '../../services/monitor/src/alerts.js';
import { referenceLoader } from '../../services/monitor/src/references.js';
import { openStore, type Store } from '../../services/monitor/src/store.js';
import { computeAll, type Computation } from '../../services/monitor/src/windows.js';
import { batchFeatures, type FeatureRow } from '../../services/scorer/src/features/batch.js';
import { FEATURE_NAMES, FEATURE_SET_VERSION } from '../../services/scorer/src/features/feature-set.js';
import { loadModel, resolveModelDir } from '../../services/scorer/src/model/load.js';
import { createSimulation, type SimEvent, type SimulationOptions } from '../../services/simulator/src/index.js';

const DAY_MS = 86_400_000;

export interface WorldDay extends Computation {
  /** Simulated day (0-based) that just ended. */
  day: number;
  alerts: Alert[];
}

export interface WorldOptions {
  sim: SimulationOptions;
  modelsDir?: string;
  /** name/version; default models/default.json. */
  model?: string;
  /** Skip the computations (not the storing) of days before this one. */
  computeFromDay?: number;
}

/** Replays the world; calls onDay after each simulated day. Returns the store (caller closes). */
export async function replayWorld(opts: WorldOptions, onDay: (d: WorldDay) => void): Promise<Store> {
  const modelsDir = opts.modelsDir ?? 'models';
  const model = await loadModel(await resolveModelDir(modelsDir, opts.model ?? ''), { features: FEATURE_NAMES, featureSetVersion: FEATURE_SET_VERSION });
  const referenceOf = referenceLoader(modelsDir, (msg) => {
    throw new Error(msg);
  });
  const store = openStore(':memory:', referenceOf);
  const { thresholds } = model.manifest;
  // No flush of the pending labels at the end: the last day would get a week of labels early.
  const sim = createSimulation({ ...opts.sim, flushOutcomes: false });
  const start = sim.options.startMs;
  const labels: TransactionOutcome[] = [];
  const rows: FeatureRow[] = [];
  function* tee(events: Iterable<SimEvent>) {
    for (const e of events) {
      if (e.kind === 'outcome') labels.push(e.outcome);
      yield e;
    }
  }

  const width = FEATURE_NAMES.length;
  const endDay = async (day: number) => {
    const input = new Float32Array(rows.length * width);
    rows.forEach((r, i) => input.set(r.features, i * width));
    const scores = rows.length ? await model.score(input, rows.length) : new Float32Array(0);
    const decisions: Decision[] = rows.map((r, i) => {
      const score = scores[i]!;
      return {
        transactionId: r.tx.transactionId,
        cardToken: r.tx.cardToken,
        score,
        decision: score >= thresholds.block ? 'BLOCK' : score >= thresholds.review ? 'REVIEW' : 'ALLOW',
        reasons: [],
        model: model.ref,
        policyVersion: 'replay',
        eventTime: r.tx.eventTime,
        scoredAt: r.tx.eventTime,
        source: { topic: 'transactions', partition: 0, offset: i },
        featureSetVersion: FEATURE_SET_VERSION,
        features: Array.from(r.features),
        role: 'CHAMPION',
        deploymentRevision: -1,
      };
    });
    store.write({ decisions, labels: labels.splice(0), offsets: [] });
    rows.length = 0;
    if (day < (opts.computeFromDay ?? 0)) return;
    const c = computeAll(store, referenceOf);
    onDay({ day, ...c, alerts: firingAlerts(c, referenceOf) });
  };

  let day = 0;
  try {
    for await (const row of batchFeatures(tee(sim.events()))) {
      const d = Math.floor((row.tx.eventTime - start) / DAY_MS);
      while (d > day) await endDay(day++);
      rows.push(row);
    }
    await endDay(day);
  } finally {
    await model.dispose();
  }
  return store;
}
