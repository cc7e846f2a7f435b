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
  /**
   * Called once when a chunk fails after its features were computed (pipeline, encoding or
   * delivery). In-memory card state is then ahead of what committed, and kafkajs would retry
   * the chunk in-process against that state (double-counting its events), so the process must
   * exit and restart from the committed state. From then on every batch is refused.
   */
  onFatal?(err: Error): void;
}

/** Set once a chunk failed mid-way: the loop refuses all further work. */
interface Guard {
  failed?: Error;
}

export async function runScoringLoop(deps: ScoringLoopDeps): Promise<LoopStats> {
  const stats: LoopStats = { scored: 0, flagged: 0, deadLettered: 0, chunks: 0 };
  const guard: Guard = {};
  await deps.consumer.subscribe({ topic: deps.topic, fromBeginning: deps.fromBeginning });
  await deps.consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    // Partitions are processed one at a time: features for one chunk are computed and scored
    // synchronously, so more concurrency would only interleave, not parallelise.
    partitionsConsumedConcurrently: 1,
    eachBatch: (payload) => handleBatch(deps, stats, guard, payload),
  });
  return stats;
}

// Chunks are processed one at a time (partitionsConsumedConcurrently 1): one timing suffices.
const timing = newChunkTiming();

async function handleBatch(deps: ScoringLoopDeps, stats: LoopStats, guard: Guard, payload: EachBatchPayload): Promise<void> {
  const { batch, resolveOffset, heartbeat, isRunning, isStale } = payload;
  const { partition } = batch;
  if (guard.failed) throw refused(guard.failed);
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
    const last = chunk[chunk.length - 1]!.offset;
    const next = BigInt(last) + 1n;
    let results: Awaited<ReturnType<Pipeline['process']>>;
    let trace: ReturnType<ChunkTracer['begin']>;
    let produceStart: number;
    try {
      results = await deps.pipeline.process(records, timing);
      trace = deps.tracer.begin(records, timing);
      const outputs = toMessages(results, deps.topics, deps.codecs, trace.traceparentOf);
      const state = deps.stateUpdates?.(partition);
      if (state) outputs.push(state);
      deps.crash?.hit('mid-batch');
      produceStart = nowMs();
      await deps.delivery.deliver(partition, outputs, { topic: batch.topic, partition, offset: next.toString() });
    } catch (err) {
      // Features were computed (state advanced) but nothing is known to have committed.
      guard.failed = err instanceof Error ? err : new Error(String(err));
      deps.onFatal?.(guard.failed);
      throw err;
    }
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

function refused(cause: Error): Error {
  return new Error(`scoring stopped: an earlier chunk failed after its features were computed (${cause.message}); the process must restart from the committed state`);
}
