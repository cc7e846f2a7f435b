/**
 * Integration tests run against a real Kafka broker: KAFKA_BROKERS when set, otherwise the
 * project's own local broker (deploy/local/kafka.sh), started here and stopped afterwards if
 * this run started it.
 */
import { execFileSync } from 'node:child_process';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string;
  }
}

export default function setup(project: TestProject): () => void {
  const script = 'deploy/local/kafka.sh';
  if (process.env.KAFKA_BROKERS) {
    project.provide('kafkaBrokers', process.env.KAFKA_BROKERS);
    return () => {};
  }
  let alreadyRunning = true;
  try {
    execFileSync('bash', [script, 'status'], { stdio: 'ignore' });
  } catch {
    alreadyRunning = false;
  }
  const brokers = execFileSync('bash', [script, 'up'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').at(-1)!;
  project.provide('kafkaBrokers', brokers);
  return () => {
    if (!alreadyRunning) execFileSync('bash', [script, 'down'], { stdio: 'inherit' });
  };
}
