/**
 * What every transport does with a chunk of one partition's records, whatever the Kafka
 * client: score it (decode → features → model → decide), encode its outputs, and, once the
 * outputs are acknowledged, end its spans, record its metrics and count it. The transports
 * (transport/kafkajs, transport/librdkafka) only move records and outputs.
 */
import { newChunkTiming, type ChunkTiming, type InputRecord, type Pipeline, type PipelineResult } from '../pipeline.js';
import { toMessages, type OutputCodecs, type OutputTopics, type TopicMessages } from '../sink/messages.js';
import type { ChunkTrace, ChunkTracer } from '../telemetry/chunk-tracing.js';
import type { ScorerMetrics } from '../telemetry/metrics.js';

export interface LoopStats {
  scored: number;
  flagged: number;
  deadLettered: number;
  chunks: number;
}

/** A scored chunk: its results, the messages to deliver, and what telemetry needs afterwards. */
export interface ScoredChunk {
  readonly results: readonly PipelineResult[];
  readonly outputs: TopicMessages[];
  readonly trace: ChunkTrace;
  readonly timing: ChunkTiming;
}

export interface ChunkScoring {
  readonly stats: LoopStats;
  /**
   * Scores records (each partition's in order; one chunk may hold several partitions, scored
   * with one model call) and encodes their outputs.
   */
  score(records: readonly InputRecord[]): Promise<ScoredChunk>;
  /**
   * The chunk's outputs were acknowledged (produced between `produceStart` and `produceEnd`,
   * epoch ms); `lags` gives each of its partitions' records behind the end after this chunk.
   */
  delivered(chunk: ScoredChunk, produceStart: number, produceEnd: number, lags: Iterable<readonly [partition: number, lag: number]>): void;
}

export interface ChunkScoringDeps {
  pipeline: Pipeline;
  topics: OutputTopics;
  codecs: OutputCodecs;
  tracer: ChunkTracer;
  metrics: ScorerMetrics;
}

export function createChunkScoring(deps: ChunkScoringDeps): ChunkScoring {
  const stats: LoopStats = { scored: 0, flagged: 0, deadLettered: 0, chunks: 0 };
  return {
    stats,
    async score(records) {
      // A timing per chunk: a transport may deliver one chunk while it scores the next.
      const timing = newChunkTiming();
      const results = await deps.pipeline.process(records, timing);
      const trace = deps.tracer.begin(records, timing);
      const outputs = toMessages(results, deps.topics, deps.codecs, trace.traceparentOf);
      return { results, outputs, trace, timing };
    },
    delivered(chunk, produceStart, produceEnd, lags) {
      const { results, timing } = chunk;
      chunk.trace.end(results, timing, produceStart, produceEnd);
      deps.metrics.chunkDelivered(results, timing, produceEnd - produceStart, Date.now());
      for (const [partition, lag] of lags) deps.metrics.lag(partition, lag);
      for (const r of results) {
        if (r.kind === 'decision') {
          stats.scored++;
          if (r.decision.decision !== 'ALLOW') stats.flagged++;
        } else stats.deadLettered++;
      }
      stats.chunks++;
    },
  };
}
