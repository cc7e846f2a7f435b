import { appendFileSync } from 'node:fs';
import type { Command } from 'commander';
import { newApiKey } from '../../../gateway/src/api-keys.js';
import { runGatewayProcess } from '../../../gateway/src/main.js';

const ENV_HELP = `
Configuration comes from FRAUD_* environment variables (README "Scoring over REST"):
  FRAUD_KAFKA_BROKERS (or KAFKA_BROKERS)  host:port list (required)
  FRAUD_GATEWAY_API_KEYS_FILE             file of "<name> <sha256 hex>" lines (re-read when it changes)
  FRAUD_GATEWAY_API_KEYS                  the same entries, comma-separated (either is required)
  FRAUD_GATEWAY_PORT, FRAUD_GATEWAY_HOST  the API (default 8080, 0.0.0.0)
  FRAUD_GATEWAY_ADMIN_PORT                /healthz /readyz /metrics (default 9465)
  FRAUD_DECISION_DEADLINE_MS              answer with the fallback policy after this (default 150)
  FRAUD_GATEWAY_REPLY_PARTITIONS          reply partitions this instance owns (default: all)
  FRAUD_GATEWAY_INSTANCE_ID               stable name of the instance (default: the host name)
  FRAUD_GATEWAY_RATE_LIMIT                requests per minute per key (default 6000)
  FRAUD_GATEWAY_MAX_BODY_BYTES            larger bodies get 413 (default 16384)
  FRAUD_GATEWAY_TLS_CERT_FILE, FRAUD_GATEWAY_TLS_KEY_FILE   serve HTTPS
  FRAUD_TOPIC_TRANSACTIONS, FRAUD_TOPIC_REPLIES, FRAUD_WIRE_FORMAT, FRAUD_MODELS_DIR, FRAUD_MODEL: as the scorer
Exit codes: 0 stopped, 1 failed, 2 bad configuration.`;

export function registerGateway(program: Command): void {
  const gateway = program
    .command('gateway')
    .description('run the REST scoring gateway: POST /v1/score answers with the streaming scorer\'s decision, within a deadline')
    .addHelpText('after', ENV_HELP)
    .action(async () => {
      await runGatewayProcess(process.env);
    });
  gateway
    .command('new-key <name>')
    .description('make a random API key: prints the key (give it to the caller, once); the line to store (the key\'s hash) goes to --append <file>, or to stderr')
    .option('--append <file>', 'append the line to this keys file (FRAUD_GATEWAY_API_KEYS_FILE; a running gateway picks it up)')
    .action((name: string, o: { append?: string }) => {
      if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name)) throw new Error('the name must be 1-64 of [A-Za-z0-9_.-]');
      const { key, entry } = newApiKey(name);
      if (o.append) appendFileSync(o.append, `${entry}\n`, { mode: 0o600 });
      else process.stderr.write(`# ${name}: keep this line (the key's hash) in FRAUD_GATEWAY_API_KEYS_FILE\n${entry}\n`);
      process.stdout.write(`${key}\n`);
    });
}
