import type { Command } from 'commander';
import { createProgress, simulateToFiles } from '../../../simulator/src/index.js';
import { addSimulationOptions, simulationOptions } from '../sim-options.js';

export function registerSimulate(program: Command): void {
  addSimulationOptions(
    program
      .command('simulate')
      .description('generate simulated transactions and delayed outcomes (fraud-detection handbook) into JSON Lines files')
      .requiredOption('--out <dir>', 'folder for transactions.jsonl, outcomes.jsonl and manifest.json'),
  ).action(async (opts: { out: string; seed: number }) => {
    const progress = createProgress({ label: 'simulate', stream: process.stderr });
    const result = await simulateToFiles({ ...simulationOptions(opts), dir: opts.out, onProgress: progress.update });
    progress.stop(result);
    console.log(`simulate: ${result.transactions} transactions (${result.frauds} fraud), ${result.outcomes} outcomes → ${opts.out}`);
  });
}
