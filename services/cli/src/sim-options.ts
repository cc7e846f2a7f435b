/** The simulation options shared by `simulate`, `publish --simulate`, `features` and `evaluate`. */
import type { Command } from 'commander';
import type { SimulationOptions } from '../../simulator/src/index.js';

const num = (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`not a number: ${v}`);
  return n;
};

export function addSimulationOptions(cmd: Command): Command {
  return cmd
    .option('--seed <n>', 'seed of every random draw', num, 42)
    .option('--customers <n>', 'simulated cards', num)
    .option('--terminals <n>', 'simulated terminals', num)
    .option('--days <n>', 'simulated days from the start date', num)
    .option('--start-date <date>', 'first simulated day (UTC)');
}

export function simulationOptions(o: { seed: number; customers?: number; terminals?: number; days?: number; startDate?: string }): SimulationOptions {
  const out: SimulationOptions = { seed: o.seed };
  if (o.customers !== undefined) out.customers = o.customers;
  if (o.terminals !== undefined) out.terminals = o.terminals;
  if (o.days !== undefined) out.days = o.days;
  if (o.startDate !== undefined) out.startDate = o.startDate;
  return out;
}
