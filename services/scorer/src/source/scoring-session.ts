/**
 * The source/sink port of the scorer: one consumer-group membership that reads the
 * transactions topic, scores it chunk by chunk and delivers the outputs with the configured
 * delivery mode, keeping outputs, card state and committed positions in step across commits,
 * rebalances and stops. Shared by the scorer and the benchmark's pipe, so the pipe measures
 * exactly the scorer's Kafka path.
 *
 * Two adapters, chosen by FRAUD_KAFKA_CLIENT, loaded only when chosen (the librdkafka one is a
 * native addon):
 * - transport/kafkajs: eachBatch, partitions in concurrent lanes, one transactional producer
 *   per input partition (kafkajs has no KIP-447 group fencing).
 * - transport/librdkafka: @confluentinc/kafka-javascript's native API, one poll loop, one
 *   transactional producer per instance fenced by the group generation (KIP-447).
 */
import type { Kafka } from 'kafkajs';
import type { ScorerConfig } from '../config.js';
import type { CrashPoints } from '../crash-points.js';
import type { Pipeline } from '../pipeline.js';
import type { OutputCodecs, TopicMessages } from '../sink/messages.js';
import type { ChunkTracer } from '../telemetry/chunk-tracing.js';
import type { Logger } from '../telemetry/log.js';
import type { ScorerMetrics } from '../telemetry/metrics.js';
import type { LoopStats } from './chunk-scoring.js';

export interface ScoringSessionOptions {
  /** The kafkajs client (used by the kafkajs adapter; the librdkafka one builds its own from config). */
  kafka: Kafka;
  config: ScorerConfig;
  pipeline: Pipeline;
  codecs: OutputCodecs;
  tracer: ChunkTracer;
  metrics: ScorerMetrics;
  log: Logger;
  crash?: CrashPoints;
  /** The replies topic and its partition count; absent: inputs' reply headers are ignored. */
  replies?: { topic: string; partitions: number };
  /**
   * A new assignment. `reload` lists kept partitions whose in-memory card state is ahead of
   * what committed (they will be read again from their committed offset), so their card state
   * must be rebuilt from the committed changelog before they are scored again.
   */
  onAssigned?(partitions: readonly number[], reload: readonly number[]): void;
  /** The producers for the latest assignment are open (exactly-once: transactional ids initialised). */
  onProducersReady?(): void;
  /**
   * Awaited before a partition's records are scored (its state restored, the outcomes feed
   * current). `keepAlive` keeps the group membership alive while it waits (kafkajs).
   */
  beforeBatch?(partition: number, keepAlive?: () => Promise<void>): Promise<void>;
  /** State records (changelog) to commit with a partition's position. */
  stateUpdates?(partition: number): TopicMessages | undefined;
  /** The session cannot go on: the process must exit and restart from the committed state. */
  onFatal(reason: string, err: Error): void;
}

export interface ScoringSession {
  readonly stats: LoopStats;
  /** Commits what was scored, leaves the group, closes the producers. */
  stop(): Promise<void>;
}

export async function startScoringSession(o: ScoringSessionOptions): Promise<ScoringSession> {
  if (o.config.kafkaClient === 'librdkafka') {
    const { startLibrdkafkaSession } = await import('../transport/librdkafka/session.js');
    return startLibrdkafkaSession(o);
  }
  const { startKafkajsSession } = await import('../transport/kafkajs/session.js');
  return startKafkajsSession(o);
}
