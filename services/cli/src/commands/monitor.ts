import type { Command } from 'commander';
import { runMonitorProcess } from '../../../monitor/src/main.js';

const ENV_HELP = `
Configuration comes from FRAUD_* environment variables (see README "Monitoring"):
  FRAUD_KAFKA_BROKERS (or KAFKA_BROKERS)  host:port list (required)
  FRAUD_MONITOR_GROUP_ID                  consumer group (default fraudscore-monitor)
  FRAUD_TOPIC_DECISIONS|SHADOW_DECISIONS|OUTCOMES  topics read
  FRAUD_MONITOR_DB                        the store (default .cache/monitor/monitor.db)
  FRAUD_LABEL_HORIZON_DAYS                days a decision waits for its label (default 30)
  FRAUD_MONITOR_INTERVAL_MS               how often the windows are recomputed (default 5000)
  FRAUD_MONITOR_ADMIN_PORT                /healthz /readyz /metrics port (default 9465)
Exit codes: 0 stopped, 1 failed, 2 bad configuration.`;

export function registerMonitor(program: Command): void {
  program
    .command('monitor')
    .description("run the model monitor: joins decisions with their delayed labels and exposes each model version's realized performance")
    .addHelpText('after', ENV_HELP)
    .action(async () => {
      await runMonitorProcess(process.env);
    });
}
