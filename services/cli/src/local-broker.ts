/**
 * The demo's broker: KAFKA_BROKERS when configured, otherwise the project's local broker
 * (deploy/local/kafka.sh), which is stopped again at the end if the demo started it.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { configuredBrokers } from './env.js';

const SCRIPT = fileURLToPath(new URL('../../../deploy/local/kafka.sh', import.meta.url));

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
