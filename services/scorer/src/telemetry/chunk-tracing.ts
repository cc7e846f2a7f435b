/**
 * Per-event spans for a chunk, following the messaging conventions: each event's processing
 * is a CONSUMER span, child of the producer's context from the input's traceparent header
 * (when that context is sampled, or the ratio sampler picks a new root), with child spans for
 * decode, features, inference, decide and produce. Decisions and flags carry the scoring
 * span's traceparent, so a subscriber continues the same trace. A chunk with sampled events
 * also gets a batch span linking to their producer contexts (or to their own spans).
 *
 * Spans are built from the timings the pipeline measured, after the fact: the hot path does
 * no tracing work beyond starting one span per event, and none at all with tracing off.
 */
import { context, propagation, ROOT_CONTEXT, SpanKind, trace, type Context, type Link, type Span, type Tracer } from '@opentelemetry/api';
import type { ModelRef } from '../../../common/src/contracts.js';
import type { ChunkTiming, InputRecord, PipelineResult } from '../pipeline.js';
import { ATTR } from './attributes.js';

export interface ChunkTrace {
  /** The traceparent to put on record i's outputs (its scoring span, or the input's). */
  traceparentOf(i: number): string | undefined;
  /** Ends the spans once the chunk's outputs are acknowledged. */
  end(results: readonly PipelineResult[], timing: ChunkTiming, produceStart: number, produceEnd: number): void;
}

export interface ChunkTracer {
  begin(records: readonly InputRecord[], timing: ChunkTiming): ChunkTrace;
}

export interface ChunkTracerOptions {
  tracer: Tracer;
  enabled: boolean;
  /**
   * Set when the tracer's SDK records every root it is handed (Telemetry.rootSampleRatio): new
   * traces are then sampled here, at this ratio, before any span exists; an input whose
   * traceparent says "not sampled" gets no span either (parent-based, as the SDK would).
   */
  rootSampleRatio?: number;
  topic: string;
  groupId: string;
  model: () => ModelRef;
}

const carrierGetter = {
  keys: (c: Record<string, string>) => Object.keys(c),
  get: (c: Record<string, string>, k: string) => c[k],
};

const TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-([0-9a-f]{2})$/;

/** A W3C traceparent's sampled flag; undefined when there is none or it is not valid (a new trace). */
function sampledFlag(traceparent: string | undefined): boolean | undefined {
  const m = traceparent ? TRACEPARENT.exec(traceparent) : null;
  return m ? (parseInt(m[1]!, 16) & 1) === 1 : undefined;
}

/** Epoch ms with sub-millisecond precision, the clock ChunkTiming uses. */
export const nowMs = (): number => performance.timeOrigin + performance.now();

export function createChunkTracer(opts: ChunkTracerOptions): ChunkTracer {
  if (!opts.enabled) {
    // Tracing off: pass the input's context through unchanged, so a trace that the
    // publisher started still reaches the flag subscriber.
    return { begin: (records) => ({ traceparentOf: (i) => records[i]!.traceparent, end: () => {} }) };
  }
  const { tracer } = opts;
  return {
    begin(records, timing) {
      const spans: (Span | undefined)[] = new Array(records.length);
      const parents: (string | undefined)[] = new Array(records.length);
      const links: Link[] = [];
      for (let i = 0; i < records.length; i++) {
        const r = records[i]!;
        if (opts.rootSampleRatio !== undefined) {
          const flag = sampledFlag(r.traceparent);
          if (flag === false || (flag === undefined && !(Math.random() < opts.rootSampleRatio))) {
            parents[i] = r.traceparent;
            continue;
          }
        }
        const parent: Context = r.traceparent ? propagation.extract(ROOT_CONTEXT, { traceparent: r.traceparent }, carrierGetter) : ROOT_CONTEXT;
        // Attributes are set only on recorded spans: at 1 % sampling, building them for every
        // event was most of the tracing cost (the samplers in use do not read attributes).
        const span = tracer.startSpan(`process ${opts.topic}`, { kind: SpanKind.CONSUMER, startTime: timing.startedAt }, parent);
        if (!span.isRecording()) {
          parents[i] = r.traceparent;
          continue;
        }
        span.setAttributes({
          [ATTR.messagingSystem]: 'kafka',
          [ATTR.messagingOperationType]: 'process',
          [ATTR.messagingOperationName]: 'process',
          [ATTR.messagingDestination]: opts.topic,
          [ATTR.messagingPartition]: String(r.partition),
          [ATTR.messagingConsumerGroup]: opts.groupId,
          [ATTR.messagingOffset]: Number(r.offset),
        });
        spans[i] = span;
        const carrier: Record<string, string> = {};
        propagation.inject(trace.setSpan(ROOT_CONTEXT, span), carrier);
        parents[i] = carrier.traceparent;
        // Link the producer's context when the input carried one, else the event's own span.
        links.push({ context: trace.getSpanContext(parent) ?? span.spanContext() });
      }
      return {
        traceparentOf: (i) => parents[i],
        end(results, t, produceStart, produceEnd) {
          if (!spans.some(Boolean)) return;
          const model = opts.model();
          let cursor = t.startedAt;
          const decodeEnd: number[] = [];
          for (let i = 0; i < records.length; i++) {
            cursor += t.decodeMs[i]! + t.featuresMs[i]!;
            decodeEnd[i] = cursor;
          }
          const inferenceStart = cursor;
          const inferenceEnd = inferenceStart + t.inferenceMs;
          const decideEnd = inferenceEnd + t.decideMs;
          for (let i = 0; i < records.length; i++) {
            const span = spans[i];
            if (!span) continue;
            const ctx = trace.setSpan(context.active(), span);
            const child = (name: string, start: number, end: number) => tracer.startSpan(name, { startTime: start }, ctx).end(end);
            const featuresStart = decodeEnd[i]! - t.featuresMs[i]!;
            child('decode', featuresStart - t.decodeMs[i]!, featuresStart);
            const r = results[i]!;
            if (r.kind === 'decision') {
              child('features', featuresStart, decodeEnd[i]!);
              child('inference', inferenceStart, inferenceEnd);
              child('decide', inferenceEnd, decideEnd);
              span.setAttributes({
                [ATTR.decision]: r.decision.decision,
                // Rounded: a float32 score printed in full (0.8999999761581421) can pass Luhn.
                [ATTR.score]: Math.round(r.decision.score * 1e6) / 1e6,
                [ATTR.modelName]: model.name,
                [ATTR.modelVersion]: model.version,
              });
            } else {
              span.setAttributes({ [ATTR.decision]: 'DLQ', [ATTR.errorCode]: r.deadLetter.errorCode });
            }
            child('produce', produceStart, produceEnd);
            span.end(produceEnd);
          }
          if (links.length) {
            tracer
              .startSpan(`process ${opts.topic} batch`, {
                kind: SpanKind.CONSUMER,
                startTime: t.startedAt,
                links,
                attributes: { [ATTR.messagingSystem]: 'kafka', [ATTR.messagingOperationType]: 'process', [ATTR.messagingDestination]: opts.topic, [ATTR.messagingBatchCount]: records.length },
              })
              .end(produceEnd);
          }
        },
      };
    },
  };
}
