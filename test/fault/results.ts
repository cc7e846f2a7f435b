/**
 * The results table of the fault suite: each scenario writes one row (a JSON file, since
 * test files run in separate workers); the global teardown gathers them into
 * runs/fault/results-<client>.md (never a tracked file: running the tests leaves the working
 * tree clean; test/fault/results.md is the recorded copy of full runs) and prints the table.
 * No vitest imports: the teardown uses it too.
 */
import { mkdirSync, readFileSync, readdirSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export const RESULTS_DIR = join('runs/test-logs', 'fault-results');
export const RESULTS_FILE = `runs/fault/results-${process.env.FRAUD_KAFKA_CLIENT ?? 'default-client'}.md`;

export interface ResultRow {
  scenario: string;
  /** Faults injected (kills, broker outages, rebalances, zombies, poison batches...). */
  rounds: number;
  /** Input records audited. */
  events: number;
  lost: number;
  duplicated: number;
  /** Outputs of aborted transactions seen by the read-uncommitted reader. */
  abortedCopies: number;
  abortedRead: number;
  deadLetters: number;
  featureMismatches: number;
  /** Scorer process starts and how they ended. */
  scorerStarts: number;
  exits: string;
  seconds: number;
  notes: string;
}

export function recordResult(row: ResultRow): void {
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(join(RESULTS_DIR, `${row.scenario.replace(/[^\w.-]+/g, '_')}.json`), JSON.stringify(row, null, 2));
}

export function clearResults(): void {
  rmSync(RESULTS_DIR, { recursive: true, force: true });
}

export function readResults(): ResultRow[] {
  if (!existsSync(RESULTS_DIR)) return [];
  return readdirSync(RESULTS_DIR)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(join(RESULTS_DIR, f), 'utf8')) as ResultRow)
    .sort((a, b) => a.scenario.localeCompare(b.scenario, 'en', { numeric: true }));
}

export function resultsTable(rows: readonly ResultRow[]): string {
  const head = ['scenario', 'rounds', 'events', 'lost', 'duplicated', 'aborted copies seen', 'aborted read', 'dead letters', 'feature mismatches', 'scorer starts', 'exits', 's', 'notes'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => ' --- ').join('|')}|`];
  for (const r of rows) {
    lines.push(`| ${[r.scenario, r.rounds, r.events, r.lost, r.duplicated, r.abortedCopies, r.abortedRead, r.deadLetters, r.featureMismatches, r.scorerStarts, r.exits, r.seconds, r.notes].join(' | ')} |`);
  }
  return lines.join('\n');
}
