/** Issue 14: the feature table replayed from Kafka vs the in-process engine (test/bench/features-from-kafka.ts, a child process). */
import { childJson } from './child-json.js';
import { say, stamp } from './ui.js';

export interface FeaturesReplayResult {
  eps: number;
  inProcessEps: number;
  ratio: number;
}

export async function featuresReplay(brokers: readonly string[], days: number): Promise<FeaturesReplayResult> {
  say(`bench: [${stamp()}] features --from-kafka: ${days} simulated days published, replayed into a feature table, beside the in-process engine on the same events (test/bench/features-from-kafka.ts)`);
  const r = await childJson<FeaturesReplayResult>('test/bench/features-from-kafka.ts', [brokers.join(','), String(days)]);
  say(`  features replay: ${r.eps.toLocaleString('en')} ev/s, in process ${r.inProcessEps.toLocaleString('en')} ev/s (ratio ${r.ratio})`);
  return r;
}
