/**
 * The benchmark's baseline, "the pipe": a consumer → producer that does everything the scorer
 * does except features and the model. Same configuration (FRAUD_* variables, read by the
 * scorer's own loadConfig), same Kafka client (FRAUD_KAFKA_CLIENT: kafkajs or librdkafka, the
 * scorer's own transport) and consumer/producer settings, the scorer's
 * own scoring session (startScoringSession: chunking, decode, encode, headers, metrics, tracing),
 * the same delivery (at-least-once or exactly-once, acks=all), the same admin server.
 * The difference: the FeatureComputer writes zeros (same width, so decisions encode to the
 * same size), the "model" returns a constant, the policy always says ALLOW; no card state,
 * so no changelog and no outcomes feed.
 *
 * Run by test/bench/run.ts as a child process (its own event loop, like the scorer):
 *   node --import tsx test/bench/pipe.ts        (environment: the scorer's FRAUD_* variables)
 *
 * The Kafka side (consumer, delivery, commits, rebalances) is the scorer's own session.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createCodecs } from '../../services/common/src/contracts.js';
import { createKafka } from '../../services/common/src/kafka.js';
import { ConfigError, loadConfig } from '../../services/scorer/src/config.js';
import type { Policy } from '../../services/scorer/src/decision/policy.js';
import type { Serving } from '../../services/scorer/src/deployment/serving.js';
import { FEATURE_NAMES, FEATURE_SET_VERSION } from '../../services/scorer/src/features/index.js';
import { startAdminServer } from '../../services/scorer/src/http/admin.js';
import type { Model } from '../../services/scorer/src/model/load.js';
import { resolveModelDir } from '../../services/scorer/src/model/load.js';
import { manifestSchema } from '../../services/scorer/src/model/manifest.js';
import { createPipeline, type FeatureComputer } from '../../services/scorer/src/pipeline.js';
import { startScoringSession } from '../../services/scorer/src/source/scoring-session.js';
import { assertTopicsExist } from '../../services/scorer/src/source/topics.js';
import { createChunkTracer } from '../../services/scorer/src/telemetry/chunk-tracing.js';
import { createLogger } from '../../services/scorer/src/telemetry/log.js';
import { createScorerMetrics } from '../../services/scorer/src/telemetry/metrics.js';
import { startTelemetry } from '../../services/scorer/src/telemetry/otel.js';
import { SERVICE_VERSION } from '../../services/scorer/src/version.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`pipe: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger(config.logLevel, 'fraudscore-pipe');

  // The model's identity only (decisions carry it); the graph is never loaded.
  const dir = await resolveModelDir(config.modelsDir, config.model);
  const manifest = manifestSchema.parse(JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')));
  const ref = { name: manifest.name, version: manifest.version, digest: manifest.sha256 };
  let constant = new Float32Array(0);
  const model: Model = {
    ref,
    manifest,
    async score(_rows, n) {
      if (constant.length < n) constant = new Float32Array(n).fill(0.01);
      return constant.subarray(0, n);
    },
    dispose: async () => {},
  };
  const allow = { decision: 'ALLOW' as const, reasons: [] as string[] };
  const policy: Policy = { version: `policy-v1;${ref.name}/${ref.version};thresholds=000000000000`, decide: () => allow };
  const serving: Serving = { revision: -1, champion: { role: 'CHAMPION', model, policy } };
  const zeros: FeatureComputer = {
    width: FEATURE_NAMES.length,
    featureSetVersion: FEATURE_SET_VERSION,
    compute(_tx, out, offset) {
      out.fill(0, offset, offset + FEATURE_NAMES.length);
    },
  };

  const telemetry = startTelemetry({
    serviceName: 'fraudscore-pipe',
    serviceVersion: SERVICE_VERSION,
    endpoint: config.otel.endpoint,
    sampleRatio: config.otel.sampleRatio,
    rootsSampledByCaller: true,
    resource: { 'fraudscore.model.name': ref.name, 'fraudscore.model.version': ref.version, 'fraudscore.model.digest': ref.digest },
  });
  const metrics = createScorerMetrics(telemetry.meter);

  const kafka = createKafka({ brokers: [...config.brokers], clientId: config.clientId });
  const t = config.topics;
  await assertTopicsExist(kafka, [t.transactions, t.decisions, t.flags, t.dlq]);
  const codecs = createCodecs(config.wireFormat);

  let assigned = false;
  let failure: string | null = null;
  const admin = await startAdminServer({
    host: config.admin.host,
    port: config.admin.port,
    health: { liveness: () => failure, readiness: () => ({ model: true, partitionsAssigned: assigned }) },
    metrics: telemetry.serveMetrics,
  });

  const pipeline = createPipeline({
    topic: t.transactions,
    codec: codecs.transaction,
    limits: { maxFutureSkewMs: config.maxFutureSkewMs, maxAmountMinor: config.maxAmountMinor },
    featuresFor: () => zeros,
    serving: () => serving,
    clock: Date.now,
    decisionFeatures: config.decisionFeatures,
  });
  const session = await startScoringSession({
    kafka,
    config,
    pipeline,
    codecs,
    tracer: createChunkTracer({ tracer: telemetry.tracer, enabled: telemetry.tracing, rootSampleRatio: telemetry.rootSampleRatio, topic: t.transactions, groupId: config.groupId, model: () => ref }),
    metrics,
    log,
    onAssigned: (mine) => (assigned = mine.length > 0),
    onFatal(reason, err) {
      failure = `${reason}: ${err.message}`;
      log.fatal({ err: err.message }, reason);
      log.flush();
      process.exit(1);
    },
  });
  log.info({ delivery: config.delivery, group: config.groupId }, 'pipe running');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, stats: session.stats }, 'stopping');
    await session.stop();
    await admin.close().catch(() => {});
    await telemetry.shutdown().catch(() => {});
    log.flush();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`pipe: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
