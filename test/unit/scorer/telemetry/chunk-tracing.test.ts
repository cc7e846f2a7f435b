/**
 * Which events get a span when the scorer samples new traces itself (rootSampleRatio) and its
 * SDK records every root it is handed: parent-based for inputs that carry a traceparent, the
 * ratio for the others, and no span at all (no ids generated) for events not sampled — whose
 * outputs still carry the input's traceparent.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { propagation } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { AlwaysOnSampler, InMemorySpanExporter, ParentBasedSampler, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { newChunkTiming, type InputRecord } from '../../../../services/scorer/src/pipeline.js';
import { createChunkTracer } from '../../../../services/scorer/src/telemetry/chunk-tracing.js';

const SAMPLED = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const NOT_SAMPLED = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00';

function tracerWith(rootSampleRatio: number) {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ sampler: new ParentBasedSampler({ root: new AlwaysOnSampler() }), spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  const tracer = createChunkTracer({ tracer: provider.getTracer('t'), enabled: true, rootSampleRatio, topic: 'transactions', groupId: 'g', model: () => ({ name: 'm', version: '1', digest: 'd' }) });
  return { tracer, exporter };
}

const record = (offset: number, traceparent?: string): InputRecord => ({ partition: 0, offset: String(offset), key: null, value: null, timestamp: '0', ...(traceparent ? { traceparent } : {}) });

describe('chunk tracer sampling its own roots', () => {
  // What NodeSDK registers in the scorer: traceparent in and out.
  beforeAll(() => void propagation.setGlobalPropagator(new W3CTraceContextPropagator()));

  it('follows the parent: a sampled one gets a span, an unsampled one passes through without one', () => {
    const { tracer } = tracerWith(0);
    const trace = tracer.begin([record(1, SAMPLED), record(2, NOT_SAMPLED), record(3), record(4, 'garbage')], newChunkTiming());
    expect(trace.traceparentOf(0)).toMatch(/^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/);
    expect(trace.traceparentOf(0)).not.toBe(SAMPLED); // the scoring span's own context
    expect(trace.traceparentOf(1)).toBe(NOT_SAMPLED);
    expect(trace.traceparentOf(2)).toBeUndefined(); // ratio 0: no new trace
    expect(trace.traceparentOf(3)).toBe('garbage'); // not a valid traceparent: a would-be new trace, not sampled
  });

  it('starts new traces at the ratio', () => {
    const { tracer: all } = tracerWith(1);
    const records = Array.from({ length: 200 }, (_, i) => record(i));
    const t1 = all.begin(records, newChunkTiming());
    expect(records.every((_, i) => t1.traceparentOf(i)?.endsWith('-01'))).toBe(true);
    const { tracer: some } = tracerWith(0.25);
    const t2 = some.begin(records, newChunkTiming());
    const sampled = records.filter((_, i) => t2.traceparentOf(i) !== undefined).length;
    expect(sampled).toBeGreaterThan(20);
    expect(sampled).toBeLessThan(90);
  });
});
