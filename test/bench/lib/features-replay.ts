/** Issue 14: the feature table replayed from Kafka vs the in-process engine (test/bench/features-from-kafka.ts, a child process). */
import { childJson, childText } from './child-json.js';
import { say, stamp } from './ui.js';

export interface FeaturesReplayResult {
  eps: number;
  txEps: number;
  inProcessEps: number;
  ratio: number;
  /** bench:features' stateful figure (features + model call, transactions/s) in the same run. */
  benchFeaturesTxEps: number;
}

export async function featuresReplay(brokers: readonly string[], days: number): Promise<FeaturesReplayResult> {
  say(`bench: [${stamp()}] features --from-kafka: ${days} simulated days published, replayed into a feature table, beside the in-process engine on the same events (test/bench/features-from-kafka.ts)`);
  const r = await childJson<Omit<FeaturesReplayResult, 'benchFeaturesTxEps'>>('test/bench/features-from-kafka.ts', [brokers.join(','), String(days)]);
  say(`  features replay: ${r.eps.toLocaleString('en')} ev/s (${r.txEps.toLocaleString('en')} transactions/s), in process ${r.inProcessEps.toLocaleString('en')} ev/s (ratio ${r.ratio})`);
  // The baseline: bench:features (the engine + the model call, as the scorer runs them).
  const text = await childText('test/bench/features-throughput.ts', ['5000', String(days)]);
  const benchFeaturesTxEps = Number(/stateful \(15 features\):\s+(\d+)/.exec(text)?.[1] ?? NaN);
  say(`  bench:features (engine + model): ${benchFeaturesTxEps.toLocaleString('en')} transactions/s; replay ÷ that ${(r.txEps / benchFeaturesTxEps).toFixed(2)}`);
  return { ...r, benchFeaturesTxEps };
}
