/**
 * The monitor (issue 13), each in a child process: its store path alone
 * (test/bench/monitor-store.ts) and end to end through Kafka with a bare consumer as the
 * baseline (test/bench/monitor-kafka.ts).
 */
import { childJson } from './child-json.js';
import { say, stamp } from './ui.js';

export interface MonitorStoreResult {
  records: number;
  seconds: number;
  eps: number;
  pendingDecisions: number;
  bytesPerPending: number;
  rssMbPerMillionPending: number;
  /** End to end through Kafka, when a broker was given. */
  kafka?: MonitorKafkaResult;
}

export interface MonitorKafkaResult {
  records: number;
  seconds: number;
  eps: number;
  rawEps: number;
  ratio: number;
  storeBytes: number;
  rssGrowthMb: number;
  computeMs: number;
}

export async function monitorStore(transactions: number, brokers?: readonly string[]): Promise<MonitorStoreResult> {
  say(`bench: [${stamp()}] monitor store: ${transactions} decisions and ${transactions} outcomes decoded and stored (test/bench/monitor-store.ts)`);
  const result = await childJson<MonitorStoreResult>('test/bench/monitor-store.ts', [String(transactions)]);
  say(`  monitor store: ${result.eps.toLocaleString('en')} records/s, ${result.bytesPerPending} B on disk per pending decision, RSS +${result.rssMbPerMillionPending} MB per million pending`);
  if (brokers?.length) {
    say(`bench: [${stamp()}] monitor via Kafka: ${transactions} decisions with their inputs and ${transactions} outcomes, fetched and stored (test/bench/monitor-kafka.ts)`);
    const k = await childJson<MonitorKafkaResult>('test/bench/monitor-kafka.ts', [brokers.join(','), String(transactions)]).catch((err: Error) => {
      say(`  monitor via Kafka failed: ${err.message}`);
      return undefined;
    });
    if (k) {
      result.kafka = k;
      say(`  monitor via Kafka: ${k.eps.toLocaleString('en')} records/s (a bare kafkajs consumer: ${k.rawEps.toLocaleString('en')}, ratio ${k.ratio}); one recomputation of the windows ${k.computeMs} ms`);
    }
  }
  return result;
}
