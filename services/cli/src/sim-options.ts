/** The simulation options shared by `simulate`, `publish --simulate`, `features` and `evaluate`. */
import type { Command } from 'commander';
import {
  DEFAULT_AMOUNT_FACTOR, DEFAULT_CARDS_TESTED_PER_DAY, type DriftOptions, type SimulationOptions,
} from '../../simulator/src/index.js';

const num = (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`not a number: ${v}`);
  return n;
};

export function addSimulationOptions(cmd: Command): Command {
  return addDriftOptions(cmd
    .option('--seed <n>', 'seed of every random draw', num, 42)
    .option('--customers <n>', 'simulated cards', num)
    .option('--terminals <n>', 'simulated terminals', num)
    .option('--days <n>', 'simulated days from the start date', num)
    .option('--start-date <date>', 'first simulated day (UTC)'));
}

export interface DriftCliOptions {
  driftCardTestingFromDay?: number;
  driftCardsPerDay?: number;
  driftAmountInflationFromDay?: number;
  driftAmountFactor?: number;
}

/** A drifting world (simulator drift.ts); days count from 0, the start date. Exported for `demo`. */
export function addDriftOptions(cmd: Command): Command {
  return cmd
    .option('--drift-card-testing-from-day <d>', 'from this simulated day (0: the start date), card testers attack cards: bursts of tiny online payments, then large ones (fraud scenario 4)', num)
    .option('--drift-cards-per-day <n>', `with --drift-card-testing-from-day: cards attacked a day (default ${DEFAULT_CARDS_TESTED_PER_DAY})`, num)
    .option('--drift-amount-inflation-from-day <d>', 'from this simulated day (0: the start date), every customer amount is multiplied by --drift-amount-factor', num)
    .option('--drift-amount-factor <x>', `with --drift-amount-inflation-from-day: the multiplier (default ${DEFAULT_AMOUNT_FACTOR})`, num);
}

/** The drift the flags ask for, or undefined: a stationary world. */
export function driftOptions(o: DriftCliOptions): DriftOptions | undefined {
  if (o.driftCardsPerDay !== undefined && o.driftCardTestingFromDay === undefined) throw new Error('--drift-cards-per-day needs --drift-card-testing-from-day');
  if (o.driftAmountFactor !== undefined && o.driftAmountInflationFromDay === undefined) throw new Error('--drift-amount-factor needs --drift-amount-inflation-from-day');
  const drift: DriftOptions = {};
  if (o.driftCardTestingFromDay !== undefined) drift.cardTesting = { fromDay: o.driftCardTestingFromDay, cardsPerDay: o.driftCardsPerDay };
  if (o.driftAmountInflationFromDay !== undefined) drift.amountInflation = { fromDay: o.driftAmountInflationFromDay, factor: o.driftAmountFactor };
  return drift.cardTesting || drift.amountInflation ? drift : undefined;
}

/** The option keys addSimulationOptions adds (commander attribute names). */
export const SIMULATION_OPTION_KEYS = [
  'seed', 'customers', 'terminals', 'days', 'startDate',
  'driftCardTestingFromDay', 'driftCardsPerDay', 'driftAmountInflationFromDay', 'driftAmountFactor',
] as const;

/** The simulation flags given on the command line (not defaults), as typed: ['--seed', '--days']. */
export function givenSimulationFlags(cmd: Command): string[] {
  return SIMULATION_OPTION_KEYS
    .filter((key) => cmd.getOptionValueSource(key) === 'cli')
    .map((key) => cmd.options.find((o) => o.attributeName() === key)?.long ?? key);
}

export function simulationOptions(o: { seed: number; customers?: number; terminals?: number; days?: number; startDate?: string } & DriftCliOptions): SimulationOptions {
  const out: SimulationOptions = { seed: o.seed };
  if (o.customers !== undefined) out.customers = o.customers;
  if (o.terminals !== undefined) out.terminals = o.terminals;
  if (o.days !== undefined) out.days = o.days;
  if (o.startDate !== undefined) out.startDate = o.startDate;
  const drift = driftOptions(o);
  if (drift) out.drift = drift;
  return out;
}
