/**
 * The consumer loop: kafkajs eachBatch, split into bounded chunks, each chunk processed by
 * the pipeline and handed to the delivery together with the offset to commit. Offsets are
 * never auto-committed: a position is committed only with (or after) the outputs it produced.
 */
import type { Consumer, EachBatchPayload } from 'kafkajs';
import { newChunkTiming, type InputRecord, type Pipeline } from '../pipeline.js';
import { nowMs, type ChunkTracer } from '../telemetry/chunk-tracing.js';
import type { ScorerMetrics } from '../telemetry/metrics.js';
import type { CrashPoints } from '../crash-points.js';
import type { Delivery } from '../sink/delivery.js';
import { toMessages, type OutputCodecs, type OutputTopics, type TopicMessages } from '../sink/messages.js';

export interface LoopStats {
  scored: number;
  flagged: number;
  deadLettered: number;
  chunks: number;
}

export interface ScoringLoopDeps {
  consumer: Consumer;
  topic: string;
  fromBeginning: boolean;
  maxBatch: number;
  pipeline: Pipeline;
  delivery: Delivery;
  topics: OutputTopics;
  codecs: OutputCodecs;
  /** Awaited before a partition's batch is processed (its state must be restored). */
  beforeBatch?(partition: number): Promise<void>;
  /** State records (changelog) to deliver with a chunk's outputs. */
  stateUpdates?(partition: number): TopicMessages | undefined;
  tracer: ChunkTracer;
  metrics: ScorerMetrics;
  crash?: CrashPoints;
}

export async function runScoringLoop(deps: ScoringLoopDeps): Promise<LoopStats> {
  const stats: LoopStats = { scored: 0, flagged: 0, deadLettered: 0, chunks: 0 };
  await deps.consumer.subscribe({ topic: deps.topic, fromBeginning: deps.fromBeginning });
  await deps.consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    // Partitions are processed one at a time: features for one chunk are computed and scored
    // synchronously, so more concurrency would only interleave, not parallelise.
    partitionsConsumedConcurrently: 1,
    eachBatch: (payload) => handleBatch(deps, stats, payload),
  });
  return stats;
}

// Chunks are processed one at a time (partitionsConsumedConcurrently 1): one timing suffices.
const timing = newChunkTiming();

async function handleBatch(deps: ScoringLoopDeps, stats: LoopStats, payload: EachBatchPayload): Promise<void> {
  const { batch, resolveOffset, heartbeat, isRunning, isStale } = payload;
  const { partition } = batch;
  await deps.beforeBatch?.(partition);
  for (let start = 0; start < batch.messages.length; start += deps.maxBatch) {
    if (!isRunning() || isStale()) return;
    const chunk = batch.messages.slice(start, start + deps.maxBatch);
    const records: InputRecord[] = chunk.map((m) => ({
      partition,
      offset: m.offset,
      key: m.key,
      value: m.value,
      timestamp: m.timestamp,
      traceparent: m.headers?.traceparent?.toString(),
    }));
    const results = await deps.pipeline.process(records, timing);
    const trace = deps.tracer.begin(records, timing);
    const last = chunk[chunk.length - 1]!.offset;
    const next = BigInt(last) + 1n;
    const outputs = toMessages(results, deps.topics, deps.codecs, trace.traceparentOf);
    const state = deps.stateUpdates?.(partition);
    if (state) outputs.push(state);
    deps.crash?.hit('mid-batch');
    const produceStart = nowMs();
    await deps.delivery.deliver(partition, outputs, { topic: batch.topic, partition, offset: next.toString() });
    const produceEnd = nowMs();
    deps.crash?.hit('after-commit');
    resolveOffset(last);
    trace.end(results, timing, produceStart, produceEnd);
    deps.metrics.chunkDelivered(results, timing, produceEnd - produceStart, Date.now());
    deps.metrics.lag(partition, Math.max(0, Number(BigInt(batch.highWatermark) - next)));
    for (const r of results) {
      if (r.kind === 'decision') {
        stats.scored++;
        if (r.decision.decision !== 'ALLOW') stats.flagged++;
      } else stats.deadLettered++;
    }
    stats.chunks++;
    await heartbeat();
  }
}
