/**
 * Watches the decisions and DLQ topics (read committed) and accounts for one run: which input
 * positions got an output, how many were flagged or dead-lettered, and the latency from the
 * input's publish time to the decision's. Positions before the run's start offsets belong to
 * earlier runs and are ignored, so the figures are this run's alone.
 */
import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { HEADERS, parseSourceHeader } from '../../../scorer/src/sink/messages.js';

export interface RunFigures {
  scored: number;
  flagged: number;
  deadLettered: number;
  duplicates: number;
  latenciesMs: number[];
  byCode: Record<string, number>;
}

export interface Monitor {
  figures: RunFigures;
  /** Outputs seen for inputs at or after the start offsets. */
  accounted(): number;
  stop(): Promise<void>;
}

export async function startMonitor(kafka: Kafka, topics: { decisions: string; dlq: string }, startOffsets: Map<number, bigint>): Promise<Monitor> {
  const figures: RunFigures = { scored: 0, flagged: 0, deadLettered: 0, duplicates: 0, latenciesMs: [], byCode: {} };
  const seen = new Set<string>();
  const consumer = kafka.consumer({ groupId: `fraudscore-demo-monitor-${randomUUID()}`, readUncommitted: false, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topics.decisions, topics.dlq], fromBeginning: true });
  await consumer.run({
    eachBatch: async ({ batch }) => {
      for (const m of batch.messages) {
        const h = (name: string) => m.headers?.[name]?.toString();
        const source = parseSourceHeader(h(HEADERS.source));
        const partition = source?.partition ?? -1;
        const offset = BigInt(source?.offset ?? '-1');
        if (offset < (startOffsets.get(partition) ?? 0n)) continue;
        const id = `${partition}@${offset}`;
        if (seen.has(id)) {
          figures.duplicates++;
          continue;
        }
        seen.add(id);
        if (batch.topic === topics.dlq) {
          figures.deadLettered++;
          const code = h(HEADERS.errorCode) ?? 'UNKNOWN';
          figures.byCode[code] = (figures.byCode[code] ?? 0) + 1;
        } else {
          figures.scored++;
          if (h(HEADERS.decision) !== 'ALLOW') figures.flagged++;
          figures.latenciesMs.push(Number(m.timestamp) - (source?.timestamp ?? NaN));
        }
      }
    },
  });
  return { figures, accounted: () => seen.size, stop: () => consumer.disconnect() };
}

/** Nearest-rank percentile; q in [0, 1]. */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  // Round q·n to 9 decimals first: 0.07 × 100 is 7.000000000000001 in binary floating point,
  // and its ceiling would pick rank 8 instead of 7.
  const rank = Math.ceil(Math.round(q * sorted.length * 1e9) / 1e9);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}
