import { rmSync } from 'node:fs';
import type { Command } from 'commander';
import { batchFeatures, writeFeaturesCsv } from '../../../scorer/src/features/index.js';
import { createProgress, createSimulation, type SimEvent } from '../../../simulator/src/index.js';
import { parseColumnMapping } from '../history/csv.js';
import { formatOf, HISTORY_FORMATS } from '../history/readers.js';
import { describeHistoryResult, partialPathOf, writeHistoryFeatureTable } from '../history/table.js';
import { addSimulationOptions, givenSimulationFlags, simulationOptions } from '../sim-options.js';

interface FeaturesCliOptions {
  out: string;
  seed: number;
  transactions?: string;
  outcomes?: string;
  format?: string;
  columns?: string;
  maxBad?: number;
}

const HISTORY_ONLY = { outcomes: '--outcomes', format: '--format', columns: '--columns', maxBad: '--max-bad' } as const;

const count = (v: string): number => {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`--max-bad: expected a whole number >= 0, got ${v}`);
  return n;
};

/**
 * The offline feature table, computed by the scorer's own feature engine over the same
 * merged, time-ordered stream the scorer would read (one implementation, offline and online),
 * from a simulation run or from the user's own history files (history/).
 */
export function registerFeatures(program: Command): void {
  addSimulationOptions(
    program
      .command('features')
      .description('compute the 15 reference features in batch over a simulation run or your own history (--transactions) and write them as CSV (the trainer input)')
      .requiredOption('--out <file>', 'CSV file to write')
      .option('--transactions <file>', 'your transactions (JSON Lines, CSV or Avro file) instead of a simulation')
      .option('--outcomes <file>', 'with --transactions: their outcomes (labels), same formats')
      .option('--format <f>', `with --transactions: ${HISTORY_FORMATS.join(' | ')} for both files (default: by extension)`)
      .option('--columns <map>', 'with CSV files: field=column,... to read contract fields from other header names (transaction.field= / outcome.field= for one file)')
      .option('--max-bad <n>', 'with --transactions: bad lines to skip before failing (default 0)', count),
  ).action(async (opts: FeaturesCliOptions, cmd: Command) => {
    if (opts.transactions === undefined) {
      const stray = Object.entries(HISTORY_ONLY).filter(([key]) => cmd.getOptionValueSource(key) === 'cli').map(([, flag]) => flag);
      if (stray.length > 0) throw new Error(`${stray.join(', ')} need${stray.length === 1 ? 's' : ''} --transactions <file>`);
      const rows = await writeFeatureTable(simulationOptions(opts), opts.out);
      console.log(`features: ${rows} rows → ${opts.out}`);
      return;
    }
    const sim = givenSimulationFlags(cmd);
    if (sim.length > 0) throw new Error(`give one source: simulation options (${sim.join(', ')}) or --transactions <file>, not both`);
    await writeHistoryTable(opts as FeaturesCliOptions & { transactions: string });
  });
}

async function writeHistoryTable(opts: FeaturesCliOptions & { transactions: string }): Promise<void> {
  const files = opts.outcomes === undefined ? [opts.transactions] : [opts.transactions, opts.outcomes];
  const formats = files.map((f) => formatOf(f, opts.format));
  if (opts.columns !== undefined && !formats.includes('csv')) throw new Error('--columns applies to CSV files only');
  const columns = parseColumnMapping(opts.columns);
  const maxBad = opts.maxBad ?? 0;
  // Ctrl-C while the table is written: no half table left behind.
  const partial = partialPathOf(opts.out);
  const onSignal = (): void => {
    rmSync(partial, { force: true });
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let result;
  try {
    result = await writeHistoryFeatureTable({
      transactions: opts.transactions, outcomes: opts.outcomes, format: opts.format, columns, maxBad, out: opts.out,
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  for (const line of result.errorLines) process.stderr.write(`${line}\n`);
  const { notes, failure } = describeHistoryResult(result, { out: opts.out, maxBad, outcomes: opts.outcomes });
  if (failure !== undefined) throw new Error(failure);
  for (const note of notes) console.log(note);
}

export async function writeFeatureTable(sim: Parameters<typeof createSimulation>[0], out: string): Promise<number> {
  const progress = createProgress({ label: 'features', stream: process.stderr });
  const stats = { transactions: 0, outcomes: 0, frauds: 0, elapsedMs: 0 };
  const started = Date.now();
  function* counted(events: Iterable<SimEvent>): Generator<SimEvent> {
    for (const e of events) {
      if (e.kind === 'transaction') {
        stats.transactions++;
        if (e.isFraud) stats.frauds++;
      } else stats.outcomes++;
      if ((stats.transactions + stats.outcomes) % 50_000 === 0) progress.update({ ...stats, elapsedMs: Date.now() - started });
      yield e;
    }
  }
  const rows = await writeFeaturesCsv(batchFeatures(counted(createSimulation(sim).events())), out);
  progress.stop({ ...stats, elapsedMs: Date.now() - started });
  return rows;
}
