/**
 * The monitor process: config from the environment, start, stop on SIGTERM/SIGINT.
 * Exit codes: 0 stopped, 1 failed, 2 bad configuration.
 */
import { ConfigError } from '../../scorer/src/config.js';
import { createLogger } from '../../scorer/src/telemetry/log.js';
import { startTelemetry } from '../../scorer/src/telemetry/otel.js';
import { SERVICE_VERSION } from '../../scorer/src/version.js';
import { loadMonitorConfig, type MonitorConfig } from './config.js';
import { startMonitor } from './service.js';

export async function runMonitorProcess(env: Record<string, string | undefined>): Promise<void> {
  let config: MonitorConfig;
  try {
    config = loadMonitorConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`fraudscore monitor: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger(config.logLevel, 'fraudscore-monitor');
  const telemetry = startTelemetry({ serviceName: 'fraudscore-monitor', serviceVersion: SERVICE_VERSION, endpoint: '', sampleRatio: 0 });
  let monitor;
  try {
    monitor = await startMonitor(config, log, telemetry);
  } catch (err) {
    log.fatal({ err: (err as Error).message }, 'monitor failed to start');
    log.flush();
    process.exit(1);
  }
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    await monitor.stop();
    await telemetry.shutdown().catch(() => {});
    log.flush();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}
