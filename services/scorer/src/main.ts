/**
 * The scorer process: config from the environment, start, stop on SIGTERM/SIGINT.
 * Exit codes: 0 clean stop, 1 consumer crash or fatal error, 2 bad configuration,
 * 3 model refused. A crashed consumer exits so the supervisor restarts it, instead of
 * trusting an in-process restart loop.
 */
import { describeSecurity } from '../../common/src/kafka-security.js';
import { ConfigError, loadConfig } from './config.js';
import { ModelError } from './model/load.js';
import { loadServingModel, startScorer } from './service.js';
import { startTelemetry, type Telemetry } from './telemetry/otel.js';
import { SERVICE_VERSION } from './version.js';
import { createLogger } from './telemetry/log.js';

export async function runScorerProcess(env: Record<string, string | undefined>): Promise<never> {
  let config;
  try {
    config = loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`fraudscore scorer: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger(config.logLevel, 'fraudscore-scorer');
  let scorer;
  let telemetry: Telemetry | undefined;
  try {
    const model = await loadServingModel(config);
    // Telemetry starts once the model is known: its version and digest are resource attributes.
    telemetry = startTelemetry({
      serviceName: 'fraudscore-scorer',
      serviceVersion: SERVICE_VERSION,
      endpoint: config.otel.endpoint,
      sampleRatio: config.otel.sampleRatio,
      rootsSampledByCaller: true,
      resource: { 'fraudscore.model.name': model.ref.name, 'fraudscore.model.version': model.ref.version, 'fraudscore.model.digest': model.ref.digest },
    });
    scorer = await startScorer(config, log, { model, telemetry });
  } catch (err) {
    log.fatal({ err: (err as Error).message }, 'scorer failed to start');
    log.flush();
    process.exit(err instanceof ModelError ? 3 : 1);
  }
  log.info({ delivery: config.delivery, group: config.groupId, kafka: describeSecurity(config.security) }, 'scorer running');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, stats: scorer.stats }, 'stopping');
    await scorer.stop();
    await telemetry?.shutdown().catch(() => {});
    log.info('stopped');
    log.flush();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  const err = await scorer.crashed;
  log.fatal({ err: err.message }, 'consumer crashed; exiting so the supervisor restarts the scorer');
  await scorer.stop().catch(() => {});
  log.flush();
  process.exit(1);
}
