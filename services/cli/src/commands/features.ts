import type { Command } from 'commander';
import { batchFeatures, writeFeaturesCsv } from '../../../scorer/src/features/index.js';
import { createProgress, createSimulation, type SimEvent } from '../../../simulator/src/index.js';
import { addSimulationOptions, simulationOptions } from '../sim-options.js';

/**
 * The offline feature table, computed by the scorer's own feature engine over the same
 * merged, time-ordered stream the scorer would read (one implementation, offline and online).
 */
export function registerFeatures(program: Command): void {
  addSimulationOptions(
    program
      .command('features')
      .description('compute the 15 reference features in batch over a simulation run and write them as CSV (the trainer input)')
      .requiredOption('--out <file>', 'CSV file to write'),
  ).action(async (opts: { out: string; seed: number }) => {
    const rows = await writeFeatureTable(simulationOptions(opts), opts.out);
    console.log(`features: ${rows} rows → ${opts.out}`);
  });
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
