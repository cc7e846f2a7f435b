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
