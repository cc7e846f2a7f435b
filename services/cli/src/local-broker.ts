/**
 * The demo's broker: KAFKA_BROKERS when configured, otherwise the project's local broker
 * (deploy/local/kafka.sh), which is stopped again at the end if the demo started it.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../common/src/paths.js';
import { configuredBrokers } from './env.js';

const SCRIPT = join(PROJECT_ROOT, 'deploy/local/kafka.sh');

export interface BrokerHandle {
  brokers: string[];
  startedHere: boolean;
  stop(): void;
}

export function acquireBroker(): BrokerHandle {
  const configured = configuredBrokers();
  if (configured) return { brokers: configured.split(','), startedHere: false, stop: () => {} };
  let running = true;
  try {
    execFileSync('bash', [SCRIPT, 'status'], { stdio: 'ignore' });
  } catch {
    running = false;
  }
  const out = execFileSync('bash', [SCRIPT, 'up'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const brokers = out.trim().split('\n').at(-1)!.split(',');
  return {
    brokers,
    startedHere: !running,
    stop: () => {
      if (!running) execFileSync('bash', [SCRIPT, 'down'], { stdio: 'inherit' });
    },
  };
}

/**
 * The project's secure broker (kafka.sh up --secure: SASL_SSL only, SCRAM-SHA-512, the
 * project's ACLs), started when not running and stopped again at the end if started here.
 * KAFKA_BROKERS never stands in for it: it names a plaintext broker.
 */
export function acquireSecureBroker(): BrokerHandle {
  let running = true;
  try {
    execFileSync('bash', [SCRIPT, 'status', '--secure'], { stdio: 'ignore' });
  } catch {
    running = false;
  }
  const out = execFileSync('bash', [SCRIPT, 'up', '--secure'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return {
    brokers: out.trim().split('\n').at(-1)!.split(','),
    startedHere: !running,
    stop: () => {
      if (!running) execFileSync('bash', [SCRIPT, 'down', '--secure'], { stdio: 'inherit' });
    },
  };
}

/** The FRAUD_KAFKA_* settings of a principal on the secure broker, as a user gets them (`kafka.sh env <principal> --secure`). */
export function securePrincipalEnv(principal: string): Record<string, string> {
  const text = execFileSync('bash', [SCRIPT, 'env', principal, '--secure'], { encoding: 'utf8' });
  return Object.fromEntries([...text.matchAll(/^export (\w+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]));
}
