/**
 * The fault suite kills, stops and restarts its broker, so it never uses the shared one: it
 * starts a dedicated broker (deploy/local/kafka.sh with KAFKA_INSTANCE=fault: own data dir,
 * own port) and stops and purges it afterwards if this run started it.
 *
 * FAULT_KAFKA_BROKERS=host:port runs the suite against a broker someone else controls; the
 * scenarios that kill or restart the broker are then skipped (see `brokerControl`).
 * KAFKA_BROKERS is deliberately ignored: it usually names the shared broker.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { freePort } from '../../services/cli/src/scorer-child.js';
import type { TestProject } from 'vitest/node';
import { clearResults, readResults, RESULTS_FILE, resultsTable } from './results.js';

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string;
    /** True when this run owns the broker (kafka.sh kill / restart are allowed). */
    faultBrokerControl: boolean;
  }
}

export const FAULT_INSTANCE = 'fault';

/** Environment for deploy/local/kafka.sh that can only ever address the fault instance. */
export function faultKafkaEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, KAFKA_INSTANCE: FAULT_INSTANCE, KAFKA_HEAP: process.env.FAULT_KAFKA_HEAP ?? '768m', ...extra };
  delete env.KAFKA_BROKERS;
  return env;
}


/** Gathers the rows the scenarios wrote into RESULTS_FILE (under runs/) and prints the table. */
function writeTable(started: number, brokers: string): void {
  const rows = readResults();
  if (rows.length === 0) return;
  const table = resultsTable(rows);
  const minutes = ((Date.now() - started) / 60_000).toFixed(1);
  mkdirSync(dirname(RESULTS_FILE), { recursive: true });
  writeFileSync(
    RESULTS_FILE,
    `# Fault suite results\n\nWritten by \`npm run test:fault\` on ${new Date().toISOString()} (Kafka client: ${process.env.FRAUD_KAFKA_CLIENT ?? 'the default'}; broker ${brokers}, ${minutes} min including broker start-up).\n` +
      `Every row ends with an audit: read-committed decisions + dead letters against every input offset; aborted copies counted by a read-uncommitted reader.\n` +
      `A scenario that failed before its audit has no row; one that failed its audit has a row with the failure counts. Logs: runs/test-logs/.\n\n${table}\n`,
  );
  process.stdout.write(`\nfault suite results (${RESULTS_FILE}):\n${table}\n\n`);
}

export default async function setup(project: TestProject): Promise<() => void> {
  const script = 'deploy/local/kafka.sh';
  const started = Date.now();
  clearResults();
  if (process.env.FAULT_KAFKA_BROKERS) {
    project.provide('kafkaBrokers', process.env.FAULT_KAFKA_BROKERS);
    project.provide('faultBrokerControl', false);
    return () => writeTable(started, process.env.FAULT_KAFKA_BROKERS!);
  }
  let alreadyRunning = true;
  try {
    execFileSync('bash', [script, 'status'], { stdio: 'ignore', env: faultKafkaEnv() });
  } catch {
    alreadyRunning = false;
  }
  // An explicit free port: never 9092, which belongs to the shared broker when it is down.
  const env = faultKafkaEnv(alreadyRunning ? {} : { KAFKA_PORT: String(await freePort()) });
  const out = execFileSync('bash', [script, 'up'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], env });
  const brokers = out.trim().split('\n').at(-1)!;
  project.provide('kafkaBrokers', brokers);
  project.provide('faultBrokerControl', true);
  return () => {
    writeTable(started, brokers);
    // A broker that was running before the suite is left running (its owner stops it).
    if (!alreadyRunning) execFileSync('bash', [script, 'down', '--purge'], { stdio: 'inherit', env: faultKafkaEnv() });
  };
}
