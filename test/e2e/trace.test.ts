/**
 * One trace from publisher to flag subscriber, in a real Jaeger: the publisher's PRODUCER
 * span → the scorer's CONSUMER span (child of it) with decode / features / inference /
 * decide / produce children → the flag subscriber's CONSUMER span (child of the scorer's).
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kafka } from 'kafkajs';
import { publishEvents, simulate } from '../../services/simulator/src/index.js';
import { startTelemetry } from '../../services/scorer/src/telemetry/otel.js';
import { deleteTopics, freshTopics, testKafka, brokers, type TestTopics } from '../helpers/kafka.js';
import { acquireJaeger, findTraces, getTrace, type JaegerHandle, type JaegerSpan, type JaegerTrace } from '../helpers/jaeger.js';
import { scorerEnv, spawnScorer, type ChildScorer } from '../helpers/scorer.js';

describe('a flagged transaction is one trace across three services', () => {
  let kafka: Kafka;
  let topics: TestTopics;
  let jaeger: JaegerHandle;
  let scorer: ChildScorer;

  beforeAll(async () => {
    jaeger = acquireJaeger();
    kafka = testKafka();
    topics = await freshTopics(kafka, 2);
    scorer = await spawnScorer(scorerEnv(topics, { FRAUD_OTEL_ENDPOINT: jaeger.otlpHttp, FRAUD_TRACE_SAMPLE_RATIO: '1' }), 'e2e-trace-scorer');
  }, 1_500_000); // the first run on a machine builds Jaeger from the Go module proxy (~8 min)

  afterAll(async () => {
    scorer?.child.kill('SIGTERM');
    await scorer?.exited;
    if (topics) await deleteTopics(kafka, topics);
    jaeger?.stop();
  });

  it('publisher → scorer (with stage spans) → flag consumer, with correct parent links', async () => {
    const telemetry = startTelemetry({ serviceName: 'fraudscore-publisher', serviceVersion: 'test', endpoint: jaeger.otlpHttp, sampleRatio: 1 });
    // Days 10–20 of a small world: terminal outcomes are known, so some events are flagged.
    const events = [...simulate({ seed: 3, customers: 100, terminals: 200, days: 20 })];
    await publishEvents(kafka, events, { topics, tracer: telemetry.tracer });
    await telemetry.shutdown();

    const tail = spawn(process.execPath, ['--import', 'tsx', 'services/cli/src/main.ts', 'tail', '--brokers', brokers(), '--topic', 'flags', '--topic-name', topics.flags, '--from-beginning', '--max', '3', '--otel-endpoint', jaeger.otlpHttp], { stdio: ['ignore', 'pipe', 'inherit'] });
    let printed = '';
    tail.stdout!.on('data', (d: Buffer) => (printed += d.toString()));
    const timer = setTimeout(() => tail.kill('SIGKILL'), 60_000);
    expect(await new Promise((r) => tail.once('exit', r)), printed).toBe(0);
    clearTimeout(timer);
    const traceId = printed.match(/trace=([0-9a-f]{32})/)?.[1];
    expect(traceId, printed).toBeDefined();

    let found: JaegerTrace | undefined;
    for (let i = 0; i < 60 && !hasAll(found); i++) {
      await new Promise((r) => setTimeout(r, 1000));
      found = await getTrace(jaeger.query, traceId!);
    }
    expect(hasAll(found)).toBe(true);
    const t = found!;
    const service = (s: JaegerSpan) => t.processes[s.processID]!.serviceName;
    const byName = (name: string, svc: string) => t.spans.find((s) => s.operationName === name && service(s) === svc)!;
    const parentOf = (s: JaegerSpan) => s.references.find((r) => r.refType === 'CHILD_OF')?.spanID;

    const send = byName(`send ${topics.transactions}`, 'fraudscore-publisher');
    const scoring = byName(`process ${topics.transactions}`, 'fraudscore-scorer');
    const flag = byName(`process ${topics.flags}`, 'fraudscore-tail');
    expect(parentOf(scoring)).toBe(send.spanID);
    expect(parentOf(flag)).toBe(scoring.spanID);
    for (const stage of ['decode', 'features', 'inference', 'decide', 'produce']) {
      const child = byName(stage, 'fraudscore-scorer');
      expect(child, stage).toBeDefined();
      expect(parentOf(child)).toBe(scoring.spanID);
    }
    expect(scoring.tags.find((x) => x.key === 'span.kind')?.value).toBe('consumer');
    expect(send.tags.find((x) => x.key === 'span.kind')?.value).toBe('producer');
    expect(scoring.tags.find((x) => x.key === 'messaging.system')?.value).toBe('kafka');

    const rows = t.spans
      .slice()
      .sort((a, b) => a.startTime - b.startTime)
      .map((s) => `${service(s).padEnd(22)} ${s.operationName.padEnd(40)} span=${s.spanID} parent=${parentOf(s) ?? '-'} ${(s.duration / 1000).toFixed(3)} ms`);
    console.log(`trace ${t.traceID} as Jaeger returns it:\n${rows.join('\n')}`);
    expect((await findTraces(jaeger.query, 'fraudscore-scorer')).length).toBeGreaterThan(0);
  });
});

function hasAll(t: JaegerTrace | undefined): boolean {
  if (!t) return false;
  const services = new Set(Object.values(t.processes).map((p) => p.serviceName));
  return services.has('fraudscore-publisher') && services.has('fraudscore-scorer') && services.has('fraudscore-tail') && t.spans.length >= 8;
}
