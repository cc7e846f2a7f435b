/**
 * No span attribute, log line or metric label may carry a card token, an amount or a PAN.
 * Spans come from the real chunk tracer over real pipeline results (with a PAN-bearing poison
 * record among them); logs from the real logger.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { AlwaysOnSampler, InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { createCodecs, type Transaction } from '../../../../services/common/src/contracts.js';
import { containsPanLike } from '../../../../services/scorer/src/decode/pan.js';
import { createPolicy } from '../../../../services/scorer/src/decision/policy.js';
import type { Model } from '../../../../services/scorer/src/model/load.js';
import { createPipeline, newChunkTiming, type FeatureComputer, type InputRecord } from '../../../../services/scorer/src/pipeline.js';
import { createChunkTracer } from '../../../../services/scorer/src/telemetry/chunk-tracing.js';
import { createLogger } from '../../../../services/scorer/src/telemetry/log.js';
import { poisonRecord, TEST_PAN } from '../../../../services/simulator/src/poison.js';

const codecs = createCodecs('confluent');
const tx = (i: number): Transaction => ({
  transactionId: `tx-${i}`, cardToken: `card-00${i}`, terminalId: 'term-1', amountMinor: 12_345 + i, currency: 'EUR',
  eventTime: Date.UTC(2024, 0, 1) + i, merchantId: null, merchantCategoryCode: null, merchantCountry: null,
  channel: 'POS', entryMode: 'CHIP', cardPresent: true,
});
const model: Model = {
  ref: { name: 'm', version: '1', digest: 'a'.repeat(64) },
  manifest: {} as Model['manifest'],
  score: async (_rows, n) => new Float32Array(n).fill(0.9),
  dispose: async () => {},
};
const features: FeatureComputer = { width: 15, featureSetVersion: 'v', compute: (t, out, o) => out.fill(t.amountMinor / 100, o, o + 15) };

describe('telemetry carries no card data', () => {
  it('span attributes hold no card token, amount, key or PAN', async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new TracerProvider({ sampler: new AlwaysOnSampler(), spanProcessors: [new SimpleSpanProcessor({ exporter })] });
    const tracer = createChunkTracer({ tracer: provider.getTracer('t'), enabled: true, topic: 'transactions', groupId: 'g', model: () => model.ref });
    const pipeline = createPipeline({
      topic: 'transactions', codec: codecs.transaction, limits: { maxFutureSkewMs: 1e9, maxAmountMinor: 1e9 },
      featuresFor: () => features, serving: () => ({ revision: -1, champion: { role: 'CHAMPION', model, policy: createPolicy({ review: 0.5, block: 0.8 }, 'm/1') } }), clock: Date.now,
    });
    const poison = poisonRecord('pan-token', tx(9));
    const records: InputRecord[] = [
      ...[1, 2, 3].map((i) => ({ partition: 0, offset: String(i), key: Buffer.from(`card-00${i}`), value: codecs.transaction.encode(tx(i)), timestamp: String(Date.now()) })),
      { partition: 0, offset: '4', key: Buffer.from(TEST_PAN), value: poison.value, timestamp: String(Date.now()) },
    ];
    const timing = newChunkTiming();
    const results = await pipeline.process(records, timing);
    const trace = tracer.begin(records, timing);
    trace.end(results, timing, timing.startedAt + 1, timing.startedAt + 2);
    const spans = exporter.getFinishedSpans();
    expect(spans.length).toBe(4 * 3 + 3 * 3 + 1); // per event: span + decode + produce; decisions add features/inference/decide; one batch span
    const values = spans.flatMap((s) => [s.name, ...Object.entries(s.attributes).flatMap(([k, v]) => [k, String(v)])]);
    for (const v of values) {
      expect(containsPanLike(v), v).toBe(false);
      expect(v).not.toMatch(/card-00\d/);
      expect(v).not.toMatch(/^123\d\d(\.\d+)?$|^12[34]\.\d+$/);
    }
    expect(spans.some((s) => s.attributes['fraudscore.error.code'] === 'PAN_LIKE_VALUE')).toBe(true);
  });

  it('log lines redact PAN-like values in messages', () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) });
    const log = createLogger('info', 'test', sink);
    log.warn(`bad input with ${TEST_PAN} inside`);
    log.info({ reason: 'x' }, `also 4111-1111-1111-1111 here`);
    log.error({ err: `token ${TEST_PAN} rejected` }, 'structured field');
    expect(lines).toHaveLength(3);
    for (const l of lines) {
      expect(containsPanLike(l)).toBe(false);
      expect(l).toContain('[REDACTED-PAN]');
    }
  });
});
