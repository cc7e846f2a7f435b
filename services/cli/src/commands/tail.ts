import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import type { Decision, DeadLetter } from '../../../common/src/contracts.js';
import { openCodecs } from '../../../common/src/registry-codecs.js';
import { createKafka, TOPICS } from '../../../common/src/kafka.js';
import { context, propagation, ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import { configuredRegistry, resolveBrokers } from '../env.js';
import { addTraceOptions, cliTelemetry, type TraceOptions } from '../telemetry.js';

const WHICH = { flags: TOPICS.flags, decisions: TOPICS.decisions, dlq: TOPICS.dlq } as const;

export function formatDecision(d: Decision): string {
  const when = new Date(d.eventTime).toISOString();
  const reasons = d.reasons.length ? ` reasons=${d.reasons.join(',')}` : '';
  return `${d.decision.padEnd(6)} score=${d.score.toFixed(4)} tx=${d.transactionId} card=${d.cardToken} at=${when} model=${d.model.name}/${d.model.version} src=${d.source.topic}/${d.source.partition}@${d.source.offset}${reasons}`;
}

export function formatDeadLetter(d: DeadLetter): string {
  return `DLQ    code=${d.errorCode} src=${d.source.topic}/${d.source.partition}@${d.source.offset} reason="${d.reason}"${d.payload ? ` payload=${d.payload.length}B` : ' payload=withheld'}`;
}

export function registerTail(program: Command): void {
  addTraceOptions(program
    .command('tail')
    .description('subscribe to flags, decisions or dead letters and print them readably (read committed)')
    .option('--brokers <list>', 'Kafka bootstrap servers host:port[,…]')
    .option('--topic <which>', 'flags | decisions | dlq', 'flags')
    .option('--topic-name <name>', 'read this topic name instead of the default for --topic')
    .option('--from-beginning', 'start at the earliest offset instead of new records only', false)
    .option('--max <n>', 'stop after n records', (v) => Number(v))
    .option('--json', 'print one JSON object per line', false)
    .option('--wire-format <f>', 'confluent | plain', 'confluent'))
    .action(async (opts: TraceOptions & { brokers?: string; topic: keyof typeof WHICH; topicName?: string; fromBeginning: boolean; max?: number; json: boolean; wireFormat: 'confluent' | 'plain' }) => {
      if (!(opts.topic in WHICH)) throw new Error(`--topic must be one of ${Object.keys(WHICH).join(', ')}`);
      const topic = opts.topicName ?? WHICH[opts.topic];
      // With FRAUD_SCHEMA_REGISTRY_URL, what the scorers wrote with the registry's ids is read by them.
      const { codecs, prepare } = await openCodecs({ format: opts.wireFormat, registry: configuredRegistry(), clientId: 'fraudscore-tail', writes: {} });
      const kafka = createKafka({ brokers: resolveBrokers(opts.brokers), clientId: 'fraudscore-tail' });
      const consumer = kafka.consumer({ groupId: `fraudscore-tail-${randomUUID()}`, readUncommitted: false });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: opts.fromBeginning });
      let seen = 0;
      const telemetry = cliTelemetry('fraudscore-tail', opts);
      const stop = async () => {
        await consumer.disconnect();
        await telemetry?.shutdown();
        process.exit(0);
      };
      process.on('SIGINT', () => void stop());
      process.on('SIGTERM', () => void stop());
      await consumer.run({
        eachMessage: async ({ message, partition }) => {
          if (!message.value) return;
          const fetching = prepare?.([message], (m) => m.value);
          if (fetching) await fetching;
          // Continue the scorer's trace: this subscriber's processing is a child of it.
          const traceparent = message.headers?.traceparent?.toString();
          const parent = traceparent ? propagation.extract(ROOT_CONTEXT, { traceparent }) : ROOT_CONTEXT;
          const span = telemetry?.tracer.startSpan(`process ${topic}`, {
            kind: SpanKind.CONSUMER,
            attributes: { 'messaging.system': 'kafka', 'messaging.operation.type': 'process', 'messaging.destination.name': topic, 'messaging.destination.partition.id': String(partition), 'messaging.kafka.offset': Number(message.offset) },
          }, parent);
          const traceId = trace.getSpanContext(parent)?.traceId;
          const suffix = traceId && !opts.json ? ` trace=${traceId}` : '';
          context.with(span ? trace.setSpan(context.active(), span) : context.active(), () => {
            if (opts.topic === 'dlq') {
              const d = codecs.deadLetter.decode(message.value!);
              console.log(opts.json ? JSON.stringify({ ...d, payload: d.payload ? d.payload.toString('base64') : null }) : formatDeadLetter(d) + suffix);
            } else {
              const d = codecs.decision.decode(message.value!);
              console.log(opts.json ? JSON.stringify({ ...d, traceId }) : formatDecision(d) + suffix);
            }
          });
          span?.end();
          // Not awaited: disconnecting waits for this handler to return.
          if (opts.max !== undefined && ++seen === opts.max) setImmediate(() => void stop());
        },
      });
    });
}
