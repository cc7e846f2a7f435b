/**
 * The gateway process (`fraudscore gateway`): config from the environment, the API on
 * FRAUD_GATEWAY_PORT, health and metrics on FRAUD_GATEWAY_ADMIN_PORT, stop on SIGTERM/SIGINT.
 * Exit codes: 0 stopped, 1 failed, 2 bad configuration (the message names the setting).
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openCodecs } from '../../common/src/registry-codecs.js';
import { createKafka } from '../../common/src/kafka.js';
import { verifyManifest } from '../../common/src/model-signature.js';
import { ConfigError } from '../../scorer/src/config.js';
import { startAdminServer } from '../../scorer/src/http/admin.js';
import { resolveModelDir } from '../../scorer/src/model/load.js';
import { partitionCount } from '../../scorer/src/source/topics.js';
import { createLogger, type Logger } from '../../scorer/src/telemetry/log.js';
import { startTelemetry } from '../../scorer/src/telemetry/otel.js';
import { SERVICE_VERSION } from '../../scorer/src/version.js';
import { loadApiKeys } from './api-keys.js';
import { loadGatewayConfig, type GatewayConfig } from './config.js';
import { readFallbackPolicy } from './fallback.js';
import { openReplyChannel } from './replies.js';
import { buildGateway } from './server.js';

export interface RunningGateway {
  url: string;
  adminUrl: string;
  stop(): Promise<void>;
}

export async function startGateway(config: GatewayConfig, log: Logger): Promise<RunningGateway> {
  const shared = config.shared;
  // The fallback policy of the model the scorers fall back to (models/default.json or FRAUD_MODEL).
  const dir = await resolveModelDir(shared.modelsDir, shared.model);
  // With FRAUD_MODEL_PUBLIC_KEYS the rules are trusted only from a signed manifest, as the scorer's model: the bytes verified are the bytes parsed.
  const signed = shared.modelPublicKeys && (await verifyManifest(dir, shared.modelPublicKeys));
  const manifest = JSON.parse((signed ? signed.manifest : await readFile(join(dir, 'manifest.json'))).toString('utf8')) as Record<string, unknown>;
  if (signed) log.info({ model: `${String(manifest.name)}/${String(manifest.version)}`, keyId: signed.key.keyId }, 'model signature verified');
  const fallback = readFallbackPolicy(manifest, `${String(manifest.name)}/${String(manifest.version)}`);
  const keys = loadApiKeys({ file: config.apiKeysFile, env: config.apiKeys, onReloadError: (err) => log.warn({ err: err.message }, 'API keys file changed but cannot be used; keeping the last good keys') });

  const kafka = createKafka({ brokers: [...shared.brokers], clientId: `fraudscore-gateway-${config.instanceId}`, security: shared.security });
  const count = await partitionCount(kafka, shared.topics.replies);
  if (count === undefined) throw new ConfigError(`FRAUD_TOPIC_REPLIES: topic ${shared.topics.replies} does not exist (fraudscore topics creates it)`);
  const owned = config.replyPartitions ?? Array.from({ length: count }, (_, p) => p);
  // With FRAUD_SCHEMA_REGISTRY_URL: transactions written with the registry's id, replies read by theirs.
  const { codecs, prepare } = await openCodecs({ format: shared.wireFormat, registry: shared.schemaRegistry, clientId: `fraudscore-gateway-${config.instanceId}`, writes: { transaction: [shared.topics.transactions] }, log });
  const channel = await openReplyChannel({ kafka, transactionsTopic: shared.topics.transactions, repliesTopic: shared.topics.replies, partitions: owned, instanceId: config.instanceId, codecs, prepare });

  const telemetry = startTelemetry({ serviceName: 'fraudscore-gateway', serviceVersion: SERVICE_VERSION, endpoint: shared.otel.endpoint, sampleRatio: shared.otel.sampleRatio });
  const requests = telemetry.meter.createCounter('fraudscore_gateway_requests', { description: 'REST requests by outcome: decided (the scorer\'s decision), degraded (past the deadline: the fallback policy), rejected (4xx/5xx)' });
  const seconds = telemetry.meter.createHistogram('fraudscore_gateway_request_seconds', { description: 'REST request latency by outcome', unit: 's', advice: { explicitBucketBoundaries: [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5] } });

  const app = await buildGateway({
    keys,
    channel,
    codec: codecs.transaction,
    limits: { maxFutureSkewMs: shared.maxFutureSkewMs, maxAmountMinor: shared.maxAmountMinor },
    deadlineMs: config.deadlineMs,
    fallback,
    maxBodyBytes: config.maxBodyBytes,
    rateLimitPerMinute: config.rateLimitPerMinute,
    log,
    observe: (outcome, s) => {
      requests.add(1, { outcome });
      seconds.record(s, { outcome });
    },
    https: config.tls ? { cert: readFileSync(config.tls.certFile), key: readFileSync(config.tls.keyFile) } : undefined,
  });
  const url = await app.listen({ host: config.host, port: config.port });
  const admin = await startAdminServer({
    host: config.adminHost,
    port: config.adminPort,
    health: { liveness: () => null, readiness: () => ({ repliesReadBack: channel.ready(), apiKeys: keys.size() > 0 }) },
    metrics: (req, res) => telemetry.serveMetrics(req, res),
  });
  log.info({ url, admin: admin.url, replyPartitions: owned, deadlineMs: config.deadlineMs, fallbackRules: fallback.rules.length }, 'gateway listening');
  return {
    url,
    adminUrl: admin.url,
    async stop() {
      await app.close();
      await admin.close();
      await channel.close();
      await telemetry.shutdown().catch(() => {});
    },
  };
}

export async function runGatewayProcess(env: Record<string, string | undefined>): Promise<void> {
  let config: GatewayConfig;
  try {
    config = loadGatewayConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`fraudscore gateway: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger(config.shared.logLevel, 'fraudscore-gateway');
  let gateway: RunningGateway;
  try {
    gateway = await startGateway(config, log);
  } catch (err) {
    log.fatal({ err: (err as Error).message }, 'gateway failed to start');
    log.flush();
    process.exit(err instanceof ConfigError ? 2 : 1);
  }
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    await gateway.stop().catch(() => {});
    log.flush();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}
