/**
 * The security tests run against the project's secure broker (deploy/local/kafka.sh up
 * --secure: SASL_SSL only, SCRAM-SHA-512, deny by default, the project's ACLs), started here
 * and stopped afterwards if this run started it. It runs beside the plaintext broker.
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
  let alreadyRunning = true;
  try {
    execFileSync('bash', [script, 'status', '--secure'], { stdio: 'ignore' });
  } catch {
    alreadyRunning = false;
  }
  const brokers = execFileSync('bash', [script, 'up', '--secure'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').at(-1)!;
  project.provide('kafkaBrokers', brokers);
  return () => {
    if (!alreadyRunning) execFileSync('bash', [script, 'down', '--secure'], { stdio: 'inherit' });
  };
}
