/**
 * The scorer's metrics, recorded for every event (never sampled), exposed in Prometheus form
 * at /metrics. Labels are closed sets (decision, error code, stage, partition): never a card,
 * an amount or a transaction id. Prometheus label names are plain (stage, decision, code,
 * partition); span attributes follow the semantic conventions in attributes.ts.
 */
import type { Meter } from '@opentelemetry/api';
import { CODEC_NAMES, undecodableBatches } from '../../../common/src/kafka-codecs.js';
import { KAFKA_RETRY_REASONS, kafkaClientRetries, librdkafkaClientErrors } from '../../../common/src/kafka-logs.js';
import type { ChunkTiming, PipelineResult } from '../pipeline.js';
import type { Stage } from './attributes.js';

const LATENCY_BUCKETS_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const STAGE_BUCKETS_S = [0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25];
const SCORE_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99];

export interface ScorerMetrics {
  /** After a chunk's outputs are acknowledged (and its offset committed). */
  chunkDelivered(results: readonly PipelineResult[], timing: ChunkTiming, produceMs: number, ackedAt: number): void;
  /** Consumer lag of a partition after a chunk: high watermark − next offset. */
  lag(partition: number, lag: number): void;
  /** Outcomes (delayed labels) fed to the terminal table, by what became of them. */
  observeOutcomes(read: () => Record<string, number>): void;
}

export function createScorerMetrics(meter: Meter): ScorerMetrics {
  observeKafkaClient(meter);
  const e2e = meter.createHistogram('fraudscore_e2e_latency_seconds', {
    description: 'From the input record being published (its CreateTime) to its decision being acknowledged',
    unit: 's',
    advice: { explicitBucketBoundaries: LATENCY_BUCKETS_S },
  });
  const stage = meter.createHistogram('fraudscore_stage_latency_seconds', {
    description: 'Time each chunk spent in each pipeline stage (decode and features over all its events): what every event of the chunk waits for. Per event on average: rate of _sum over rate of fraudscore_events_total',
    unit: 's',
    advice: { explicitBucketBoundaries: STAGE_BUCKETS_S },
  });
  const events = meter.createCounter('fraudscore_events', { description: 'Input events by outcome: ALLOW, REVIEW, BLOCK or DLQ' });
  const deadLetters = meter.createCounter('fraudscore_dead_letters', { description: 'Dead-lettered inputs by error code' });
  const score = meter.createHistogram('fraudscore_score', { description: 'Model scores (probability of fraud)', advice: { explicitBucketBoundaries: SCORE_BUCKETS } });
  const lagGauge = meter.createGauge('fraudscore_consumer_lag', { description: 'Records behind the end of the transactions partition after the last chunk' });

  // Attribute objects built once: recording allocates nothing per event.
  const stageAttrs: Record<Stage, { stage: Stage }> = {
    decode: { stage: 'decode' },
    features: { stage: 'features' },
    inference: { stage: 'inference' },
    decide: { stage: 'decide' },
    produce: { stage: 'produce' },
  };
  const outcomeAttrs = { ALLOW: { decision: 'ALLOW' }, REVIEW: { decision: 'REVIEW' }, BLOCK: { decision: 'BLOCK' }, DLQ: { decision: 'DLQ' } };
  const codeAttrs = new Map<string, Record<string, string>>();
  const partitionAttrs = new Map<number, Record<string, number>>();

  return {
    chunkDelivered(results, timing, produceMs, ackedAt) {
      // Stage times are recorded once per chunk (a histogram record with attributes costs
      // ~0.4 µs: five per event were ~2 µs of the ~30 µs an event costs); the end-to-end
      // latency and the score are per event, as their distributions are what they are for.
      // Counters are added once per chunk and outcome (same totals, a fraction of the calls).
      let decodeMs = 0;
      let featuresMs = 0;
      let allow = 0;
      let review = 0;
      let block = 0;
      let dlq = 0;
      for (let i = 0; i < results.length; i++) {
        const r = results[i]!;
        decodeMs += timing.decodeMs[i]!;
        e2e.record(Math.max(0, ackedAt - Number(r.record.timestamp)) / 1000);
        if (r.kind === 'decision') {
          featuresMs += timing.featuresMs[i]!;
          const d = r.decision.decision;
          if (d === 'ALLOW') allow++;
          else if (d === 'REVIEW') review++;
          else block++;
          score.record(r.decision.score);
        } else {
          dlq++;
          let attrs = codeAttrs.get(r.deadLetter.errorCode);
          if (!attrs) codeAttrs.set(r.deadLetter.errorCode, (attrs = { code: r.deadLetter.errorCode }));
          deadLetters.add(1, attrs);
        }
      }
      if (results.length === 0) return;
      stage.record(decodeMs / 1000, stageAttrs.decode);
      stage.record(produceMs / 1000, stageAttrs.produce);
      if (allow + review + block > 0) {
        stage.record(featuresMs / 1000, stageAttrs.features);
        stage.record(timing.inferenceMs / 1000, stageAttrs.inference);
        stage.record(timing.decideMs / 1000, stageAttrs.decide);
      }
      if (allow) events.add(allow, outcomeAttrs.ALLOW);
      if (review) events.add(review, outcomeAttrs.REVIEW);
      if (block) events.add(block, outcomeAttrs.BLOCK);
      if (dlq) events.add(dlq, outcomeAttrs.DLQ);
    },
    lag(partition, value) {
      let attrs = partitionAttrs.get(partition);
      if (!attrs) partitionAttrs.set(partition, (attrs = { partition }));
      lagGauge.record(value, attrs);
    },
    observeOutcomes(read) {
      meter
        .createObservableCounter('fraudscore_outcomes', { description: 'Outcomes read from the outcomes topic, by result: applied, duplicates, late, expired, invalid, unreadable' })
        .addCallback((result) => {
          for (const [k, v] of Object.entries(read())) result.observe(v, { result: k });
        });
    },
  };
}

const kafkaClientObserved = new WeakSet<Meter>();

/**
 * The Kafka client's own counts, read at collection (process-wide, from services/common):
 * `fraudscore_undecodable_batches_total{codec}` (compressed batches that could not be
 * decompressed and were dead-lettered record by record) and
 * `fraudscore_kafka_client_retries_total{client,reason}` (kafkajs: broker responses with a
 * routine error it retried, logged below ERROR; librdkafka: client errors it retries by itself,
 * by librdkafka error name, logged at WARN). Once per meter.
 */
export function observeKafkaClient(meter: Meter): void {
  if (kafkaClientObserved.has(meter)) return;
  kafkaClientObserved.add(meter);
  const codecAttrs = CODEC_NAMES.map((codec) => [codec, { codec }] as const);
  const reasonAttrs = KAFKA_RETRY_REASONS.map((reason) => [reason, { client: 'kafkajs', reason }] as const);
  meter
    .createObservableCounter('fraudscore_undecodable_batches', { description: 'Compressed record batches the Kafka client could not decompress (each record dead-lettered as UNDECODABLE_BATCH), by codec' })
    .addCallback((result) => {
      for (const [codec, attrs] of codecAttrs) result.observe(undecodableBatches[codec], attrs);
    });
  meter
    .createObservableCounter('fraudscore_kafka_client_retries', { description: 'Broker responses with a routine error the Kafka client retried (logged below ERROR), by client and Kafka error type' })
    .addCallback((result) => {
      for (const [reason, attrs] of reasonAttrs) result.observe(kafkaClientRetries[reason], attrs);
      for (const [reason, n] of librdkafkaClientErrors) result.observe(n, { client: 'librdkafka', reason });
    });
}
