import type { Command } from 'commander';
import { runScorerProcess } from '../../../scorer/src/main.js';

const ENV_HELP = `
Configuration comes from FRAUD_* environment variables (see README "Configuration"):
  FRAUD_KAFKA_BROKERS (or KAFKA_BROKERS)  host:port list (required)
  FRAUD_GROUP_ID                          consumer group (default fraudscore-scorer)
  FRAUD_TOPIC_TRANSACTIONS|OUTCOMES|DECISIONS|FLAGS|DLQ|CARD_STATE  topic names
  FRAUD_WIRE_FORMAT                       confluent | plain (default confluent)
  FRAUD_MODELS_DIR, FRAUD_MODEL           model folder and name/version (default: models/default.json)
  FRAUD_DELIVERY                          at-least-once | exactly-once
  FRAUD_MAX_BATCH                         events per model call (default 500)
  FRAUD_ADMIN_PORT                        /healthz /readyz /metrics port (default 9464)
  FRAUD_LOG_LEVEL, FRAUD_OTEL_ENDPOINT, FRAUD_TRACE_SAMPLE_RATIO
Exit codes: 0 stopped, 1 crashed, 2 bad configuration, 3 model refused.`;

export function registerScorer(program: Command): void {
  program
    .command('scorer')
    .description('run the scoring service (consumes transactions, emits decisions, flags, dead letters)')
    .addHelpText('after', ENV_HELP)
    .action(async () => {
      await runScorerProcess(process.env);
    });
}
