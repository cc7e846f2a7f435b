/**
 * Features from files vs features from the simulator, on the same events: a 30-day run of the
 * default world (5,000 cards, 10,000 terminals) is written as transactions.jsonl and
 * outcomes.jsonl, then the feature table is computed
 *
 *   - from the simulation (what `fraudscore features --seed ...` does: generate, compute, write),
 *   - from the files (`fraudscore features --transactions ... --outcomes ...`: read, check,
 *     join, sort, compute, write),
 *
 * and both rates are printed in events/s (transactions + outcomes, per wall second, median of
 * the passes), with the files path split into its read and compute phases, the heap the
 * loaded history takes per event, and a check that both tables are byte-identical.
 *
 *   npx node --expose-gc --import tsx test/bench/features-from-files.ts [days] [customers] [passes]
 *
 * (npx: the project's Node 24, as npm scripts use; the system node may be older and slower.)
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadHistory } from '../../services/cli/src/history/merge.js';
import { writeHistoryFeatureTable } from '../../services/cli/src/history/table.js';
import { batchFeatures, writeFeaturesCsv } from '../../services/scorer/src/features/index.js';
import { DEFAULT_SIMULATION, simulate, simulateToFiles } from '../../services/simulator/src/index.js';

const DAYS = Number(process.argv[2] ?? 30);
const CUSTOMERS = Number(process.argv[3] ?? DEFAULT_SIMULATION.customers);
const PASSES = Number(process.argv[4] ?? 3);
const sim = { seed: 42, days: DAYS, customers: CUSTOMERS, terminals: CUSTOMERS * 2 };

const median = (xs: number[]): number => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const rate = (n: number) => Math.round(n).toLocaleString('en-US');
const gc = (globalThis as { gc?: () => void }).gc;

const dir = await mkdtemp(join(tmpdir(), 'features-from-files-'));
try {
  const files = await simulateToFiles({ ...sim, dir });
  const events = files.transactions + files.outcomes;
  console.log(`features-from-files: ${rate(files.transactions)} transactions + ${rate(files.outcomes)} outcomes (${CUSTOMERS} cards, ${CUSTOMERS * 2} terminals, ${DAYS} days, seed ${sim.seed})`);

  const simRates: number[] = [];
  const fileRates: number[] = [];
  const readRates: number[] = [];
  const computeRates: number[] = [];
  const simOut = join(dir, 'sim.csv');
  const fileOut = join(dir, 'files.csv');
  for (let i = 0; i < PASSES; i++) {
    gc?.();
    let started = performance.now();
    await writeFeaturesCsv(batchFeatures(simulate(sim)), simOut);
    simRates.push(events / ((performance.now() - started) / 1000));

    gc?.();
    started = performance.now();
    const r = await writeHistoryFeatureTable({ transactions: files.transactionsFile, outcomes: files.outcomesFile, out: fileOut, progress: null });
    fileRates.push(events / ((performance.now() - started) / 1000));
    readRates.push(events / (r.readMs / 1000));
    computeRates.push(events / (r.computeMs / 1000));
    if (!r.written || r.badLines > 0) throw new Error('the files path refused the simulator\'s own files');
    process.stderr.write(`pass ${i + 1}/${PASSES}: simulation ${rate(simRates[i]!)} ev/s, files ${rate(fileRates[i]!)} ev/s (read ${rate(readRates[i]!)}, compute ${rate(computeRates[i]!)})\n`);
  }
  const identical = (await readFile(simOut)).equals(await readFile(fileOut));

  let bytesPerEvent = Number.NaN;
  if (gc) {
    gc();
    const before = process.memoryUsage().heapUsed;
    const history = await loadHistory({ transactions: files.transactionsFile, outcomes: files.outcomesFile });
    gc();
    bytesPerEvent = (process.memoryUsage().heapUsed - before) / events;
    if (history.transactions.length !== files.transactions) throw new Error('history lost transactions');
  }

  console.log(`simulation path (generate + features + CSV):                 ${rate(median(simRates))} events/s (median of ${PASSES})`);
  console.log(`files path (read JSONL + check + join + sort + features + CSV): ${rate(median(fileRates))} events/s (median of ${PASSES})`);
  console.log(`  of which read + check + join + sort:                          ${rate(median(readRates))} events/s`);
  console.log(`  of which features + CSV:                                      ${rate(median(computeRates))} events/s`);
  console.log(`loaded history: ${Number.isNaN(bytesPerEvent) ? 'n/a (run with --expose-gc)' : `${Math.round(bytesPerEvent)} bytes of heap per event`}`);
  console.log(`tables byte-identical: ${identical ? 'yes' : 'NO'}`);
  if (!identical) process.exitCode = 1;
} finally {
  await rm(dir, { recursive: true, force: true });
}
